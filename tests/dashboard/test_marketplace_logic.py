"""Pure Marketplace logic: signatures, payload parsing, plan mapping, the listing rules."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from system.marketplace import listing, plans, signatures

ROOT = Path(__file__).resolve().parents[2]


def action() -> dict[str, Any]:
    return dict(yaml.safe_load((ROOT / "action.yml").read_text()))


def test_signatures_match_githubs_example() -> None:
    # GitHub's documented example: secret "It's a Secret to Everybody", body "Hello, World!".
    header = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"
    assert signatures.sign("It's a Secret to Everybody", b"Hello, World!") == header
    assert signatures.verify("It's a Secret to Everybody", b"Hello, World!", header)


@pytest.mark.parametrize(
    "header",
    [None, "", "sha1=abc", "sha256=00", signatures.sign("other", b"{}")],
)
def test_signatures_refuse_missing_and_forged(header: str | None) -> None:
    assert not signatures.verify("secret", b"{}", header)
    assert not signatures.verify("", b"{}", signatures.sign("", b"{}"))


def _payload(**purchase: Any) -> dict[str, Any]:
    return {
        "action": "purchased",
        "marketplace_purchase": {
            "account": {"id": 1, "login": "octo", "type": "Organization"},
            "plan": {
                "id": 9,
                "name": "Pro",
                "price_model": "PER_UNIT",
                "monthly_price_in_cents": 1,
            },
            **purchase,
        },
        "sender": {"login": "someone"},
    }


def test_parse_falls_back_to_the_noreply_address_and_reads_times() -> None:
    purchase = plans.parse(_payload(next_billing_date="2026-02-01T00:00:00Z", unit_count=4))
    assert purchase.email == "1+octo@users.noreply.github.com"
    assert purchase.next_billing_date is not None
    assert purchase.next_billing_date.isoformat() == "2026-02-01T00:00:00+00:00"
    assert purchase.unit_count == 4 and purchase.previous_plan is None
    assert plans.parse_time("2026-02-01T00:00:00") is not None  # naive means UTC


@pytest.mark.parametrize(
    "payload",
    [
        [],
        {"action": "bought"},
        {"action": "purchased"},
        {"action": "purchased", "marketplace_purchase": {"account": {"login": "x"}}},
        {"action": "purchased", "marketplace_purchase": {"account": {"id": 1, "login": "x"}}},
        _payload(plan={"name": "no id"}),
        _payload(next_billing_date="tomorrow"),
        _payload(next_billing_date=20260201),
    ],
)
def test_parse_refuses_malformed_payloads(payload: Any) -> None:
    with pytest.raises(plans.BadPayload):
        plans.parse(payload)


@pytest.mark.parametrize(
    ("price_model", "cents", "trial", "ours"),
    [
        ("FREE", 0, False, "trial"),
        ("FLAT_RATE", 0, False, "trial"),
        ("FLAT_RATE", 59900, True, "trial"),
        ("FLAT_RATE", 59900, False, "pro"),
        ("PER_UNIT", 1000, False, "pro"),
    ],
)
def test_marketplace_plans_map_to_ours(
    price_model: str, cents: int, trial: bool, ours: str
) -> None:
    plan = plans.MarketplacePlan(1, "Plan", price_model, cents)
    assert plans.our_plan(plan, on_free_trial=trial) == ours


def test_action_yml_meets_the_marketplace_listing_rules() -> None:
    metadata = action()
    assert listing.problems(metadata) == []
    assert metadata["branding"] == {"icon": "shield", "color": "green"}
    assert metadata["inputs"]["api-key"]["required"] is True
    assert all(spec["description"] for spec in metadata["inputs"].values())


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        ({"name": None}, "name is required"),
        ({"description": "x" * 126}, "description is longer"),
        ({"name": "Security"}, "is a Marketplace category"),
        ({"branding": {"icon": "github", "color": "green"}}, "not an allowed Feather icon"),
        ({"branding": {"icon": "shield", "color": "pink"}}, "not an allowed color"),
        ({"inputs": {"1bad": {"description": "x"}}}, "must start with a letter"),
        ({"inputs": {"good": {"required": True}}}, "needs a description"),
        ({"inputs": ["api-key"]}, "inputs must be a mapping"),
        ({"runs": {"using": "node12"}}, "runs.using must be one of"),
    ],
)
def test_listing_rules_catch_each_mistake(change: dict[str, Any], problem: str) -> None:
    found = listing.problems({**action(), **change})
    assert any(problem in p for p in found), found


def test_listing_rules_need_a_mapping() -> None:
    assert listing.problems(["not", "a", "mapping"]) == ["action.yml must be a mapping"]
