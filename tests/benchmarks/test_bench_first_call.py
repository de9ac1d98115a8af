"""Smoke test of benchmarks/bench_first_call.py (tiny settings, one before/after pair)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "bench_first_call.py"


@pytest.mark.slow  # two fresh processes that import tfstats and compile
def test_bench_first_call_quick_prints_both_variants() -> None:
    pytest.importorskip("jax")
    run = subprocess.run([sys.executable, str(SCRIPT), "--quick", "--pairs", "1",
                          "--workloads", "eight_schools"],
                         capture_output=True, text=True, timeout=300, check=False)
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-2000:]
    rows = [line.split("|") for line in run.stdout.splitlines()
            if line.startswith("| eight_schools |")]
    assert [row[2].strip() for row in rows] == ["before", "after"]
    for row in rows:
        first, warm = float(row[3]), float(row[4])
        assert first > warm > 0
        assert float(row[8]) > 0  # the loop's compile time was logged
