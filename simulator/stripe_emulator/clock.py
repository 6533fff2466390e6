"""Injectable clocks: every ``created`` timestamp in the emulator comes from one."""

from __future__ import annotations

import threading
import time
from typing import Protocol


class Clock(Protocol):
    def now(self) -> int:
        """Current time as integer epoch seconds."""
        ...


class SystemClock:
    """Wall-clock time."""

    def now(self) -> int:
        return int(time.time())


class ManualClock:
    """A clock that only moves when told to (``advance`` / ``set``)."""

    def __init__(self, t: int | None = None) -> None:
        self._t = int(time.time()) if t is None else int(t)
        self._lock = threading.Lock()

    def now(self) -> int:
        return self._t

    def advance(self, seconds: int) -> int:
        with self._lock:
            self._t += int(seconds)
            return self._t

    def set(self, t: int) -> None:
        with self._lock:
            self._t = int(t)
