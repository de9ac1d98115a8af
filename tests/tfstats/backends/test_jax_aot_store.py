"""MCMC's sampling chunk kept on disk on JAX (``AheadOfTime`` with a ``trace_store``
digest): a first fit writes it, a fit after every in-memory cache is forgotten reads it
(no trace, the same draws), a bad file or a failed export fall back to tracing, and the
store's switch keeps the disk untouched. The first fit in an empty store is made once for
the module (``first``); each test starts from its own store holding its file, or not."""

from __future__ import annotations

import contextlib
import json
import threading
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import tfstats as ts
from tfstats import compile_cache

jax = pytest.importorskip("jax")

Y = np.array([1.2, 0.4, 2.2, 1.9, 0.7, 1.4])


@pytest.fixture
def store(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, jax_backend: str,
          fresh_compile_cache: None) -> Path:
    """The store on in ``tmp_path`` (JAX's own persistent cache stays as it was: off in
    the tests); the folder of the JAX programs."""
    monkeypatch.setenv("TFSTATS_COMPILATION_CACHE", str(tmp_path))
    monkeypatch.delenv("TFSTATS_TRACE_STORE", raising=False)
    return tmp_path / "traces-jax"


@contextlib.contextmanager
def _listening() -> Iterator[list[str]]:
    """The threads in which MCMC's chunk is traced, while the block runs."""
    from jax import monitoring
    from jax._src import monitoring as jax_monitoring

    traced: list[str] = []

    def listener(event: str, duration: float, **kwargs: Any) -> None:
        if event.endswith("jaxpr_trace_duration") and kwargs.get("fun_name") == "chunk":
            traced.append(threading.current_thread().name)

    monitoring.register_event_duration_secs_listener(listener)
    try:
        yield traced
    finally:
        jax_monitoring.unregister_event_duration_listener(listener)


@pytest.fixture
def chunk_traces() -> Iterator[list[str]]:
    """The threads in which MCMC's chunk is traced, while the test runs."""
    with _listening() as traced:
        yield traced


def _model() -> ts.Model:
    """Two unknowns, six observations; new arrays at each call."""
    mu = ts.normal(0.0, 2.0)
    sigma = ts.exponential(1.0)
    ts.normal(mu, sigma, observed=np.array(Y))
    return ts.model(mu=mu, sigma=sigma)


def _fit(model: ts.Model | None = None) -> dict[str, np.ndarray]:
    """2 chains x (30 + 30), seed 4, on a model rebuilt by the same code unless given."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # short runs may be called unhealthy
        draws = ts.mcmc(model or _model(), warmup=30, n_samples=30, chains=2, seed=4,
                        progress=False)
    return {name: np.asarray(draws[name]) for name in ("mu", "sigma")}


def _files(folder: Path) -> list[Path]:
    return sorted(folder.iterdir()) if folder.exists() else []


def _forget() -> None:
    """No compiled function kept in this process (a new model is built for the next fit)."""
    compile_cache.clear()


def _same(a: dict[str, np.ndarray], b: dict[str, np.ndarray]) -> None:
    for name in a:
        np.testing.assert_array_equal(a[name], b[name])


@pytest.fixture(scope="module")
def first(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """A first fit in an empty store (the fixture ``store``'s settings): its draws, its
    model, the chunk's traces, the files written (name and bytes) and any left partial."""
    from tfstats.backends import backend_name, get_backend

    # loading TensorFlow's backend adds to XLA_FLAGS, which the JAX programs' compiler
    # options answer: loaded first, as for the tests' fits, and with the store off (its
    # cache directory is not this one)
    get_backend("tensorflow")
    folder = tmp_path_factory.mktemp("first")
    before = backend_name()
    try:
        with pytest.MonkeyPatch.context() as patch:
            patch.setenv("TFSTATS_COMPILATION_CACHE", str(folder))
            patch.delenv("TFSTATS_TRACE_STORE", raising=False)
            ts.set_backend("jax")
            _forget()
            with _listening() as traced:
                model = _model()
                draws = _fit(model)
    finally:
        _forget()
        ts.set_backend(before)
    files = _files(folder / "traces-jax")
    partial = [p.name for p in folder.rglob("*") if p.name.endswith(".partial")]
    yield {"draws": draws, "model": model, "traces": len(traced), "partial": partial,
           "files": {p.name: p.read_bytes() for p in files}}


def _stored(first: dict[str, Any], store: Path, content: bytes | None = None) -> Path:
    """The first fit's file in the test's ``store`` (``content`` in it instead if given)."""
    [(name, written)] = first["files"].items()
    store.mkdir(parents=True, exist_ok=True)
    path = store / name
    path.write_bytes(written if content is None else content)
    return path


def test_a_second_fit_reads_the_stored_chunk(first: dict[str, Any], store: Path,
                                             chunk_traces: list[str]) -> None:
    assert first["traces"] == 1 and len(first["files"]) == 1 and not first["partial"]
    stored = _stored(first, store)
    written = stored.read_bytes()
    second = _fit()
    assert chunk_traces == []  # read from the file, not traced again
    _same(first["draws"], second)
    assert _files(store) == [stored] and stored.read_bytes() == written
    mu = first["draws"]["mu"]
    assert mu.shape == (2, 30) and np.all(np.isfinite(mu))


@pytest.mark.parametrize("garbage", [b"\x00\xffnot a program",
                                     b'{"options": {}}\nnot a program'],
                         ids=["garbage", "bad-program"])
def test_a_bad_file_is_traced_and_written_again(garbage: bytes, first: dict[str, Any],
                                                store: Path,
                                                chunk_traces: list[str]) -> None:
    stored = _stored(first, store, garbage)
    second = _fit()
    assert len(chunk_traces) == 1  # traced again
    _same(first["draws"], second)
    [written] = first["files"].values()
    assert _files(store) == [stored] and stored.read_bytes() == written  # rewritten
    _forget()
    _same(first["draws"], _fit())
    assert len(chunk_traces) == 1  # and read the next time


def test_a_failed_export_compiles_the_traced_chunk(store: Path, chunk_traces: list[str],
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    from tfstats.backends import jax_aot

    def failing(*args: Any) -> Any:
        raise RuntimeError("cannot export this program")

    monkeypatch.setattr(jax_aot, "_export", failing)
    draws = _fit()
    assert chunk_traces and draws["mu"].shape == (2, 30) and np.all(np.isfinite(draws["mu"]))
    assert _files(store) == []


def test_nothing_is_written_with_the_store_off(store: Path, chunk_traces: list[str],
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TFSTATS_TRACE_STORE", "0")
    model = _model()
    draws = _fit(model)
    assert draws["mu"].shape == (2, 30) and _files(store) == []
    [runner] = [r for k, r in model._cache.items() if k[-1][0] == "mcmc"]
    assert runner.store is None
    _forget()
    _fit()
    assert len(chunk_traces) == 2  # traced in each fit


def test_the_chunk_is_stored_under_its_digest(first: dict[str, Any], store: Path) -> None:
    """``ahead_of_time`` gives the chunk its ``trace_store.digest``; the file is named by
    it and the arguments' signature."""
    from tfstats import trace_store
    from tfstats.backends.jax_aot import AheadOfTime

    [(key, runner)] = [(k[-1], r) for k, r in first["model"]._cache.items()
                       if k[-1][0] == "mcmc"]
    assert isinstance(runner, AheadOfTime)
    assert runner.store == trace_store.digest(_model(), key) is not None
    [signature] = runner._compilations._futures  # one signature compiled
    assert list(first["files"]) == [trace_store.name(runner.store, repr(signature))]


def test_a_reader_sets_the_compiler_options_by_its_own_flags(
        first: dict[str, Any], store: Path, chunk_traces: list[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The file keeps the program's own choice (no fusion emitters for this small model);
    a process with tfstats' TensorFlow flags in ``XLA_FLAGS`` and one without read the
    same file (the flags tfstats added are not in the digest), each with the options its
    flags need."""
    from tfstats.backends import jax_aot, xla_cpu

    [written] = first["files"].values()
    assert json.loads(written.partition(b"\n")[0]) == {"emitters": False}
    _stored(first, store)
    asked: list[dict[str, Any]] = []
    original = jax_aot.options_for

    def recording(emitters: bool) -> dict[str, Any]:
        asked.append(original(emitters))
        return asked[-1]

    monkeypatch.setattr(jax_aot.AheadOfTime, "_options", staticmethod(recording))
    tensorflow_flags = {xla_cpu.FUSION_EMITTERS: "false", xla_cpu.OPTIMIZATION: "2",
                        xla_cpu.YNN_FUSION: xla_cpu.YNN_NO_REDUCE}
    for added in ({}, tensorflow_flags):
        monkeypatch.setattr(xla_cpu, "_ADDED", set(added))
        monkeypatch.setenv("XLA_FLAGS", " ".join(f"--{k}={v}" for k, v in added.items()))
        _forget()
        draws = _fit()
        assert np.all(np.isfinite(draws["mu"]))
    assert chunk_traces == []  # both read the first fit's file
    level = {xla_cpu.OPTIMIZATION: xla_cpu.OPTIMIZATION_LEVEL, xla_cpu.FUSION_EMITTERS: False}
    assert asked == [level, {**level, xla_cpu.YNN_FUSION: xla_cpu.YNN_DEFAULT}]
    _same(first["draws"], draws)  # as the first fit, whose process had the same flags
