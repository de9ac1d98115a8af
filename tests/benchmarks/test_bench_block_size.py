"""benchmarks/bench_block_size.py: bad arguments are named before anything runs; one tiny
A/B on JAX gives a row per block size."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "bench_block_size.py"


def _run(*arguments: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(SCRIPT), *arguments], capture_output=True,
                          text=True, timeout=300, check=False)


@pytest.mark.parametrize(("arguments", "message"), [
    (["--mib", "default,zero"], "--mib: 'zero' is neither 'default', 'plain' nor a positive"),
    (["--mib", "-1"], "--mib: '-1' is neither 'default', 'plain' nor a positive"),
    (["--mib", "4/0"], "--mib: '4/0' is neither 'default', 'plain' nor a positive"),
    (["--mib", "4/x"], "--mib: '4/x' is neither"),
    (["--chains", "0"], "--chains must be at least 1"),
    (["--mib", "4,4"], "--mib needs distinct sizes, got '4,4'"),
    (["--sizes", "1e6"], "--sizes: '1e6' is not a comma-separated list of integers"),
    (["--rounds", "0"], "--rounds must be at least 1"),
    (["--family", "gamma"], "invalid choice: 'gamma'"),
])
def test_bad_arguments_are_named(arguments: list[str], message: str) -> None:
    run = _run(*arguments)
    assert run.returncode == 2 and message in run.stderr, run.stderr[-2000:]


def test_tiny_run_times_each_setting(tmp_path: Path) -> None:
    # 220,000 x 20 float32 values: 17.6 MB, above the rewrite's 16 MiB; 5 blocks of 4 MiB;
    # of 16 MiB, one and the rows left (under MIN_BLOCKS: one) unless the fewest blocks is 1
    out = tmp_path / "sizes.json"
    run = _run("--sizes", "220000", "--dtype", "float32", "--mib", "default,16,16/1,plain",
               "--rounds", "1", "--chains", "2", "--output", str(out))
    assert run.returncode == 0, run.stderr[-2000:]
    rows = json.loads(out.read_text())["results"]
    assert [(r["mib"], r["block_mib"], r["blocks"], r["chains"]) for r in rows] == [
        ("default", 4.0, 5, 2), ("16", 16.0, 1, 2), ("16/1", 16.0, 2, 2), ("plain", None, 0, 2)]
    assert all(r["gradient_ms"] > 0 for r in rows)
    assert "| 220,000 | default | 4 | 5 |" in run.stdout
    assert "| 220,000 | plain | - | - |" in run.stdout
