"""MCMC's sampling chunk kept on disk on TensorFlow (``CompiledAhead`` with a
``trace_store`` digest), as its XLA module where JAX converts it, else as its graph: a
first fit writes it, a fit after every in-memory cache is forgotten imports it (no trace,
the same draws as without the store, the same XLA program as the writer's under a name
that differs by a multiple of ``NAME_STEP``: what makes a second process find the
writer's program in TensorFlow's persistent cache), a bad file is traced and written
again, and the store's switch keeps the disk untouched."""

from __future__ import annotations

import json
import os
import re
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


def _fit(keep: str | None = None) -> dict[str, np.ndarray]:
    """2 chains x (30 + 30), seed 4, on a newly built model, nothing compiled kept; the
    model kept in ``_FITTED[keep]`` if given."""
    compile_cache.clear()
    model = _model()
    if keep is not None:
        _FITTED[keep] = model
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # short runs may be called unhealthy
        draws = ts.mcmc(model, warmup=30, n_samples=30, chains=2, seed=4, progress=False)
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


def _program(name: str) -> tuple[str, int]:
    """The HLO the fit's chunk compiles with the chunk's name taken out, and the number
    that ends that name."""
    [(key, runner)] = [(k, r) for k, r in _FITTED[name]._cache.items() if k[-1][0] == "mcmc"]
    [imported] = runner._traced.values()
    text = imported.hlo()
    [number] = {int(n) for n in re.findall(r"inference_chunk_(\d+)", text)}
    return re.sub(r"inference_chunk_\d+", "inference_chunk", text), number


_FITTED: dict[str, ts.Model] = {}


def test_a_second_fit_imports_the_stored_graph(plain: dict, store: Path,
                                               chunk_traces: list[str],
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """Without TensorFlow's persistent cache, the graph is kept (not the XLA module) and
    the next fit imports it; a bad file in its place is traced and written again."""
    monkeypatch.delenv("TF_XLA_FLAGS", raising=False)
    first = _fit(keep="first")
    assert chunk_traces == ["chunk"]
    [stored] = _files(store)
    written = stored.read_bytes()
    assert "kind" not in json.loads(written.partition(b"\n")[0])  # a graph
    _same(plain, first)  # the imported graph samples as the traced function does
    second = _fit(keep="second")
    assert chunk_traces == ["chunk"]  # imported, not traced again
    assert not _compiles_the_module("first") and not _compiles_the_module("second")
    _same(plain, second)
    assert _files(store) == [stored] and stored.read_bytes() == written
    assert np.all(np.isfinite(first["mu"])) and first["mu"].shape == (2, 30)
    for garbage in (b"\x00\xffnot a graph", b'{"inputs": []}\nnot a graph'):
        stored.write_bytes(garbage)
        _same(plain, _fit())
        assert _files(store) == [stored] and stored.read_bytes() != garbage  # written again
    assert len(chunk_traces) == 3  # traced again each time
    _same(plain, _fit())
    assert len(chunk_traces) == 3  # and imported the next time


READER = """
import sys
sys.path.insert(0, {folder!r})
import test_tf_ahead_store as t
t._fit(keep="reader")
text, number = t._program("reader")
open({out!r}, "w").write(f"{{number}}\\n{{text}}")
"""


@pytest.mark.slow
def test_a_new_process_compiles_the_writers_program(store: Path, tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """With TensorFlow's persistent cache on, the XLA program a new process compiles from
    the stored file is the writer's, under a name that differs by a multiple of
    ``NAME_STEP``: what that cache is keyed by (without the names advanced, the
    writer's name was larger by the functions its trace made)."""
    from tfstats.backends.tf_graphs import NAME_STEP

    # read by tfstats here (TensorFlow read its flags at its start), by both in the reader
    monkeypatch.setenv("TF_XLA_FLAGS", f"--tf_xla_persistent_cache_directory={tmp_path}")
    _fit(keep="writer")
    writer, number = _program("writer")
    out = tmp_path / "reader.txt"
    env = {**os.environ, "TFSTATS_BACKEND": "tensorflow",
           "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    script = READER.format(folder=str(Path(__file__).parent), out=str(out))
    run = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True,
                         text=True, timeout=600, check=False)
    assert run.returncode == 0, run.stderr[-3000:]
    first_line, reader = out.read_text().split("\n", 1)
    assert int(first_line) % NAME_STEP == number % NAME_STEP
    assert reader == writer


def test_nothing_is_written_with_the_store_off(store: Path, chunk_traces: list[str],
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TFSTATS_TRACE_STORE", "0")
    _fit(keep="off")
    assert _files(store) == [] and chunk_traces == ["chunk"]
    [runner] = [r for k, r in _FITTED["off"]._cache.items() if k[-1][0] == "mcmc"]
    assert runner.store is None


def _compiles_the_module(name: str) -> bool:
    """Whether the fit kept as ``name`` compiled a kept XLA module (else a graph)."""
    [runner] = [r for k, r in _FITTED[name]._cache.items() if k[-1][0] == "mcmc"]
    [imported] = runner._traced.values()
    return "XlaCallModule" in {op.type for op in imported.concrete.graph.get_operations()}


def test_the_xla_module_is_kept_where_programs_persist(
        plain: dict, store: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Where TensorFlow keeps its programs on disk, the XLA module is kept and compiled by
    every process, the writer included (without that cache, the graph is:
    test_a_second_fit_imports_the_stored_graph)."""
    pytest.importorskip("jax")
    from tfstats.backends.tf_modules import KIND

    # read by tfstats (TensorFlow read its flags at its start)
    monkeypatch.setenv("TF_XLA_FLAGS", f"--tf_xla_persistent_cache_directory={tmp_path}")
    for fit in ("first", "second"):
        _same(plain, _fit(keep=fit))
        assert _compiles_the_module(fit)
    [stored] = _files(store)
    assert json.loads(stored.read_bytes().partition(b"\n")[0]).get("kind") == KIND


@pytest.mark.parametrize("failure", ["no module", "not read back"])
def test_the_graph_is_kept_where_the_module_is_not(
        failure: str, plain: dict, store: Path, chunk_traces: list[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Without a module (no JAX, a program it does not convert) or with one TensorFlow does
    not read back, the graph is kept: the same draws, imported by the next fit."""
    from tfstats.backends import tf_ahead

    class Unreadable:
        def hlo(self) -> str:
            raise RuntimeError("XlaCallModule: cannot deserialize the module")

    monkeypatch.setattr(tf_ahead, "tensorflow_programs_persist", lambda: True)
    if failure == "no module":
        monkeypatch.setattr(tf_ahead, "export_module", lambda *args: None)
    else:
        monkeypatch.setattr(tf_ahead, "import_module", lambda *args: Unreadable())
    _same(plain, _fit())
    [stored] = _files(store)
    assert "kind" not in json.loads(stored.read_bytes().partition(b"\n")[0])  # a graph
    _same(plain, _fit())
    assert chunk_traces == ["chunk"]  # imported, not traced again


def test_a_graph_that_does_not_export_is_compiled_as_traced(
        store: Path, chunk_traces: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    from tfstats.backends import tf_ahead

    monkeypatch.setattr(tf_ahead, "export_module", lambda *args: None)
    monkeypatch.setattr(tf_ahead, "export_graph", lambda *args: None)
    draws = _fit()
    assert chunk_traces == ["chunk"] and _files(store) == []
    assert np.all(np.isfinite(draws["mu"]))
