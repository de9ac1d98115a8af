"""Smoke test of benchmarks/bench_loop_size.py (eight schools, JAX) and the argument
checks of it, benchmarks/bench_leapfrog.py and benchmarks/bench_active_chains.py."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"
SCRIPT = BENCHMARKS / "bench_loop_size.py"


@pytest.mark.parametrize(("script", "arguments", "message"), [
    ("bench_loop_size.py", ["--workloads", "eight_schools,nope"], "--workloads: unknown nope"),
    ("bench_leapfrog.py", ["--options", "{bad"], "neither \"auto\" nor a JSON object"),
    ("bench_leapfrog.py", ["--workload", "nope"], "invalid choice: 'nope'"),
    ("bench_active_chains.py", ["nope"], "invalid choice: 'nope'"),
    ("bench_active_chains.py", ["ab", "--rounds", "0"], "--rounds must be at least 1, got 0"),
])
def test_bad_arguments_are_named_before_anything_runs(script: str, arguments: list[str],
                                                     message: str) -> None:
    run = subprocess.run([sys.executable, str(BENCHMARKS / script), *arguments],
                         capture_output=True, text=True, timeout=60, check=False)
    assert run.returncode == 2 and message in run.stderr, run.stderr[-2000:]


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
