"""Shared fixtures: evaluate lazy arrays eagerly, and a fresh numpy random generator."""

from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
# no persistent compilation cache: no test depends on (or fills) ~/.cache/tfstats
os.environ.setdefault("TFSTATS_COMPILATION_CACHE", "0")

from collections.abc import Callable  # noqa: E402
from typing import Any  # noqa: E402

import numpy as np  # noqa: E402
import pytest  # noqa: E402


def evaluate_array(expr: Any, values: dict | None = None, precision: str = "double") -> np.ndarray:
    """The value of a lazy array with its unknowns set to ``values`` ({Variable: value}),
    computed eagerly on the current backend (no compilation)."""
    from tfstats.backends import get_backend
    from tfstats.graph import Evaluator

    B = get_backend()
    ev = Evaluator(B, B.float_dtype(precision), {}, constrained=values or {})
    return np.asarray(B.to_numpy(ev(expr)))


@pytest.fixture
def evaluate() -> Callable[..., np.ndarray]:
    return evaluate_array


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(20240601)


@pytest.fixture(scope="session")
def mlflow_store(tmp_path_factory: pytest.TempPathFactory) -> str:
    """One local MLflow store (SQLite, no server) per test process."""
    pytest.importorskip("mlflow")
    return "sqlite:///" + str(tmp_path_factory.mktemp("mlflow") / "runs.db")


@pytest.fixture
def tracking_on(mlflow_store: str) -> Any:
    """Tracking on for one test, in a fresh experiment; off afterwards."""
    import uuid

    import mlflow

    import tfstats as ts

    ts.autolog(tracking_uri=mlflow_store, experiment=f"test-{uuid.uuid4().hex[:8]}")
    yield mlflow
    ts.autolog(disable=True)
    if mlflow.active_run() is not None:
        mlflow.end_run()


@pytest.fixture
def traces(monkeypatch: pytest.MonkeyPatch) -> dict[str, int]:
    """Counts executions of the Python bodies of compiled functions: one per trace."""
    from tfstats.backends import get_backend

    B = get_backend()
    count = {"n": 0}
    for name in ("compile_function", "compile_once"):
        original = getattr(B, name)

        def counting(fn, *args, _original=original, **kwargs):
            def body(*a, **k):
                count["n"] += 1
                return fn(*a, **k)

            return _original(body, *args, **kwargs)

        monkeypatch.setattr(B, name, counting)
    return count
