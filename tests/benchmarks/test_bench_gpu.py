"""benchmarks/bench_gpu.py: the job order, the table, bad arguments and one tiny CPU job."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "bench_gpu.py"


@pytest.fixture(scope="module")
def bench():  # noqa: ANN201 - the script, imported as a module
    spec = importlib.util.spec_from_file_location("bench_gpu", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules["bench_gpu"] = module
    spec.loader.exec_module(module)
    return module


def test_tfstats_and_tfp_on_the_gpu_run_first(bench) -> None:  # noqa: ANN001
    order = bench.jobs([10, 20], ["gpu", "cpu"], ["numpyro", "tfp", "tfstats"])
    assert order[:4] == [("tfstats", "gpu", 10), ("tfp", "gpu", 10),
                         ("tfstats", "gpu", 20), ("tfp", "gpu", 20)]
    assert order[4][1] == "cpu" and order[-1] == ("numpyro", "cpu", 20)
    assert len(order) == 12


def test_table_reports_ess_per_second_and_unfinished_jobs(bench) -> None:  # noqa: ANN001
    rows = [{"system": "tfp", "platform": "gpu", "n": 1_000_000, "first_s": 10.0,
             "ess_first": 2000.0},
            {"system": "numpyro", "platform": "gpu", "n": 1_000_000,
             "error": "not finished in 240 s"}]
    text = bench.table(rows)
    assert "| tfp | gpu | 1,000,000 | 10.0 s, ESS 2000, 200.0/s | - |  |" in text
    assert "| numpyro | gpu | 1,000,000 | - | - | not finished in 240 s |" in text


def test_unknown_system_is_an_error(bench, capsys: pytest.CaptureFixture[str]) -> None:  # noqa: ANN001
    with pytest.raises(SystemExit):
        bench.main(["--systems", "tfstats,stan"])
    assert "--systems: unknown ['stan']" in capsys.readouterr().err


@pytest.mark.slow  # one fresh process that imports tfstats on JAX and compiles
def test_one_tiny_cpu_job_measures_both_calls(bench, tmp_path: Path) -> None:  # noqa: ANN001
    pytest.importorskip("jax")
    assert bench.main(["--sizes", "500", "--platforms", "cpu", "--systems", "tfstats",
                       "--budget", "240", "--out", str(tmp_path)]) == 0
    text = (tmp_path / "bench_gpu.md").read_text()
    row = next(line for line in text.splitlines() if line.startswith("| tfstats | cpu |"))
    first, warm = row.split("|")[4:6]
    assert "ESS" in first and "ESS" in warm, text
