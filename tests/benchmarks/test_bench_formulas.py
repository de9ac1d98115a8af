"""The formula benchmark's table: ratios to bambi's fastest sampler, failed rows kept."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))

import bench_formulas  # noqa: E402


def _row(system: str, ess_per_second: float) -> dict:
    return {"system": system, "seconds": 10.0, "cpu_seconds": 8.0, "min_ess_bulk": 100.0,
            "ess_per_second": ess_per_second, "leapfrogs_per_draw": 15.0,
            "step_size": 0.28, "load_before": 1.0, "load_after": 2.0}


def test_table_gives_each_system_its_ratio_to_the_fastest_bambi() -> None:
    rows = [_row("tfstats (jax)", 3.0), _row("bambi-pymc", 1.5), _row("bambi-numpyro", 6.0),
            {"system": "bambi-nutpie", "error": ["ImportError: nutpie"]}]
    lines = bench_formulas.table(rows).splitlines()
    assert lines[0].startswith("| system |") and "ratio to bambi's fastest" in lines[0]
    by_system = {line.split(" | ")[0][2:]: line for line in lines[2:]}
    assert "| 0.50x |" in by_system["tfstats (jax)"]
    assert "| 1.00x |" in by_system["bambi-numpyro"]
    assert "| 0.25x |" in by_system["bambi-pymc"]
    assert "failed: ['ImportError: nutpie']" in by_system["bambi-nutpie"]


def test_table_without_bambi_leaves_the_ratio_empty() -> None:
    line = bench_formulas.table([_row("tfstats (tensorflow)", 2.0)]).splitlines()[2]
    assert line.split(" | ")[7] == ""
