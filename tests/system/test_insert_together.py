"""Rows inserted together land all or none, on SQLite and on PostgreSQL alike."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from system.db.tables import api_keys, customers
from system.db.together import insert_together
from tests.support import SystemUnderTest

NOW = datetime(2026, 3, 1, tzinfo=UTC)


def _customer(n: int) -> dict[str, Any]:
    return {
        "id": f"cust_together_{n}",
        "email": f"together-{n}@example.com",
        "email_key": f"together-{n}@example.com",
        "name": "T",
        "created_at": NOW,
    }


def _key(n: int, customer_id: str, prefix: str) -> dict[str, Any]:
    row = {"id": f"key_together_{n}", "customer_id": customer_id, "prefix": prefix}
    return {**row, "key_hash": b"\0" * 32, "created_at": NOW}


def test_rows_referring_to_each_other_land_together(system: SystemUnderTest) -> None:
    rows = [(customers, _customer(1)), (api_keys, _key(1, "cust_together_1", "rsolv_test_a"))]
    system.call(insert_together, system.services.engine, rows)
    owner = select(api_keys.c.customer_id).where(api_keys.c.prefix == "rsolv_test_a")
    assert system.scalar(owner) == "cust_together_1"


def test_a_violation_in_a_later_row_leaves_nothing_written(system: SystemUnderTest) -> None:
    engine = system.services.engine
    system.call(
        insert_together,
        engine,
        [(customers, _customer(1)), (api_keys, _key(1, "cust_together_1", "rsolv_test_b"))],
    )
    clashing = [(customers, _customer(2)), (api_keys, _key(2, "cust_together_2", "rsolv_test_b"))]
    with pytest.raises(IntegrityError):
        system.call(insert_together, engine, clashing)
    assert system.scalar(select(func.count()).where(customers.c.id == "cust_together_2")) == 0
    # the connection went back to the pool in a usable state
    system.call(insert_together, engine, [(customers, _customer(3))])
    assert system.scalar(select(func.count()).select_from(customers)) == 2
