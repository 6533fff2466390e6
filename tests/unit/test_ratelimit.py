"""The sliding-window signup limiter."""

from __future__ import annotations

import pytest

from system.http.problems import Problem
from system.http.ratelimit import RateLimiter


class Ticks:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_limit_then_window_slides() -> None:
    ticks = Ticks()
    limiter = RateLimiter(2, 10, ticks)
    limiter.hit("a")
    ticks.now += 4
    limiter.hit("a")
    limiter.hit("b")
    with pytest.raises(Problem) as refused:
        limiter.hit("a")
    assert refused.value.status == 429
    assert refused.value.headers == {"Retry-After": "6"}
    ticks.now += 6
    limiter.hit("a")  # the first hit left the window


def test_zero_turns_it_off() -> None:
    limiter = RateLimiter(0, 10, Ticks())
    for _ in range(1000):
        limiter.hit("a")


def test_idle_addresses_are_forgotten_when_the_table_grows() -> None:
    ticks = Ticks()
    limiter = RateLimiter(5, 1, ticks)
    for i in range(100_001):
        limiter.hit(f"addr-{i}")
    ticks.now += 2
    limiter.hit("fresh")
    limiter._forget_idle(ticks.now)
    assert list(limiter._events) == ["fresh"]
