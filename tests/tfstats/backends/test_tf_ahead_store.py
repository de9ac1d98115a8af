"""MCMC's sampling chunk kept on disk as its graph on TensorFlow (``CompiledAhead`` with a
``trace_store`` digest): a first fit writes it, a fit after every in-memory cache is
forgotten imports it (no trace, the same draws as without the store), a bad file is traced
and written again, the store's switch keeps the disk untouched, and a second process
loads the first one's XLA program from TensorFlow's persistent cache."""

from __future__ import annotations

import os
import subprocess
import sys
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import tfstats as ts
from tfstats import compile_cache

pytest.importorskip("tensorflow")

ROOT = Path(__file__).resolve().parents[3]
Y = np.array([1.2, 0.4, 2.2, 1.9, 0.7, 1.4])


def _model() -> ts.Model:
    """Two unknowns, six observations; new arrays at each call."""
    mu = ts.normal(0.0, 2.0)
    sigma = ts.exponential(1.0)
    ts.normal(mu, sigma, observed=np.array(Y))
    return ts.model(mu=mu, sigma=sigma)


def _fit() -> dict[str, np.ndarray]:
    """2 chains x (30 + 30), seed 4, on a newly built model, nothing compiled kept."""
    compile_cache.clear()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # short runs may be called unhealthy
        draws = ts.mcmc(_model(), warmup=30, n_samples=30, chains=2, seed=4, progress=False)
    return {name: np.asarray(draws[name]) for name in ("mu", "sigma")}


def _same(a: dict[str, np.ndarray], b: dict[str, np.ndarray]) -> None:
    for name in a:
        np.testing.assert_array_equal(a[name], b[name])


def _files(folder: Path) -> list[Path]:
    return sorted(folder.iterdir()) if folder.exists() else []


@pytest.fixture
def chunk_traces(monkeypatch: pytest.MonkeyPatch, tensorflow_backend: str,
                 fresh_compile_cache: None) -> list[str]:
    """One entry per execution of the Python body of MCMC's chunk (a trace)."""
    from tfstats.backends import get_backend

    B = get_backend()
    traced: list[str] = []
    original = B.compile_function

    def counting(fn: Callable, *args: Any, **kwargs: Any) -> Callable:
        def body(*a: Any, **k: Any) -> Any:
            if fn.__name__ == "chunk":
                traced.append(fn.__name__)
            return fn(*a, **k)

        body.__name__ = fn.__name__
        return original(body, *args, **kwargs)

    monkeypatch.setattr(B, "compile_function", counting)
    return traced


@pytest.fixture(scope="module")
def plain() -> dict[str, np.ndarray]:
    """The draws with the store off (the tests' setting): the chunk as traced."""
    ts.set_backend("tensorflow")
    return _fit()


@pytest.fixture
def store(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, chunk_traces: list[str]) -> Path:
    """The store on in ``tmp_path``; the folder of TensorFlow's graphs."""
    monkeypatch.setenv("TFSTATS_COMPILATION_CACHE", str(tmp_path))
    monkeypatch.delenv("TFSTATS_TRACE_STORE", raising=False)
    return tmp_path / "traces-tensorflow"


def test_a_second_fit_imports_the_stored_graph(plain: dict, store: Path,
                                               chunk_traces: list[str]) -> None:
    first = _fit()
    assert chunk_traces == ["chunk"]
    [stored] = _files(store)
    written = stored.read_bytes()
    _same(plain, first)  # the imported graph samples as the traced function does
    second = _fit()
    assert chunk_traces == ["chunk"]  # imported, not traced again
    _same(plain, second)
    assert _files(store) == [stored] and stored.read_bytes() == written
    assert np.all(np.isfinite(first["mu"])) and first["mu"].shape == (2, 30)


@pytest.mark.parametrize("garbage", [b"\x00\xffnot a graph", b'{"inputs": []}\nnot a graph'],
                         ids=["garbage", "bad-graph"])
def test_a_bad_file_is_traced_and_written_again(garbage: bytes, plain: dict, store: Path,
                                                chunk_traces: list[str]) -> None:
    _fit()
    [stored] = _files(store)
    stored.write_bytes(garbage)
    _same(plain, _fit())
    assert len(chunk_traces) == 2  # traced again
    assert _files(store) == [stored] and stored.read_bytes() != garbage  # written again
    _same(plain, _fit())
    assert len(chunk_traces) == 2  # and imported the next time


def test_nothing_is_written_with_the_store_off(store: Path, chunk_traces: list[str],
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TFSTATS_TRACE_STORE", "0")
    _fit()
    _fit()
    assert _files(store) == [] and chunk_traces == ["chunk", "chunk"]


def test_a_graph_that_does_not_export_is_compiled_as_traced(
        store: Path, chunk_traces: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    from tfstats.backends import tf_ahead

    monkeypatch.setattr(tf_ahead, "export_graph", lambda *args: None)
    draws = _fit()
    assert chunk_traces == ["chunk"] and _files(store) == []
    assert np.all(np.isfinite(draws["mu"]))


SCRIPT = """
import numpy as np, tfstats as ts
mu = ts.normal(0.0, 2.0)
ts.normal(mu, 1.5, observed=np.array([1.2, 0.4, 2.2, 1.9, 0.7]))
draws = ts.mcmc(ts.model(mu=mu), n_samples=40, warmup=40, chains=2, seed=3, progress=False)
print("draws", repr(np.asarray(draws["mu"]).tolist()), flush=True)
"""


@pytest.mark.slow
def test_a_second_process_loads_the_first_ones_program(tmp_path: Path) -> None:
    """The writer traces and compiles; a second process, which made fewer TensorFlow
    functions before its fit (a warm-up function in the first), imports the graph and
    loads the XLA program from TensorFlow's persistent cache: no compilation."""
    env = {**os.environ, "TFSTATS_BACKEND": "tensorflow", "TF_CPP_MIN_LOG_LEVEL": "0",
           "TF_CPP_VMODULE": "device_executable_persistor=3",
           "TFSTATS_COMPILATION_CACHE": str(tmp_path),
           "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    env.pop("TFSTATS_TRACE_STORE", None)
    warm_up = ("from tfstats.backends import get_backend; get_backend()\n"  # before TF
               "import tensorflow as tf; [tf.function(lambda: tf.ones(2))() for _ in range(3)]\n")
    runs = [subprocess.run([sys.executable, "-c", script], env=env, capture_output=True,
                           text=True, timeout=600, check=False)
            for script in (warm_up + SCRIPT, SCRIPT)]
    for run in runs:
        assert run.returncode == 0, run.stderr[-3000:]
    writer, reader = runs
    assert "Loading cached entry for: __inference_chunk" not in writer.stderr
    assert "Loading cached entry for: __inference_chunk" in reader.stderr, reader.stderr[-3000:]
    draws = [line for run in runs for line in run.stdout.splitlines() if line.startswith("draws")]
    assert len(draws) == 2 and draws[0] == draws[1]
    assert len(_files(tmp_path / "traces-tensorflow")) == 1
