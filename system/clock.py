"""Clocks: where the system's notion of now comes from, replaceable in tests and simulations."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    """Anything that can tell the current time as an aware UTC datetime."""

    def now(self) -> datetime: ...


class SystemClock:
    """The wall clock."""

    def now(self) -> datetime:
        return datetime.now(UTC)


class ManualClock:
    """A clock that only moves when told to: for tests and simulated months."""

    def __init__(self, start: datetime | None = None) -> None:
        self._now = start or datetime(2026, 1, 1, tzinfo=UTC)

    def now(self) -> datetime:
        return self._now

    def advance(self, **delta: float) -> datetime:
        self._now = self._now + timedelta(**delta)
        return self._now

    def set(self, moment: datetime) -> None:
        self._now = moment


class FileClock:
    """A clock another process sets: the time is a Unix epoch (seconds) written in a file.

    For a simulation that runs the system as its own processes (``SIMULATED_CLOCK_FILE``):
    the simulator writes the simulated time, every worker reads it. The file is read again
    only when it changes; until it exists, the time is `start` (or the wall clock).
    """

    def __init__(self, path: str, start: datetime | None = None) -> None:
        import os

        self._path = path
        self._stat = os.stat
        self._mtime: int | None = None
        self._now = start or datetime.now(UTC)

    def now(self) -> datetime:
        try:
            mtime = self._stat(self._path).st_mtime_ns
        except OSError:
            return self._now
        if mtime != self._mtime:
            try:
                with open(self._path) as handle:
                    text = handle.read().strip()
                self._now = datetime.fromtimestamp(float(text), UTC)
                self._mtime = mtime
            except (OSError, ValueError):
                pass  # half-written: keep the last time read
        return self._now

    @staticmethod
    def write(path: str, moment: datetime) -> None:
        """Set the time every FileClock on `path` reads (atomically: write, then rename)."""
        import os

        tmp = f"{path}.{os.getpid()}.tmp"
        with open(tmp, "w") as handle:
            handle.write(repr(moment.timestamp()))
        os.replace(tmp, path)
