"""Pure dashboard logic: the workflow generator, usage figures and charts, tokens, money."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
import yaml

from system.dashboard import tokens, usage, workflow
from system.dashboard.live import QUEUE_SIZE, ChangeBroker
from system.marketplace.listing import workflow_problems

ROOT = Path(__file__).resolve().parents[2]
ACTION = yaml.safe_load((ROOT / "action.yml").read_text())


def generated(**overrides: object) -> str:
    values: dict[str, object] = {
        "repository": "acme/api",
        "schedule": "weekly",
        "modes": ("fix", "scan"),
        "max_fixes": 5,
    }
    values.update(overrides)
    return workflow.render(workflow.WorkflowChoices(**values))  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("schedule", "cron", "on_push"),
    [
        ("weekly", "0 3 * * 1", False),
        ("daily", "0 3 * * *", True),
        ("15 2 * * 1-5", "15 2 * * 1-5", False),
    ],
)
def test_the_workflow_is_valid_yaml_using_the_actions_inputs(
    schedule: str, cron: str, on_push: bool
) -> None:
    text = generated(schedule=schedule, on_push=on_push)
    document = yaml.safe_load(text)
    assert document["on"]["schedule"] == [{"cron": cron}]
    assert "workflow_dispatch" in document["on"]
    assert ("push" in document["on"]) is on_push
    assert workflow_problems(document, ACTION, workflow.ACTION) == []
    step = document["jobs"]["rsolv"]["steps"][-1]
    assert step["uses"] == workflow.ACTION_REF
    assert step["with"] == {
        "api-key": "${{ secrets.RSOLV_API_KEY }}",
        "mode": "scan,fix",
        "max-fixes": "5",
    }
    assert document["jobs"]["rsolv"]["if"] == "github.repository == 'acme/api'"
    assert "rsolv_test_" not in text and "rsolv_live_" not in text


def test_workflow_checks_find_unknown_and_missing_inputs() -> None:
    document = yaml.safe_load(generated())
    step = document["jobs"]["rsolv"]["steps"][-1]
    step["with"] = {"mode": "scan", "apikey": "x"}
    assert workflow_problems(document, ACTION, workflow.ACTION) == [
        "unknown input 'apikey'",
        "missing required input 'api-key'",
    ]
    assert workflow_problems({"jobs": {}}, ACTION, workflow.ACTION) == [
        f"no step uses {workflow.ACTION}"
    ]


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"repository": "no-slash"}, "repository"),
        ({"repository": "acme/api: {x}"}, "repository"),
        ({"modes": ()}, "modes"),
        ({"modes": ("deploy",)}, "modes"),
        ({"max_fixes": 0}, "max_fixes"),
        ({"schedule": "hourly"}, "schedule"),
        ({"schedule": "* * * * * *"}, "schedule"),
        ({"schedule": "0 3 * * MON; rm"}, "schedule"),
    ],
)
def test_the_generator_refuses_bad_choices(overrides: dict[str, object], field: str) -> None:
    with pytest.raises(workflow.InvalidChoice) as refused:
        generated(**overrides)
    assert refused.value.field == field


def test_money_is_integer_cents() -> None:
    assert usage.money(59900) == "$599.00"
    assert usage.money(123456789) == "$1,234,567.89"
    assert usage.money(-250) == "-$2.50"
    assert usage.money(100, "eur") == "EUR 1.00"


def test_fixes_and_balances_per_day() -> None:
    end = date(2026, 1, 10)
    moments = [datetime(2026, 1, 9, 8, tzinfo=UTC), datetime(2026, 1, 9, 9, tzinfo=UTC)]
    per_day = usage.fixes_per_day(moments, end=end, days=3)
    assert [(p.label, p.value) for p in per_day] == [
        ("2026-01-08", 0),
        ("2026-01-09", 2),
        ("2026-01-10", 0),
    ]
    entries = [(moments[0], 4), (moments[1], 3)]
    balances = usage.balance_per_day(entries, opening=5, end=end, days=3)
    assert [p.value for p in balances] == [5, 3, 3]
    assert usage.month_start(datetime(2026, 1, 9, 8, tzinfo=UTC)).day == 1


def test_charts_are_accessible_svg() -> None:
    points = [usage.Point("2026-01-01", 0), usage.Point("2026-01-02", 3)]
    bars = usage.bar_chart(points, "Fixes <per> day")
    assert bars.startswith("<svg") and 'role="img"' in bars
    assert "Fixes &lt;per&gt; day" in bars and bars.count("<rect") == 2
    line = usage.line_chart(points, "Credits")
    assert "<polyline" in line and "<title>Credits</title>" in line
    assert "<polyline" in usage.line_chart([], "Empty")


def test_tokens() -> None:
    first, second = tokens.new_token(), tokens.new_token()
    assert first != second and len(first) >= 43
    assert tokens.same(first, first) and not tokens.same(first, second)
    assert not tokens.same(None, first) and not tokens.same(first, "")
    assert tokens.hash_token(first) == tokens.hash_token(first) != tokens.hash_token(second)
    now = datetime(2026, 1, 1, tzinfo=UTC)
    later = now + timedelta(minutes=15)
    assert tokens.link_usable(expires_at=later, used_at=None, now=now) == (True, None)
    assert not tokens.link_usable(expires_at=later, used_at=now, now=now)[0]
    assert tokens.link_usable(expires_at=now, used_at=None, now=later)[1] == (
        "This sign-in link has expired."
    )


def test_the_broker_fans_out_per_customer_and_drops_past_its_queue() -> None:
    async def run() -> None:
        broker = ChangeBroker()
        await broker.publish("nobody", "fix")
        with broker.subscribe("c1") as one, broker.subscribe("c1") as two:
            assert broker.subscriber_count("c1") == 2
            await broker.publish("c1", "fix")
            await broker.publish("c2", "other")
            assert one.get_nowait() == two.get_nowait() == "fix"
            for _ in range(QUEUE_SIZE + 3):
                await broker.publish("c1", "flood")
            assert one.qsize() == QUEUE_SIZE
        assert broker.subscriber_count("c1") == 0

    asyncio.run(run())
