"""Stripe customers made just after the signup's answer, in batches (STRIPE_SYNC_MODE's
default, `after_response`).

Each answered signup waits here for its Stripe customer. One batch at a time goes to
Stripe, and whatever signups were answered while it was out go together in the next: the
Stripe calls run concurrently and the batch is recorded in one transaction, which costs
the API process much less than a transaction for each. The signup's row in the Stripe
queue is already written, so a process that stops with signups still waiting here loses
nothing: the upkeep pass or `sync-stripe` completes them.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

# rows (customer_id, email, name, company, github_org) -> customer id -> Stripe id, for
# those recorded
SyncRows = Callable[[list[dict[str, Any]]], Awaitable[dict[str, str]]]


class StripeFollowUps:
    """Batches of after-response Stripe customers, for the event loop that runs them."""

    def __init__(self, sync_rows: SyncRows, *, batch: int = 100) -> None:
        self._sync_rows = sync_rows
        self._batch = batch
        self._waiting: list[tuple[dict[str, Any], asyncio.Future[str | None]]] = []
        self._draining: asyncio.Task[None] | None = None

    async def create(self, row: dict[str, Any]) -> str | None:
        """The Stripe customer's id once recorded; None if it was not (Stripe failed: it
        is retried later). Raises what the batch raised."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[str | None] = loop.create_future()
        self._waiting.append((row, future))
        draining = self._draining
        if draining is None or draining.done() or draining.get_loop() is not loop:
            # (A batch of a loop closed under it never finishes: this loop starts afresh.)
            self._draining = asyncio.create_task(self._drain())
        return await future

    async def _drain(self) -> None:
        while self._waiting:
            taken = self._waiting[: self._batch]
            del self._waiting[: self._batch]
            try:
                recorded = await self._sync_rows([row for row, _ in taken])
            except Exception as error:
                for _, future in taken:
                    if _awaited(future):
                        future.set_exception(error)
                continue
            for row, future in taken:
                if _awaited(future):
                    future.set_result(recorded.get(row["customer_id"]))


def _awaited(future: asyncio.Future[Any]) -> bool:
    """Whether a signup still waits on `future`: not if its task was cancelled, nor if
    its loop is gone (the Stripe customer is made all the same)."""
    return not future.done() and not future.get_loop().is_closed()
