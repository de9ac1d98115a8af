"""benchmarks/bench_ess_seeds.py: its argument checks, its summary, and (slow) one tiny
run per system that has its library installed."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "bench_ess_seeds.py"
ROOT = SCRIPT.parents[1]


def _run(*arguments: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    environment = {**os.environ, "PYTHONPATH": str(ROOT), **(env or {})}
    return subprocess.run([sys.executable, str(SCRIPT), *arguments], capture_output=True,
                          text=True, timeout=300, check=False, env=environment)


@pytest.mark.parametrize(("arguments", "message"), [
    (["tfstats", "--seeds", "5-2"], "--seeds must be FIRST-LAST"),
    (["tfstats", "--seeds", "x"], "--seeds must be FIRST-LAST"),
    (["tfstats", "--n", "0"], "--n and --chains must be >= 1"),
    ([], "give a system or --summary"),
])
def test_bad_arguments_are_named_before_anything_runs(
        arguments: list[str], message: str, capsys: pytest.CaptureFixture[str]) -> None:
    """The script's ``main`` in this process (``parser.error`` exits before any system
    is imported): no interpreter started for each case."""
    main = _script().main
    with pytest.raises(SystemExit) as exit_:
        main(arguments)
    stderr = capsys.readouterr().err
    assert exit_.value.code == 2 and message in stderr, stderr[-2000:]


def _script() -> ModuleType:
    """The script as a module (its folder put on the path once)."""
    if str(SCRIPT.parent) not in sys.path:
        sys.path.insert(0, str(SCRIPT.parent))
    import bench_ess_seeds

    return bench_ess_seeds


def _rows(min_ess: list[float]) -> dict:
    return {"args": {}, "rows": [
        {"seed": i, "min_ess": e, "mean_ess": 2 * e, "accept": 0.8, "leapfrogs": 7.0,
         "step_size": [0.5, 0.6], "mass_ratio_mean": 1.0, "mass_ratio_log_sd": 0.1}
        for i, e in enumerate(min_ess)]}


def test_summary_gives_means_and_the_difference_in_standard_errors(tmp_path: Path) -> None:
    summarise = _script().summarise
    first, second = tmp_path / "a.json", tmp_path / "b.json"
    first.write_text(json.dumps(_rows([100.0, 110.0, 120.0])))
    second.write_text(json.dumps(_rows([90.0, 100.0, 110.0])))
    text = summarise([str(first), str(second)])
    assert "min_ess  110.000 ± 5.774" in text  # mean and sd / sqrt(3) of 100, 110, 120
    # (100 - 110) / sqrt(2 * 5.774**2) = -1.22 standard errors
    assert "0.909x, difference -1.22 standard errors" in text


@pytest.mark.slow  # a fresh process per system, each compiling its sampler
@pytest.mark.parametrize("system", ["tfstats", "numpyro"])
def test_one_tiny_run_records_every_figure(system: str, tmp_path: Path) -> None:
    pytest.importorskip("jax")
    if system == "numpyro":
        pytest.importorskip("numpyro")
    out = tmp_path / "rows.json"
    run = _run(system, "--seeds", "3-3", "--n", "200", "--chains", "2", "--warmup", "40",
               "--draws", "20", "--out", str(out), env={"TFSTATS_BACKEND": "jax"})
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-2000:]
    (row,) = json.loads(out.read_text())["rows"]
    assert row["seed"] == 3 and row["min_ess"] > 0 and row["leapfrogs"] >= 1
    assert 0.0 < row["accept"] <= 1.0 and len(row["step_size"]) == 2
    assert row["mass_ratio_mean"] > 0
