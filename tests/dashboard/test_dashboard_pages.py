"""The dashboard through HTTP on a real database and the Stripe emulator."""

from __future__ import annotations

import html
import re
from pathlib import Path

import yaml
from sqlalchemy import func, select, update

from system.credits import store as credits_store
from system.credits.ledger import Entry
from system.db.tables import customers, email_outbox, magic_links
from system.marketplace.listing import workflow_problems
from tests.dashboard.helpers import api_signup, key_of, post, sign_up
from tests.support import SystemUnderTest

LINK = re.compile(r"(http://\S+/dashboard/login/magic\?token=\S+)")


def magic_link(system: SystemUnderTest, email: str) -> str:
    body = system.scalar(
        select(email_outbox.c.body)
        .where(email_outbox.c.to_address == email)
        .order_by(email_outbox.c.id.desc())
        .limit(1)
    )
    match = LINK.search(body)
    assert match, body
    return match.group(1)


def outbox_count(system: SystemUnderTest, email: str) -> int:
    query = select(func.count()).select_from(email_outbox)
    return int(system.scalar(query.where(email_outbox.c.to_address == email)))


def test_signing_up_shows_the_key_once_and_signs_in(system: SystemUnderTest) -> None:
    client = system.client
    page = sign_up(client, "ada@example.com", "Ada", github_org="analytical")
    key = key_of(page.text)
    assert key.startswith("rsolv_test_")
    assert page.headers["cache-control"] == "no-store"
    assert client.get("/api/v1/me", headers={"X-Api-Key": key}).status_code == 200
    overview = client.get("/dashboard")
    assert overview.status_code == 200
    assert 'id="credit-balance" aria-live="polite">5<' in overview.text
    assert "Trial" in overview.text
    workflow = client.get("/dashboard/workflow")
    assert "analytical/your-repo" in workflow.text


def test_signup_refusals(system: SystemUnderTest) -> None:
    client = system.client
    api_signup(client, "taken@example.com")
    taken = post(client, "/dashboard/signup", {"email": "taken@example.com", "name": "X"})
    assert taken.status_code == 409 and "sign in instead" in taken.text
    invalid = post(client, "/dashboard/signup", {"email": "a@example.com", "name": ""})
    assert invalid.status_code == 422
    disposable = post(client, "/dashboard/signup", {"email": "x@mailinator.com", "name": "X"})
    assert disposable.status_code == 422
    system.services.signup_limiter.limit = 1
    limited = post(client, "/dashboard/signup", {"email": "b@example.com", "name": "B"})
    assert limited.status_code == 429
    assert client.get("/dashboard/signup").status_code == 200


def test_magic_link_sign_in(system: SystemUnderTest) -> None:
    client = system.client
    api_signup(client, "grace@example.com")
    sent = post(client, "/dashboard/login/email", {"email": "Grace@Example.com"})
    assert sent.status_code == 200 and "Check your email" in sent.text
    link = magic_link(system, "grace@example.com")
    signed_in = client.get(link, follow_redirects=False)
    assert signed_in.status_code == 303 and signed_in.headers["location"] == "/dashboard"
    assert client.get("/dashboard").status_code == 200
    assert client.get("/dashboard/login", follow_redirects=False).status_code == 303
    # Once only.
    post(client, "/dashboard/logout", page="/dashboard")
    again = client.get(link, follow_redirects=False)
    assert again.status_code == 400 and "used already" in again.text


def test_magic_links_expire_and_tell_no_one_who_has_an_account(
    system: SystemUnderTest,
) -> None:
    client = system.client
    api_signup(client, "lin@example.com")
    post(client, "/dashboard/login/email", {"email": "lin@example.com"})
    link = magic_link(system, "lin@example.com")
    system.clock.advance(minutes=16)
    expired = client.get(link, follow_redirects=False)
    assert expired.status_code == 400 and "expired" in expired.text
    stranger = post(client, "/dashboard/login/email", {"email": "nobody@example.com"})
    assert stranger.status_code == 200 and "Check your email" in stranger.text
    assert outbox_count(system, "nobody@example.com") == 0
    bad = post(client, "/dashboard/login/email", {"email": "not-an-address"})
    assert bad.status_code == 422
    assert client.get("/dashboard/login/magic?token=forged").status_code == 400
    assert client.get("/dashboard/login/magic").status_code == 400


def test_api_key_sign_in_and_refusals(system: SystemUnderTest) -> None:
    client = system.client
    body = api_signup(client, "key@example.com")
    wrong = post(client, "/dashboard/login/key", {"api_key": body["api_key"] + "x"})
    assert wrong.status_code == 401
    assert post(client, "/dashboard/login/key", {"api_key": "garbage"}).status_code == 401
    good = post(client, "/dashboard/login/key", {"api_key": body["api_key"]})
    assert good.status_code == 303
    keys = client.get("/dashboard/keys")
    key_id = re.search(r'id="key-(key_[0-9a-f]+)"', keys.text)
    assert key_id
    post(client, f"/dashboard/keys/{key_id.group(1)}/revoke", page="/dashboard/keys")
    post(client, "/dashboard/logout", page="/dashboard")
    revoked = post(client, "/dashboard/login/key", {"api_key": body["api_key"]})
    assert revoked.status_code == 401 and "revoked" in revoked.text


def test_pages_need_a_session_and_forms_need_the_token(system: SystemUnderTest) -> None:
    client = system.client
    for path in ("/dashboard", "/dashboard/usage", "/dashboard/keys", "/dashboard/billing"):
        response = client.get(path, follow_redirects=False)
        assert response.status_code == 303 and response.headers["location"] == "/dashboard/login"
    assert client.get("/dashboard/events").status_code == 401
    sign_up(client, "csrf@example.com")
    forged = client.post("/dashboard/keys", data={"label": "x"}, follow_redirects=False)
    assert forged.status_code == 403 and "expired" in forged.text
    forged_login = client.post("/dashboard/login/key", data={"api_key": "x", "csrf_token": "no"})
    assert forged_login.status_code == 403


def test_suspended_customers_are_signed_out(system: SystemUnderTest) -> None:
    client = system.client
    page = sign_up(client, "sus@example.com")
    key = key_of(page.text)

    async def suspend() -> None:
        async with system.services.engine.begin() as connection:
            await connection.execute(update(customers).values(status="suspended"))

    system.call(suspend)
    assert client.get("/dashboard", follow_redirects=False).status_code == 303
    refused = post(client, "/dashboard/login/key", {"api_key": key})
    assert refused.status_code == 403 and "suspended" in refused.text
    post(client, "/dashboard/login/email", {"email": "sus@example.com"})
    assert system.scalar(select(func.count()).select_from(magic_links)) == 0


def test_api_keys_are_created_shown_once_and_revoked(system: SystemUnderTest) -> None:
    client = system.client
    sign_up(client, "keys@example.com")
    created = post(client, "/dashboard/keys", {"label": "acme/api CI"}, page="/dashboard/keys")
    assert created.status_code == 201
    key = key_of(created.text)
    assert "acme/api CI" in created.text
    me = client.get("/api/v1/me", headers={"Authorization": f"Bearer {key}"})
    assert me.status_code == 200
    listing = client.get("/dashboard/keys").text
    assert key not in listing and "never" not in listing.split("acme/api CI")[1][:200]
    key_ids = re.findall(r'id="key-(key_[0-9a-f]+)"', listing)
    assert len(key_ids) == 2
    prefix = key.rsplit("_", 1)[0]
    mine = re.search(rf'id="key-(key_[0-9a-f]+)">\s*<td><code>{prefix}_', listing)
    assert mine
    revoked = post(client, f"/dashboard/keys/{mine.group(1)}/revoke", page="/dashboard/keys")
    assert revoked.status_code == 303
    after = client.get("/dashboard/keys").text
    assert "is revoked" in after and "revoked 20" in after
    assert client.get("/api/v1/me", headers={"X-Api-Key": key}).status_code == 401
    post(client, "/dashboard/keys/key_nope/revoke", page="/dashboard/keys")
    assert "No such API key" in client.get("/dashboard/keys").text


def test_billing_card_subscribe_invoice_cancel(system: SystemUnderTest) -> None:
    client = system.client
    sign_up(client, "pay@example.com")
    page = client.get("/dashboard/billing")
    assert "No card on file" in page.text and "Add a card first" in page.text
    empty = post(client, "/dashboard/billing/cards", {"payment_method": ""}, "/dashboard/billing")
    assert empty.status_code == 303
    assert "Enter a payment method" in client.get("/dashboard/billing").text
    declined = post(
        client,
        "/dashboard/billing/cards",
        {"payment_method": "pm_card_nonexistent_token"},
        "/dashboard/billing",
    )
    assert declined.status_code == 303
    assert 'class="flash error"' in client.get("/dashboard/billing").text
    added = post(
        client, "/dashboard/billing/cards", {"payment_method": "pm_card_visa"}, "/dashboard/billing"
    )
    assert added.status_code == 303
    page = client.get("/dashboard/billing")
    assert "The card is added" in page.text and "ending in 4242" in page.text
    assert 'id="credit-balance">10<' in page.text
    post(client, "/dashboard/billing/subscribe", page="/dashboard/billing")
    page = client.get("/dashboard/billing")
    assert "You are subscribed to Pro" in page.text, page.text
    assert "Cancel at the end of the period" in page.text
    overview = client.get("/dashboard").text
    assert "$599.00 on " in overview and ">Pro<" in overview
    invoice_id = re.search(r'/dashboard/billing/invoices/(in_\w+)"', page.text)
    assert invoice_id
    invoice = client.get(f"/dashboard/billing/invoices/{invoice_id.group(1)}")
    assert invoice.status_code == 200 and "$599.00" in invoice.text
    assert "RSOLV Pro" in invoice.text or "Pro" in invoice.text
    assert client.get("/dashboard/billing/invoices/in_other").status_code == 404
    post(client, "/dashboard/billing/cancel", page="/dashboard/billing")
    page = client.get("/dashboard/billing")
    assert "ends at the end of this period" in page.text
    assert "None" in client.get("/dashboard").text.split('id="next-invoice">')[1][:10]
    again = post(client, "/dashboard/billing/subscribe", page="/dashboard/billing")
    assert again.status_code == 303
    assert "has a subscription" in client.get("/dashboard/billing").text
    card = re.search(r"/dashboard/billing/cards/(pm_\w+)/remove", page.text)
    assert card
    post(client, f"/dashboard/billing/cards/{card.group(1)}/remove", page="/dashboard/billing")
    assert "The card is removed" in client.get("/dashboard/billing").text


def test_invoice_lines_when_stripe_is_down(system: SystemUnderTest) -> None:
    client = system.client
    sign_up(client, "down@example.com")
    post(
        client, "/dashboard/billing/cards", {"payment_method": "pm_card_visa"}, "/dashboard/billing"
    )
    post(client, "/dashboard/billing/subscribe", page="/dashboard/billing")
    page = client.get("/dashboard/billing").text
    invoice_id = re.search(r'/dashboard/billing/invoices/(in_\w+)"', page)
    assert invoice_id
    system.emulator.state.faults.configure(error_rate=1.0)  # type: ignore[attr-defined]
    invoice = client.get(f"/dashboard/billing/invoices/{invoice_id.group(1)}")
    assert invoice.status_code == 200 and "cannot be fetched" in invoice.text


def test_usage_charts_and_ledger_pages(system: SystemUnderTest) -> None:
    client = system.client
    page = sign_up(client, "use@example.com")
    key = key_of(page.text)
    for i in range(3):
        fix = {"fix_id": f"f{i}", "repo": "acme/api", "pr_number": i + 1}
        response = client.post("/api/v1/usage/fix-deployed", json=fix, headers={"X-Api-Key": key})
        assert response.status_code == 201
    customer_id = client.get("/api/v1/me", headers={"X-Api-Key": key}).json()["id"]

    async def grants() -> None:
        async with system.services.engine.begin() as connection:
            for i in range(30):
                entry = Entry(1, "test_grant", f"test:{i}")
                await credits_store.post(connection, customer_id, entry, system.clock.now())

    system.call(grants)
    usage = client.get("/dashboard/usage")
    assert usage.status_code == 200
    assert usage.text.count("<svg") == 2 and "Fixes per day" in usage.text
    assert 'id="credit-balance">32<' in usage.text
    older = re.search(r'href="/dashboard/usage\?before=(\d+)"', usage.text)
    assert older
    second = client.get(f"/dashboard/usage?before={older.group(1)}")
    assert "Newest entries" in second.text and "fix consumed" in second.text
    overview = client.get("/dashboard").text
    assert 'id="fixes-this-period" aria-live="polite">3<' in overview


def test_the_workflow_generator(system: SystemUnderTest) -> None:
    client = system.client
    sign_up(client, "flow@example.com")
    form = {"repository": "acme/api", "schedule": "daily", "modes": ["scan", "fix"]}
    generated = post(
        client, "/dashboard/workflow", {**form, "max_fixes": "4"}, "/dashboard/workflow"
    )
    assert generated.status_code == 200
    text = re.search(r'<code id="workflow-yaml">(.*?)</code>', generated.text, re.S)
    assert text
    document = yaml.safe_load(html.unescape(text.group(1)))
    action = yaml.safe_load((Path(__file__).resolve().parents[2] / "action.yml").read_text())
    assert workflow_problems(document, action, "rsolv-dev/rsolv-action") == []
    assert document["on"]["schedule"] == [{"cron": "0 3 * * *"}]
    custom = post(
        client,
        "/dashboard/workflow",
        {**form, "schedule": "custom", "cron": "5 4 * * 2", "on_push": "1"},
        "/dashboard/workflow",
    )
    assert "5 4 * * 2" in custom.text and "push:" in custom.text
    refused = post(
        client, "/dashboard/workflow", {**form, "repository": "nope"}, "/dashboard/workflow"
    )
    assert refused.status_code == 422 and "owner/name" in refused.text
