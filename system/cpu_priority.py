"""CPU priority for background processes, so that serving requests comes first.

A process can only lower its own priority (taking it back needs privileges), so this is
called once, at the start of a process that does background work: the Stripe worker.
"""

from __future__ import annotations

import os

PRIORITIES = ("idle", "low", "normal")


def lower(priority: str) -> str:
    """Lower this process's CPU priority; the priority it got.

    - `idle`: Linux's SCHED_IDLE. The process runs on CPU time nobody else wants, and a
      normal process that wakes takes the core from it at once. (At nice 19 a process
      keeps the core for the rest of its time slice, a few milliseconds that land on
      whichever request was waiting.) Where the policy is missing or refused: `low`.
    - `low`: nice 19.
    - `normal`: unchanged.
    """
    if priority not in PRIORITIES:
        raise ValueError(f"CPU priority {priority!r}: use idle, low or normal")
    if priority == "idle":
        try:
            os.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0))
            return "idle"
        except (AttributeError, OSError):  # not Linux, or a sandbox that refuses it
            priority = "low"
    if priority == "low":
        os.nice(19)
    return priority
