"""The benchmarks' CPU accounting: per process, per request."""

from __future__ import annotations

from load import cpu


def test_cpu_per_request_divides_each_process_and_totals() -> None:
    before = {"system": 1.0, "client": 0.5}
    after = {"system": 3.0, "client": 1.5, "postgresql": 1.0}
    assert cpu.per_request(before, after, 1000) == (
        "CPU per request: system 2.00 ms, client 1.00 ms, postgresql 1.00 ms; total 4.00 ms"
    )


def test_a_snapshot_always_counts_this_process_as_the_client() -> None:
    sum(range(200_000))  # some CPU of our own
    assert cpu.snapshot()["client"] > 0
