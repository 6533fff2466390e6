"""The benchmark scripts' table rows (bench_signup and bench_fixes share them)."""

from __future__ import annotations

from load.bench_signup import percentile, report


def test_a_row_has_the_percentiles_the_rate_and_any_extra_columns() -> None:
    latencies = [n / 1000 for n in range(1, 101)]  # 1 ms .. 100 ms
    row = report("postgresql, 20", latencies, elapsed=2.0)
    assert row == "| postgresql, 20 | 100 | 50.0 | 95.0 | 99.0 | 100.0 | 50.5 | 50 |"
    assert (
        report("x", [0.01], 1.0, "0.25")
        == "| x | 1 | 10.0 | 10.0 | 10.0 | 10.0 | 10.0 | 1 | 0.25 |"
    )
    assert percentile([3.0, 1.0, 2.0], 50) == 2.0
