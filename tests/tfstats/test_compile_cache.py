"""Compiled functions shared by models of one structure; the persistent cache switch."""

from __future__ import annotations

import os
import subprocess
import sys
import types
from pathlib import Path

import numpy as np
import pytest

import tfstats as ts
from tfstats import compile_cache
from tfstats.inference.initial import log_density_function
from tfstats.model import Model

N = 20  # above CONSTANT_SIZE: the data are an argument of compiled functions


def _normal_model(y: np.ndarray, prior_sd: float = 10.0) -> Model:
    """The same code run again, as a re-run notebook cell does: new arrays each call."""
    mu = ts.normal(0, prior_sd)
    ts.normal(mu, 1, observed=y)
    return ts.model(mu)


def _expected(mu: float, y: np.ndarray, prior_sd: float) -> float:
    def logpdf(x: np.ndarray | float, m: float, s: float) -> np.ndarray:
        return -0.5 * ((x - m) / s) ** 2 - np.log(s) - 0.5 * np.log(2 * np.pi)

    return float(logpdf(mu, 0.0, prior_sd) + np.sum(logpdf(y, mu, 1.0)))


@pytest.fixture
def traces(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Counts the log densities traced (a compiled function traced again counts again)."""
    calls = [0]
    original = Model.log_density

    def counting(self: Model, *args: object, **kwargs: object) -> object:
        calls[0] += 1
        return original(self, *args, **kwargs)

    monkeypatch.setattr(Model, "log_density", counting)
    compile_cache.clear()
    return calls


def _log_density(model: Model, mu: float) -> float:
    B = model.backend
    fn = log_density_function(model)
    lp, _ = B.to_numpy(fn(B.convert(np.array([[mu]]), model.float_dtype),
                          *model.data_tensors()))
    return float(np.asarray(lp)[0])


def test_rebuilt_model_shares_compiled_function_without_retracing(traces: list[int]) -> None:
    rng = np.random.default_rng(3)
    y1, y2 = rng.normal(1.0, 1.0, N), rng.normal(-2.0, 1.0, N)
    m1 = _normal_model(y1)
    assert _log_density(m1, 0.5) == pytest.approx(_expected(0.5, y1, 10.0), rel=1e-10)
    traced = traces[0]
    assert traced > 0
    m2 = _normal_model(y2)  # new arrays, new data, same structure
    assert compile_cache.structure_key(m2) == compile_cache.structure_key(m1)
    assert log_density_function(m2) is log_density_function(m1)
    assert _log_density(m2, 0.5) == pytest.approx(_expected(0.5, y2, 10.0), rel=1e-10)
    assert _log_density(m1, 0.5) == pytest.approx(_expected(0.5, y1, 10.0), rel=1e-10)
    assert traces[0] == traced  # no retrace: data came in as arguments
    assert compile_cache.statistics()["hits"] == 1


def test_models_differing_in_a_captured_constant_or_a_shape_do_not_share(
        traces: list[int]) -> None:
    y = np.linspace(-1.0, 2.0, N)
    m1 = _normal_model(y)
    _log_density(m1, 0.3)
    traced = traces[0]
    m2 = _normal_model(y, prior_sd=5.0)  # a small constant, embedded in the graph
    assert compile_cache.structure_key(m2) != compile_cache.structure_key(m1)
    assert log_density_function(m2) is not log_density_function(m1)
    assert _log_density(m2, 0.3) == pytest.approx(_expected(0.3, y, 5.0), rel=1e-10)
    assert traces[0] > traced
    m3 = _normal_model(y[:-1])  # one observation fewer
    assert compile_cache.structure_key(m3) != compile_cache.structure_key(m1)
    assert _log_density(m3, 0.3) == pytest.approx(_expected(0.3, y[:-1], 10.0), rel=1e-10)
    # small data are constants: in the key by value
    small = [_normal_model(np.array([1.0, 2.0])), _normal_model(np.array([1.0, 3.0]))]
    assert compile_cache.structure_key(small[0]) != compile_cache.structure_key(small[1])
    # names of the unknowns are outputs of compiled functions: in the key
    mu = ts.normal(0, 10.0)
    ts.normal(mu, 1, observed=y)
    assert compile_cache.structure_key(ts.model(other=mu)) != compile_cache.structure_key(m1)


def test_shared_optimiser_gives_each_data_set_its_own_estimate(traces: list[int]) -> None:
    rng = np.random.default_rng(5)
    misses = []
    for centre in (1.0, -3.0):
        y = rng.normal(centre, 1.0, N)
        fit = ts.opt(_normal_model(y, prior_sd=1e3), adjust=False, seed=1)
        assert float(fit.par["mu"]) == pytest.approx(y.mean(), abs=1e-4)
        misses.append(compile_cache.statistics()["misses"])
    assert misses[1] == misses[0]  # the second fit compiled nothing


def test_cache_directory_switch(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    monkeypatch.delenv("TFSTATS_COMPILATION_CACHE", raising=False)
    assert compile_cache.cache_directory("jax") == tmp_path / "xdg" / "tfstats" / "jax"
    monkeypatch.setenv("TFSTATS_COMPILATION_CACHE", "0")
    assert compile_cache.cache_directory("jax") is None
    config = types.SimpleNamespace(jax_compilation_cache_dir=None, update=None)
    assert compile_cache.configure_jax(types.SimpleNamespace(config=config)) is None
    blocker = tmp_path / "a_file"
    blocker.write_text("")
    monkeypatch.setenv("TFSTATS_COMPILATION_CACHE", str(blocker / "cache"))
    assert compile_cache.cache_directory("jax") is None  # not writable: no cache, no error
    # TensorFlow's: off by default, on in a named directory
    monkeypatch.setenv("TF_XLA_FLAGS", "")
    monkeypatch.delenv("TFSTATS_COMPILATION_CACHE")
    assert compile_cache.configure_tensorflow() is None
    assert os.environ["TF_XLA_FLAGS"] == ""
    monkeypatch.setenv("TFSTATS_COMPILATION_CACHE", str(tmp_path / "named"))
    path = compile_cache.configure_tensorflow()
    assert path is not None and path.parent == tmp_path / "named"
    assert os.environ["TF_XLA_FLAGS"] == f"--tf_xla_persistent_cache_directory={path}"


_SCRIPT = """
import numpy as np, tfstats as ts
mu = ts.normal(0, 1)
ts.normal(mu, 1, observed=np.arange(20.0))
ts.opt(ts.model(mu), seed=1)
"""


def test_persistent_cache_gets_entries(tmp_path: Path) -> None:
    pytest.importorskip("jax")
    env = dict(os.environ, TFSTATS_BACKEND="jax", TFSTATS_COMPILATION_CACHE=str(tmp_path),
               JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS="0",
               PYTHONPATH=os.pathsep.join(sys.path))
    subprocess.run([sys.executable, "-c", _SCRIPT], env=env, check=True, timeout=300)
    assert any((tmp_path / "jax").iterdir())


def test_scan_bodies_are_in_the_key() -> None:
    xs = np.linspace(0.0, 1.0, N)

    def ar(coefficient: float) -> Model:
        rho = ts.uniform(-1, 1)
        h = ts.scan(lambda prev, e: coefficient * rho * prev + e, xs, 0.0)
        return ts.model(rho=rho, h=h)

    assert compile_cache.structure_key(ar(1.0)) == compile_cache.structure_key(ar(1.0))
    assert compile_cache.structure_key(ar(1.0)) != compile_cache.structure_key(ar(0.5))
