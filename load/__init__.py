"""Load scenarios and benchmarks."""
