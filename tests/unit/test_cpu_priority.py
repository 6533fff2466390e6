"""Background processes lower their own CPU priority (system/cpu_priority.py)."""

from __future__ import annotations

import os
import subprocess
import sys
from unittest import mock

import pytest

from system import cpu_priority


def _after(priority: str) -> tuple[int, int]:
    """(scheduling policy, niceness) of a fresh process that lowered itself to `priority`:
    a process cannot take back a priority it gave up, so never this test's own."""
    script = (
        "import os; from system import cpu_priority; "
        f"cpu_priority.lower({priority!r}); "
        "print(os.sched_getscheduler(0), os.nice(0))"
    )
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    ).stdout
    policy, niceness = out.split()
    return int(policy), int(niceness)


pytestmark = pytest.mark.skipif(
    not hasattr(os, "SCHED_IDLE"), reason="scheduling policies are Linux's"
)


def test_idle_runs_only_on_cpu_that_would_otherwise_be_idle() -> None:
    assert _after("idle")[0] == os.SCHED_IDLE


def test_low_is_the_lowest_niceness() -> None:
    assert _after("low") == (os.SCHED_OTHER, 19)


def test_normal_changes_nothing() -> None:
    assert _after("normal") == (os.sched_getscheduler(0), os.nice(0))


def test_idle_falls_back_to_low_where_the_policy_is_refused() -> None:
    with (
        mock.patch.object(os, "sched_setscheduler", side_effect=PermissionError),
        mock.patch.object(os, "nice") as nice,
    ):
        assert cpu_priority.lower("idle") == "low"
    nice.assert_called_once_with(19)


def test_an_unknown_priority_is_refused() -> None:
    with pytest.raises(ValueError, match="idle, low or normal"):
        cpu_priority.lower("urgent")
