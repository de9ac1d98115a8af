"""benchmarks/bench_row_split.py: bad arguments are named before anything runs."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "bench_row_split.py"


@pytest.mark.parametrize(("arguments", "message"), [
    (["--sizes", "1e6"], "--sizes: '1e6' is not a comma-separated list of integers"),
    (["--sizes", "0"], "--sizes must be integers of at least 1, got '0'"),
    (["--rounds", "0"], "--rounds, --warmup and --draws must be at least 1"),
    (["--dtype", "half"], "invalid choice: 'half'"),
])
def test_bad_arguments_are_named(arguments: list[str], message: str) -> None:
    run = subprocess.run([sys.executable, str(SCRIPT), *arguments], capture_output=True,
                         text=True, timeout=60, check=False)
    assert run.returncode == 2 and message in run.stderr, run.stderr[-2000:]
