"""CPU time per process while a benchmark runs: where each request's cost goes.

The stack's processes are this process's descendants (system, its uvicorn workers, the
emulator, the Stripe worker); PostgreSQL's are every `postgres` process on the machine (so
run nothing else against it); the client is this process.
"""

from __future__ import annotations

import resource

import psutil


def _label(process: psutil.Process) -> str | None:
    command = " ".join(process.cmdline())
    if "resource_tracker" in command:
        return None
    if "stripe-worker" in command:
        return "stripe worker"
    if " emulator" in command:
        return "emulator"
    if "multiprocessing" in command:  # a uvicorn worker of `serve --workers N`
        return f"system worker {process.pid}"
    return "system" if " serve" in command else None


def _seconds(process: psutil.Process) -> float:
    times = process.cpu_times()
    return float(times.user + times.system)


def snapshot() -> dict[str, float]:
    """CPU seconds used so far, by process (or group of processes)."""
    used: dict[str, float] = {}
    for process in psutil.Process().children(recursive=True):
        try:
            label = _label(process)
            if label:
                used[label] = used.get(label, 0.0) + _seconds(process)
        except psutil.Error:  # ended meanwhile
            continue
    for process in psutil.process_iter(["name"]):
        if "postgres" in (process.info["name"] or ""):
            try:
                used["postgresql"] = used.get("postgresql", 0.0) + _seconds(process)
            except psutil.Error:
                continue
    own = resource.getrusage(resource.RUSAGE_SELF)
    used["client"] = own.ru_utime + own.ru_stime
    return used


def per_request(before: dict[str, float], after: dict[str, float], requests: int) -> str:
    """`label a.bc ms, ...` of CPU per request between two snapshots, and the total."""
    spent = {label: after[label] - before.get(label, 0.0) for label in after}
    parts = [f"{label} {seconds / requests * 1000:.2f} ms" for label, seconds in spent.items()]
    total = sum(spent.values()) / requests * 1000
    return f"CPU per request: {', '.join(parts)}; total {total:.2f} ms"
