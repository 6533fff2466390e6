"""Developer tools for the emulator (benchmarks)."""
