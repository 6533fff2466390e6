"""Reading Stripe's objects: both places a period can be, expanded or bare ids, plans."""

from __future__ import annotations

from datetime import UTC, datetime

from system.billing.stripe_objects import card_row, id_of, plan_of, stamp, subscription_period


def test_the_period_is_read_from_the_subscription_or_its_first_item() -> None:
    assert subscription_period({"current_period_start": 1, "current_period_end": 2}) == (1, 2)
    on_items = {"items": {"data": [{"current_period_start": 3, "current_period_end": 4}]}}
    assert subscription_period(on_items) == (3, 4)
    assert subscription_period({}) == (None, None)


def test_ids_may_come_expanded_or_bare() -> None:
    assert id_of({"id": "cus_1", "object": "customer"}) == "cus_1"
    assert id_of("cus_2") == "cus_2"
    assert id_of(None) is None and id_of("") is None


def test_the_plan_comes_from_the_price_lookup_key_and_defaults_to_pro() -> None:
    assert plan_of({"items": {"data": [{"price": {"lookup_key": "nothing-we-sell"}}]}}) == "pro"
    assert plan_of({}) == "pro"


def test_timestamps_and_card_rows() -> None:
    assert stamp(0) is None and stamp(None) is None
    assert stamp(86400) == datetime(1970, 1, 2, tzinfo=UTC)
    now = datetime(2026, 5, 1, tzinfo=UTC)
    pm = {"id": "pm_1", "card": {"brand": "visa", "last4": "4242", "exp_month": 12, "exp_year": 30}}
    row = card_row(pm, "cust_1", now)
    assert row["brand"] == "visa" and row["last4"] == "4242" and row["detached_at"] is None
    assert card_row({"id": "pm_2"}, "cust_1", now)["brand"] is None
