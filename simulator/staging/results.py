"""The records of a simulation run: its configuration, each customer's life (`Lived`), the
figures of each week, and the whole run's result, which the reconciliation and the report
read. Data only: nothing here sends a request or moves time.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from simulator.staging.behaviour import CustomerView
from simulator.staging.expected import Expected
from simulator.staging.population import Person
from simulator.staging.profile import Profile


@dataclass
class RunConfig:
    profile: Profile
    customers: int
    months: int
    seed: int
    report_dir: Path | None = None
    database_url: str | None = None
    system_url: str | None = None
    stripe_api_base: str | None = None
    via_stripe_cli: bool = False
    workers: int = 0  # 0: the system in a thread of this process; N: N worker processes
    concurrency: int = 48
    decline_all_cards: bool = False  # the emulator declines every card (a fault drill)
    duplicate_webhooks: float = 0.0  # share of webhooks delivered twice
    reorder_webhooks: float = 0.0  # share of webhooks swapped with the next one
    chaos: bool = False  # fault drills: kills, slow or failing Stripe, dropped connections

    @property
    def weeks(self) -> int:
        return max(1, round(self.months * 52 / 12))


@dataclass
class Lived:
    """One customer's run: who, what it knows, what it should have, what it did."""

    person: Person
    view: CustomerView = field(default_factory=CustomerView)
    expected: Expected = field(default_factory=Expected)
    api_key: str | None = None
    customer_id: str | None = None
    signup_latency: float | None = None
    used_trial: bool = False
    valid_card_attempts: int = 0
    valid_card_ok: int = 0
    fix_requests: int = 0
    paying_since: int | None = None  # week it first had a working card on file
    churned_week: int | None = None
    log: list[tuple[int, str, str]] = field(default_factory=list)  # week, action, outcome
    disagreements: list[str] = field(default_factory=list)

    def disagree(self, week: int, what: str) -> None:
        self.disagreements.append(f"week {week}: {what}")


@dataclass
class WeekFigures:
    week: int
    at: str
    mrr_cents: int
    credits_outstanding: int
    pro_subscribers: int
    paying_customers: int
    requests: int
    seconds: float
    acting_seconds: float = 0.0  # of `seconds`, customers acting (the rest: time moving)


@dataclass
class RunResult:
    config: RunConfig
    lived: list[Lived]
    weeks: list[WeekFigures]
    stack_notes: dict[str, Any]
    end: datetime
    wall_seconds: float = 0.0
    requests: int = 0
    webhook_attempts: list[dict[str, Any]] = field(default_factory=list)
    cli_responses: int = 0
    remote: dict[str, Any] = field(default_factory=dict)  # the emulator's objects, by kind
    faults: dict[str, int] = field(default_factory=dict)  # what --chaos injected
