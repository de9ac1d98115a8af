"""Smoke test of benchmarks/bench_loop_size.py (eight schools, JAX)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "bench_loop_size.py"


@pytest.mark.slow  # a fresh process that imports tfstats and compiles the loop
def test_bench_loop_size_prints_the_loop_s_size() -> None:
    pytest.importorskip("jax")
    run = subprocess.run([sys.executable, str(SCRIPT), "--workloads", "eight_schools"],
                         capture_output=True, text=True, timeout=300, check=False)
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-2000:]
    row = next(line.split("|") for line in run.stdout.splitlines()
               if line.startswith("| eight_schools |"))
    assert int(row[3]) > 0 and int(row[4]) > 0 and int(row[5]) > 0  # StableHLO, HLO, fusions
    assert float(row[7]) > 0  # compile seconds
