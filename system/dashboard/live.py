"""Change notices for live pages: an in-process broker from "something changed for this
customer" (a fix charged, a grant, a subscription change) to the open event streams."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterator

log = logging.getLogger(__name__)
QUEUE_SIZE = 16


class ChangeBroker:
    """Fan-out of (customer_id, what) notices to the subscribers of each customer.

    A slow subscriber loses notices past QUEUE_SIZE, which is harmless: every notice only
    says "look again", and the next one brings the page up to date.
    """

    def __init__(self) -> None:
        self._subscribers: dict[str, set[asyncio.Queue[str]]] = {}

    async def publish(self, customer_id: str, what: str) -> None:
        for queue in list(self._subscribers.get(customer_id, ())):
            with contextlib.suppress(asyncio.QueueFull):
                queue.put_nowait(what)

    @contextlib.contextmanager
    def subscribe(self, customer_id: str) -> Iterator[asyncio.Queue[str]]:
        queue: asyncio.Queue[str] = asyncio.Queue(QUEUE_SIZE)
        self._subscribers.setdefault(customer_id, set()).add(queue)
        try:
            yield queue
        finally:
            subscribers = self._subscribers.get(customer_id, set())
            subscribers.discard(queue)
            if not subscribers:
                self._subscribers.pop(customer_id, None)

    def subscriber_count(self, customer_id: str) -> int:
        return len(self._subscribers.get(customer_id, ()))
