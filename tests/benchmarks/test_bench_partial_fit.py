"""Smoke test of benchmarks/bench_partial_fit.py (tiny settings, in this process)."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import pytest

PATH = Path(__file__).resolve().parents[2] / "benchmarks" / "bench_partial_fit.py"


def test_tiny_run_prints_both_estimators(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    spec = importlib.util.spec_from_file_location("bench_partial_fit", PATH)
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    output = tmp_path / "partial_fit.json"
    monkeypatch.setattr(sys, "argv", [str(PATH), "--quick", "--out", str(output)])
    bench.main()
    text = capsys.readouterr().out
    assert "| DNNClassifier |" in text and "| MLPClassifier |" in text
    assert "DNNClassifier / MLPClassifier time:" in text
    results = json.loads(output.read_text())["results"]
    for rows in results.values():
        (row,) = rows
        assert row["first_s"] > 0 and row["later_ms"] > 0 and 0 <= row["accuracy"] <= 1
        assert row["total_s"] >= row["first_s"]
