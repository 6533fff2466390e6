"""Profiles: the tunable rates of a simulated population, from TOML (``fixtures/profiles``).

A profile is plain data. Rates are probabilities in [0, 1]; weekly rates apply once per
simulated week; ``*_fixes`` are discrete distributions of fixes deployed in a week, given
as ``[[count, weight], ...]``. Unknown keys are refused so a typo never passes silently.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

PROFILES_DIR = Path(__file__).resolve().parents[2] / "fixtures" / "profiles"

Distribution = tuple[tuple[int, float], ...]


@dataclass(frozen=True)
class Profile:
    """What a population does. Defaults are the embedded ``default`` profile."""

    name: str = "default"
    customers: int = 100  # the population size when the command gives none
    months: int = 3
    signup_weeks: int = 4  # signups arrive over the first N weeks
    # Signups: the share of addresses that are malformed, disposable, or a second signup
    # of an address already used (as real signup forms see).
    invalid_email_rate: float = 0.03
    disposable_email_rate: float = 0.03
    duplicate_email_rate: float = 0.02
    # What a customer intends once its trial credits are used.
    intent_pro_rate: float = 0.12  # becomes a Pro subscriber
    intent_payg_rate: float = 0.45  # adds a card and pays as it goes
    # the rest leaves after the trial
    card_delay_weeks: tuple[int, int] = (0, 2)  # weeks after signup before adding a card
    pro_delay_weeks: tuple[int, int] = (0, 3)  # weeks after the card before subscribing
    # Cards: some are declined when attached, some attach but fail when charged.
    card_declines_rate: float = 0.05
    card_fails_later_rate: float = 0.04
    retry_after_decline_rate: float = 0.6  # a declined customer tries another (valid) card
    # A Pro subscriber whose card starts failing (expired, replaced by a failing one).
    pro_card_fails_rate: float = 0.05  # once per subscriber, some week of its life
    recover_rate: float = 0.6  # a past-due (or refused) customer adds a working card
    # Weekly decisions of paying customers.
    upgrade_weekly_rate: float = 0.01  # PAYG -> Pro
    cancel_weekly_rate: float = 0.005  # Pro cancels
    cancel_at_period_end_share: float = 0.8
    payg_leave_weekly_rate: float = 0.005  # a PAYG customer stops using RSOLV
    trial_fixes: Distribution = ((0, 35.0), (1, 35.0), (2, 20.0), (3, 10.0))
    payg_fixes: Distribution = ((0, 55.0), (1, 30.0), (2, 12.0), (3, 3.0))
    pro_fixes: Distribution = ((2, 20.0), (4, 40.0), (6, 30.0), (10, 10.0))
    trial_weeks: int = 3  # a customer who will not pay leaves after this many weeks
    extra: dict[str, Any] = field(default_factory=dict, compare=False)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Profile:
        known = {f.name for f in fields(cls)} - {"extra"}
        flat: dict[str, Any] = {}
        for key, value in data.items():
            if isinstance(value, dict):  # [sections] are for reading only: flatten them
                flat.update(value)
            else:
                flat[key] = value
        unknown = set(flat) - known
        if unknown:
            raise ValueError(f"unknown profile settings: {sorted(unknown)}")
        values: dict[str, Any] = {}
        for key, value in flat.items():
            if key.endswith("_fixes"):
                value = tuple((int(c), float(w)) for c, w in value)
            elif key.endswith("_weeks") and isinstance(value, list):
                value = (int(value[0]), int(value[1]))
            values[key] = value
        profile = cls(**values)
        profile.check()
        return profile

    def check(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name.endswith(("_rate", "_share")) and not 0.0 <= value <= 1.0:
                raise ValueError(f"{f.name} must be within [0, 1], not {value}")
            if f.name.endswith("_fixes") and (
                not value or any(c < 0 or w < 0 for c, w in value) or sum(w for _, w in value) <= 0
            ):
                raise ValueError(f"{f.name} needs counts >= 0 and a positive total weight")
        if self.intent_pro_rate + self.intent_payg_rate > 1.0:
            raise ValueError("intent_pro_rate + intent_payg_rate must not exceed 1")
        if self.signup_weeks < 1 or self.months < 1 or self.customers < 0:
            raise ValueError("signup_weeks and months must be >= 1, customers >= 0")


def load(name_or_path: str | Path | None) -> Profile:
    """The embedded default (None or "default"), a profile name in fixtures/profiles, or a
    path to a TOML file."""
    if name_or_path is None or name_or_path == "default":
        return Profile()
    path = Path(name_or_path)
    if not path.suffix:
        path = PROFILES_DIR / f"{name_or_path}.toml"
    with path.open("rb") as handle:
        data = tomllib.load(handle)
    data.setdefault("name", path.stem)
    return Profile.from_dict(data)
