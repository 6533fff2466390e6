"""The dashboard in a real browser: sign up, sign in, keys, card, Pro, a live balance after a
fix reported through the API, the workflow generator, and the admin. Screenshots of each page
go to reports/screenshots/."""

from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import yaml
from sqlalchemy import select

from system.db.tables import email_outbox
from tests.support import LiveSystem


def nav(page: Any, name: str) -> None:
    page.get_by_role("navigation", name="Dashboard").get_by_role("link", name=name).click()


def test_a_customer_journey(live_system: LiveSystem, page: Any, shoot: Any) -> None:
    base = live_system.url
    page.goto(f"{base}/dashboard/signup")
    shoot(page, "01-signup")
    page.get_by_label("Email").fill("ada@example.com")
    page.get_by_label("Name", exact=True).fill("Ada Lovelace")
    page.get_by_label("GitHub organisation (optional)").fill("analytical")
    page.get_by_role("button", name="Create my account").click()
    key = page.locator("#new-key").inner_text().strip()
    assert key.startswith("rsolv_test_")
    shoot(page, "02-welcome-key-shown-once")

    # Sign out, then back in with the API key.
    page.goto(f"{base}/dashboard")
    page.get_by_role("button", name="Sign out").click()
    page.get_by_label("API key").fill(key)
    page.get_by_role("button", name="Sign in with the key").click()
    assert page.locator("h1").inner_text() == "Overview"
    assert page.locator("#credit-balance").inner_text() == "5"
    shoot(page, "03-overview")

    # Create a key, see it once, revoke it.
    nav(page, "API keys")
    page.get_by_label("Label (optional)").fill("ci")
    page.get_by_role("button", name="Create key").click()
    new_key = page.locator("#new-key").inner_text().strip()
    assert new_key.startswith("rsolv_test_") and new_key != key
    shoot(page, "04-keys-new-key")
    prefix = new_key.rsplit("_", 1)[0]
    page.get_by_role("button", name=f"Revoke key {prefix}").click()
    assert "is revoked" in page.locator(".flash").inner_text()
    shoot(page, "05-keys-revoked")

    # Add a card and subscribe to Pro.
    nav(page, "Billing")
    page.get_by_label("Add a card (payment method token)").fill("pm_card_visa")
    page.get_by_role("button", name="Add card").click()
    assert "The card is added" in page.locator(".flash").inner_text()
    page.get_by_role("button", name="Subscribe to Pro").click()
    assert "subscribed to Pro" in page.locator(".flash").inner_text()
    assert page.locator("#credit-balance").inner_text() == "70"
    shoot(page, "06-billing-pro")

    # The overview's balance moves when a fix is reported through the API.
    nav(page, "Overview")
    page.wait_for_function("document.body.dataset.liveUpdates >= 1")
    fix = {"fix_id": "browser-1", "repo": "analytical/engine", "pr_number": 7}
    answer = httpx.post(f"{base}/api/v1/usage/fix-deployed", json=fix, headers={"X-Api-Key": key})
    assert answer.status_code == 201, answer.text
    page.wait_for_function("document.getElementById('credit-balance').textContent === '69'")
    assert page.locator("#fixes-this-period").inner_text() == "1"
    shoot(page, "07-overview-live-after-fix")

    nav(page, "Usage")
    assert page.locator("svg.chart").count() == 2
    shoot(page, "08-usage")

    # Generate a workflow.
    nav(page, "Workflow")
    page.get_by_label("Repository (owner/name)").fill("analytical/engine")
    page.get_by_label("Schedule").select_option("daily")
    page.get_by_label("validate").uncheck()
    page.get_by_role("button", name="Generate workflow").click()
    document = yaml.safe_load(page.locator("#workflow-yaml").inner_text())
    step = document["jobs"]["rsolv"]["steps"][-1]
    assert step["with"]["api-key"] == "${{ secrets.RSOLV_API_KEY }}"
    assert step["with"]["mode"] == "scan,fix"
    assert key not in page.content()
    shoot(page, "09-workflow")

    # On a phone the page is one readable column.
    page.set_viewport_size({"width": 390, "height": 844})
    nav(page, "Overview")
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, width
    shoot(page, "10-overview-phone")


def test_magic_link_and_admin(live_system: LiveSystem, page: Any, shoot: Any) -> None:
    base = live_system.url
    httpx.post(
        f"{base}/api/v1/customers/onboard", json={"email": "grace@example.com", "name": "Grace"}
    ).raise_for_status()
    page.goto(f"{base}/dashboard/login")
    shoot(page, "11-login")
    page.get_by_label("Email").fill("grace@example.com")
    page.get_by_role("button", name="Email me a sign-in link").click()
    assert "Check your email" in page.locator("h1").inner_text()
    query = select(email_outbox.c.body).where(email_outbox.c.to_address == "grace@example.com")
    with ThreadPoolExecutor(1) as pool:  # asyncio.run, away from Playwright's event loop
        body = pool.submit(live_system.scalar, query).result()
    link = re.search(r"(http://\S+/dashboard/login/magic\?token=\S+)", body)
    assert link
    page.goto(link.group(1))
    assert page.locator("h1").inner_text() == "Overview"

    live_system.services.settings.admin_password = "staff-secret"
    page.goto(f"{base}/admin/login")
    page.get_by_label("Username").fill("admin")
    page.get_by_label("Password").fill("staff-secret")
    page.get_by_role("button", name="Sign in").click()
    page.get_by_label("Search by id, email, name, company or GitHub org").fill("grace")
    page.get_by_role("button", name="Search").click()
    shoot(page, "12-admin-customers")
    page.get_by_role("link", name="Grace").click()
    page.get_by_label("Credits (negative to take away)").fill("3")
    page.get_by_label("Reason for the adjustment (kept in the audit log)").fill("Goodwill")
    page.get_by_role("button", name="Adjust").click()
    assert page.locator("#balance").inner_text() == "8"
    shoot(page, "13-admin-customer")
