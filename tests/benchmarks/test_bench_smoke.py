"""Smoke tests of the benchmark scripts (tiny settings): MCMC, GLM, deep nets."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "bench_mcmc.py"


@pytest.mark.slow
def test_bench_mcmc_quick_prints_a_table(tmp_path: Path) -> None:
    # one workload keeps it near a minute: compilation (two XLA programs) dominates
    output = tmp_path / "mcmc.json"
    run = subprocess.run(
        [sys.executable, str(SCRIPT), "--quick", "--systems", "tfstats,tfp",
         "--workloads", "eight_schools", "--output", str(output)],
        capture_output=True, text=True, timeout=300, check=False)
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-2000:]
    lines = run.stdout.splitlines()
    assert any(line.startswith("| workload | system |") for line in lines)
    rows = [line for line in lines if line.startswith("| eight_schools |")]
    assert any("| tfstats |" in row for row in rows)
    assert any("| tfp |" in row for row in rows)
    report = json.loads(output.read_text())
    assert {r["system"] for r in report["results"]} == {"tfstats", "tfp"}
    for result in report["results"]:
        assert result["ok"], result
        assert result["first_s"] > result["warm_s"] > 0
        assert result["ess_warm"] > 0


def _run(script: str, *args: str) -> str:
    path = SCRIPT.parent / script
    run = subprocess.run([sys.executable, str(path), "--quick", *args], capture_output=True,
                         text=True, timeout=600, check=False)
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-2000:]
    return run.stdout


def test_bench_dnn_quick_prints_a_table(tmp_path: Path) -> None:
    output = tmp_path / "dnn.json"
    text = _run("bench_dnn.py", "--only", "defaults", "scikit-learn", "--out", str(output))
    assert "| DNNClassifier (defaults) |" in text
    assert "| scikit-learn MLPClassifier |" in text
    results = json.loads(output.read_text())
    assert set(results) == {"DNNClassifier (defaults)", "scikit-learn MLPClassifier"}
    assert all(r["best_s"] > 0 and 0 <= r["accuracy"] <= 1 for r in results.values())


def test_bench_glm_quick_prints_a_table(monkeypatch: pytest.MonkeyPatch,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    """In this process (its TensorFlow already imported), as ``python bench_glm.py
    --quick`` runs it."""
    import importlib.util

    path = SCRIPT.parent / "bench_glm.py"
    spec = importlib.util.spec_from_file_location("bench_glm", path)
    bench_glm = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench_glm)
    monkeypatch.setattr(sys, "argv", [str(path), "--quick"])
    bench_glm.main()
    text = capsys.readouterr().out
    assert "| logistic D=20 |" in text and "| linear D=10 |" in text


def _bench_modules() -> tuple:
    import importlib

    sys.path.insert(0, str(SCRIPT.parent))
    try:
        return importlib.import_module("mcmc_systems"), importlib.import_module("bench_mcmc")
    finally:
        sys.path.remove(str(SCRIPT.parent))


def test_correlated_workload_has_strongly_correlated_predictors() -> None:
    systems, _ = _bench_modules()
    data = systems.workload_data("correlated", quick=True)
    assert data["x"].shape == (500, systems.CORRELATED["d"])
    corr = np.corrcoef(data["x"], rowvar=False)
    assert corr[0, 1] > 0.95 and 0.7 < corr[0, 10] < 0.95  # Toeplitz 0.99^|i - j|


def test_best_peer_table_divides_by_the_fastest_peer() -> None:
    _, bench = _bench_modules()

    def row(system: str, ess_per_s: float) -> dict:
        return {"workload": "radon", "system": system, "ok": True,
                "ess_per_s_first": ess_per_s}

    text = bench.best_peer_table([row("numpyro", 100.0), row("numpyro-parallel", 200.0),
                                  row("nutpie", 50.0), row("tfstats", 150.0),
                                  row("tfstats-jax", 250.0)])
    lines = text.splitlines()
    assert "| radon | numpyro-parallel | 200.0 | tfstats | 150.0 | 0.75 | missed |" in lines
    assert "| radon | numpyro-parallel | 200.0 | tfstats-jax | 250.0 | 1.25 | met |" in lines


def test_repeated_runs_are_summarised_by_their_median_run() -> None:
    _, bench = _bench_modules()

    def run(system: str, seed: int, ess_per_s: float | None) -> dict:
        if ess_per_s is None:
            return {"workload": "radon", "system": system, "seed": seed, "ok": False}
        return {"workload": "radon", "system": system, "seed": seed, "ok": True,
                "ess_per_s_first": ess_per_s}

    rows = bench.summarise([run("tfstats", 1, 300.0), run("tfstats", 11, 100.0),
                            run("tfstats", 21, 200.0), run("pymc", 1, None),
                            run("pymc", 11, 50.0), run("nutpie", 1, None)])
    by_system = {r["system"]: r for r in rows}
    assert by_system["tfstats"]["seed"] == 11 + 10 and by_system["tfstats"]["runs"] == 3
    assert by_system["tfstats"]["ess_per_s_first_range"] == (100.0, 300.0)
    assert by_system["pymc"]["ess_per_s_first"] == 50.0  # a failed run is left out
    assert not by_system["nutpie"]["ok"]  # ... unless every run failed
    assert bench._spread(by_system["tfstats"]) == " (100.0-300.0, 3 runs)"


def test_repeats_below_one_is_an_error(capsys: pytest.CaptureFixture[str]) -> None:
    _, bench = _bench_modules()
    with pytest.raises(SystemExit):
        bench.main(["--repeats", "0", "--systems", "tfstats"])
    assert "--repeats must be at least 1, got 0" in capsys.readouterr().err
