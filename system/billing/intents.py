"""Write before you call: a money-moving Stripe call is recorded as a pending intent before
it is made, and settled after (succeeded, failed, or abandoned when Stripe never made it).

The intent's id is the call's idempotency key, derived from the intent itself (customer,
operation, subject, attempt) and hashed, so the customer's own text never reaches Stripe
and every repeat of one intent (a double click, a retry, the settlement pass) makes one
Stripe object. A new attempt, with a new key, starts only once the last one is settled
(failed or abandoned: Stripe took no money).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from system.db.tables import stripe_intents

PENDING = "pending"
SUCCEEDED = "succeeded"
FAILED = "failed"
ABANDONED = "abandoned"

FIX_CHARGE = "fix_charge"
SUBSCRIBE = "subscribe"


@dataclass(frozen=True)
class StripeIntent:
    id: str
    customer_id: str
    operation: str
    subject: str
    attempt: int
    status: str
    request: dict[str, Any]
    stripe_id: str | None
    created_at: datetime

    @property
    def metadata(self) -> dict[str, str]:
        """What the Stripe object carries so that the settlement pass can find it."""
        return {"rsolv_customer_id": self.customer_id, "rsolv_intent": self.id}


def intent_key(customer_id: str, operation: str, subject: str, attempt: int) -> str:
    """The idempotency key of one attempt at one intent: a hash, never the raw subject."""
    material = "\x1f".join([customer_id, operation, subject, str(attempt)]).encode()
    return f"rsolv-{operation}-{hashlib.sha256(material).hexdigest()[:40]}"


def _intent(row: Any) -> StripeIntent:
    return StripeIntent(
        id=row.id,
        customer_id=row.customer_id,
        operation=row.operation,
        subject=row.subject,
        attempt=row.attempt,
        status=row.status,
        request=json.loads(row.request),
        stripe_id=row.stripe_id,
        created_at=row.created_at,
    )


async def latest(
    connection: AsyncConnection, customer_id: str, operation: str, subject: str
) -> StripeIntent | None:
    """The last attempt at (operation, subject): pending (to be repeated, not begun again)
    or settled (the next attempt's number follows it). One query for both questions."""
    row = (
        await connection.execute(
            select(stripe_intents)
            .where(
                stripe_intents.c.customer_id == customer_id,
                stripe_intents.c.operation == operation,
                stripe_intents.c.subject == subject,
            )
            .order_by(stripe_intents.c.attempt.desc())
            .limit(1)
        )
    ).first()
    return _intent(row) if row is not None else None


async def begin(
    connection: AsyncConnection,
    customer_id: str,
    request: dict[str, Any],
    now: datetime,
    *,
    operation: str,
    subject: str,
    after: StripeIntent | None,
) -> StripeIntent:
    """Record the next attempt at (operation, subject), pending, `after` being the last
    one (`latest`, settled). Call it with the customer locked, so attempts never race."""
    assert after is None or after.status != PENDING, "repeat a pending intent instead"
    attempt = after.attempt + 1 if after else 1
    intent = StripeIntent(
        id=intent_key(customer_id, operation, subject, attempt),
        customer_id=customer_id,
        operation=operation,
        subject=subject,
        attempt=attempt,
        status=PENDING,
        request=request,
        stripe_id=None,
        created_at=now,
    )
    await connection.execute(
        stripe_intents.insert().values(
            id=intent.id,
            customer_id=customer_id,
            operation=operation,
            subject=subject,
            attempt=attempt,
            status=PENDING,
            request=json.dumps(request, sort_keys=True),
            created_at=now,
        )
    )
    return intent


async def settle(
    connection: AsyncConnection,
    intent_id: str,
    status: str,
    now: datetime,
    stripe_id: str | None = None,
) -> bool:
    """Settle a pending intent; False when it was settled already (by another path)."""
    result = await connection.execute(
        update(stripe_intents)
        .where(stripe_intents.c.id == intent_id, stripe_intents.c.status == PENDING)
        .values(status=status, settled_at=now, stripe_id=stripe_id)
    )
    return bool(result.rowcount)


async def by_id(connection: AsyncConnection, intent_id: str) -> StripeIntent | None:
    row = (
        await connection.execute(select(stripe_intents).where(stripe_intents.c.id == intent_id))
    ).first()
    return _intent(row) if row is not None else None


async def pending_made_by(
    connection: AsyncConnection, horizon: datetime, limit: int = 500
) -> list[StripeIntent]:
    """Pending intents made by `horizon`, oldest first: what a crash may have left."""
    rows = (
        await connection.execute(
            select(stripe_intents)
            .where(stripe_intents.c.status == PENDING, stripe_intents.c.created_at <= horizon)
            .order_by(stripe_intents.c.created_at)
            .limit(limit)
        )
    ).all()
    return [_intent(row) for row in rows]
