"""Small pieces: database URLs, the UTC column type, clocks, settings."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from cryptography.fernet import InvalidToken
from sqlalchemy.dialects import postgresql, sqlite

from system.clock import ManualClock, SystemClock
from system.db.engine import async_url, is_sqlite
from system.db.types import UtcDateTime
from system.idempotency import IdempotencyKey
from system.settings import Settings


def test_urls_get_async_drivers() -> None:
    assert async_url("sqlite:///var/x.db").drivername == "sqlite+aiosqlite"
    assert async_url("postgresql://u@h/db").drivername == "postgresql+asyncpg"
    assert is_sqlite("sqlite:///x.db") and not is_sqlite("postgresql://u@h/db")
    with pytest.raises(ValueError, match="unsupported database"):
        async_url("mysql://u@h/db")


def test_utc_datetimes_round_trip_on_both_dialects() -> None:
    column = UtcDateTime()
    moment = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
    stored = column.process_bind_param(moment, sqlite.dialect())
    assert stored.tzinfo is None
    assert column.process_result_value(stored, sqlite.dialect()) == moment
    pg = column.process_bind_param(moment, postgresql.dialect())
    assert column.process_result_value(pg, postgresql.dialect()) == moment
    assert column.process_bind_param(None, sqlite.dialect()) is None
    assert column.process_result_value(None, sqlite.dialect()) is None
    with pytest.raises(ValueError, match="naive"):
        column.process_bind_param(datetime(2026, 3, 1), sqlite.dialect())


def test_clocks() -> None:
    assert SystemClock().now().tzinfo is UTC
    clock = ManualClock()
    start = clock.now()
    assert clock.advance(days=31) == start + timedelta(days=31)
    clock.set(start)
    assert clock.now() == start


def test_settings_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRIAL_CREDITS", "7")
    monkeypatch.setenv("STRIPE_API_BASE", "http://127.0.0.1:12111")
    settings = Settings()
    assert settings.trial_credits == 7
    assert settings.stripe_api_base == "http://127.0.0.1:12111"
    assert settings.database_url.startswith("sqlite:///")


def test_stored_answers_open_only_with_their_key() -> None:
    sealed = IdempotencyKey("onboard", "k1").seal({"api_key": "secret"})
    assert b"secret" not in sealed
    assert IdempotencyKey("onboard", "k1").open(sealed) == {"api_key": "secret"}
    with pytest.raises(InvalidToken):
        IdempotencyKey("onboard", "k2").open(sealed)
