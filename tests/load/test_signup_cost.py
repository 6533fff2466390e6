"""load/signup_cost.py: the app's own cost per signup, measured in process."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

COMMAND = [sys.executable, "-m", "load.signup_cost", "--database", "sqlite"]


def test_it_prints_the_cpu_of_each_round_and_the_least() -> None:
    done = subprocess.run(
        [*COMMAND, "--signups", "40", "--rounds", "2"], capture_output=True, text=True, check=True
    )
    assert re.fullmatch(r"sqlite: CPU per signup \d+ us \(rounds: \d+, \d+\)\n", done.stdout)


def test_counting_instructions_needs_valgrind(tmp_path: Path) -> None:
    env = {**os.environ, "PATH": str(tmp_path)}  # no valgrind on it
    done = subprocess.run([*COMMAND, "--instructions"], capture_output=True, text=True, env=env)
    assert done.returncode != 0
    assert "needs valgrind" in done.stderr
