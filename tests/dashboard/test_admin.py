"""The admin pages: staff sign-in, search, ledger, audited adjustments, suspension."""

from __future__ import annotations

import re

from sqlalchemy import func, select

from system.db.tables import admin_audit_log, customers
from tests.dashboard.helpers import api_signup, post
from tests.support import SystemUnderTest


def staff(system: SystemUnderTest) -> None:
    system.services.settings.admin_password = "correct horse"
    response = post(
        system.client,
        "/admin/login",
        {"username": "admin", "password": "correct horse"},
        page="/admin/login",
    )
    assert response.status_code == 303 and response.headers["location"] == "/admin"


def test_admin_is_closed_without_a_password(system: SystemUnderTest) -> None:
    assert system.client.get("/admin").status_code == 404
    assert system.client.get("/admin/login").status_code == 404
    assert system.client.post("/admin/login", data={}).status_code == 404


def test_staff_sign_in(system: SystemUnderTest) -> None:
    client = system.client
    system.services.settings.admin_password = "correct horse"
    assert client.get("/admin", follow_redirects=False).status_code == 303
    wrong = post(client, "/admin/login", {"username": "admin", "password": "x"}, "/admin/login")
    assert wrong.status_code == 401
    forged = client.post("/admin/login", data={"username": "admin", "password": "correct horse"})
    assert forged.status_code == 403
    # A customer's session is not a staff session.
    api_signup(client, "cust@example.com")
    assert client.get("/admin", follow_redirects=False).status_code == 303
    staff(system)
    assert client.get("/admin").status_code == 200
    assert post(client, "/admin/logout", page="/admin").status_code == 303
    assert client.get("/admin", follow_redirects=False).status_code == 303


def test_search_and_customer_page(system: SystemUnderTest) -> None:
    client = system.client
    ada = api_signup(client, "ada@example.com")["customer"]
    api_signup(client, "grace@example.com")
    staff(system)
    everyone = client.get("/admin").text
    assert "2 customers" in everyone
    found = client.get("/admin?q=ADA").text
    assert "1 customer " in found and "ada@example.com" in found
    assert "grace@example.com" not in found
    assert "0 customers" in client.get("/admin?q=nobody&page=x").text
    page = client.get(f"/admin/customers/{ada['id']}")
    assert page.status_code == 200 and "trial_grant" in page.text
    assert client.get("/admin/customers/cust_nope").status_code == 404


def test_credit_adjustments_are_audited(system: SystemUnderTest) -> None:
    client = system.client
    ada = api_signup(client, "ada@example.com")["customer"]
    staff(system)
    path = f"/admin/customers/{ada['id']}"
    no_reason = post(client, f"{path}/adjust", {"amount": "10", "reason": " "}, path)
    assert no_reason.status_code == 422 and "reason is required" in no_reason.text
    zero = post(client, f"{path}/adjust", {"amount": "zero", "reason": "x"}, path)
    assert zero.status_code == 422
    overdraw = post(client, f"{path}/adjust", {"amount": "-6", "reason": "chargeback"}, path)
    assert overdraw.status_code == 422 and "cannot go below zero" in overdraw.text
    done = post(client, f"{path}/adjust", {"amount": "10", "reason": "Goodwill, ticket 42"}, path)
    assert done.status_code == 303
    page = client.get(path).text
    assert "the balance is 15" in page and "Goodwill, ticket 42" in page
    assert "admin_adjustment" in page
    balance = system.scalar(select(customers.c.credit_balance).where(customers.c.id == ada["id"]))
    assert balance == 15
    audit = system.scalar(
        select(func.count())
        .select_from(admin_audit_log)
        .where(admin_audit_log.c.action == "credit_adjustment", admin_audit_log.c.amount == 10)
    )
    assert audit == 1
    missing = post(
        client, "/admin/customers/cust_nope/adjust", {"amount": "1", "reason": "x"}, path
    )
    assert missing.status_code == 404


def test_suspension_and_restore(system: SystemUnderTest) -> None:
    client = system.client
    ada = api_signup(client, "ada@example.com")["customer"]
    staff(system)
    path = f"/admin/customers/{ada['id']}"
    assert post(client, f"{path}/suspend", {"reason": ""}, path).status_code == 422
    assert post(client, f"{path}/suspend", {"reason": "Abuse report 7"}, path).status_code == 303
    page = client.get(path).text
    assert re.search(r'id="status">suspended<', page) and "Restore the customer" in page
    assert post(client, f"{path}/restore", {"reason": "Resolved"}, path).status_code == 303
    page = client.get(path).text
    assert re.search(r'id="status">active<', page)
    assert "Abuse report 7" in page and "Resolved" in page
    assert (
        post(client, "/admin/customers/cust_nope/suspend", {"reason": "x"}, path).status_code == 404
    )
    forged = client.post(f"{path}/suspend", data={"reason": "x"})
    assert forged.status_code == 403
