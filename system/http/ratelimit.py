"""A sliding-window rate limit per client address, kept in process memory."""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable

from system.http.problems import Problem


class RateLimiter:
    """At most `limit` events per `window` seconds per key; `limit` 0 turns it off."""

    def __init__(self, limit: int, window: float, now: Callable[[], float]) -> None:
        self.limit = limit
        self.window = window
        self._now = now
        self._events: dict[str, deque[float]] = {}

    def hit(self, key: str) -> None:
        """Count one event for `key`, or raise a 429 Problem with Retry-After."""
        if not self.limit:
            return
        now = self._now()
        events = self._events.setdefault(key, deque())
        while events and events[0] <= now - self.window:
            events.popleft()
        if len(events) >= self.limit:
            retry_after = max(1, math.ceil(events[0] + self.window - now))
            raise Problem(
                429,
                "Too Many Requests",
                f"At most {self.limit} signups per {self.window:g} seconds from one address.",
                slug="rate-limited",
                headers={"Retry-After": str(retry_after)},
            )
        events.append(now)
        if len(self._events) > 100_000:
            self._forget_idle(now)

    def _forget_idle(self, now: float) -> None:
        for key in [k for k, v in self._events.items() if not v or v[-1] <= now - self.window]:
            del self._events[key]
