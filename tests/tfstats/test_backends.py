"""The same model gives the same answers on the TensorFlow and JAX backends."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator

import numpy as np
import pytest

import tfstats as ts
from tfstats.backends import backend_name, get_backend

pytest.importorskip("jax")

BACKENDS = ["tensorflow", "jax"]


@pytest.fixture
def restore_backend() -> Iterator[None]:
    before = backend_name()
    yield
    ts.set_backend(before)


def _models() -> dict[str, tuple[ts.Model, dict]]:
    rng = np.random.default_rng(3)
    models = {}
    # hierarchical with truncation, indexing, matmul
    X = rng.normal(size=(30, 3))
    group = rng.integers(0, 4, size=30)
    beta = ts.normal(0, 1, dim=3)
    tau = ts.cauchy(0, 1, truncation=(0, None))
    alpha = ts.normal(0, tau, dim=4)
    y = X @ np.array([0.5, -1.0, 0.2]) + rng.normal(size=30)
    ts.normal(X @ beta + alpha[group], 1.0, observed=y)
    models["regression"] = (ts.model(beta=beta, tau=tau, alpha=alpha),
                            {"beta": [0.1, -0.2, 0.3], "tau": 0.7, "alpha": [0.1, 0, -0.1, 0.2]})
    # constrained supports, mixture and a bound that depends on an unknown
    w = ts.dirichlet(np.ones(3))
    mus = ts.ordered_variable(dim=2)
    a1 = ts.uniform(0, 1)
    b1 = ts.variable(lower=0, upper=1 - a1)
    ts.normal(0, 2, observed=mus)
    ts.mixture(ts.normal(mus[0], 1), ts.normal(mus[1], 1), weights=ts.stack([a1, 1 - a1]),
               observed=np.array([-1.0, 0.5, 2.0]))
    ts.beta(2, 2, observed=b1 + 0.0)
    ts.multinomial(10, w, observed=np.array([2, 3, 5]))
    models["constrained"] = (ts.model(w=w, mus=mus, a1=a1, b1=b1),
                             {"w": [0.2, 0.3, 0.5], "mus": [-0.5, 1.0], "a1": 0.4, "b1": 0.3})
    # a recursion and discrete likelihoods on the log / logit scale
    rho = ts.uniform(-1, 1)
    path = ts.scan(lambda prev, e: rho * prev + e, np.linspace(-1, 1, 6), 0.0)
    ts.poisson(np.exp(path), observed=np.array([0, 1, 1, 2, 3, 2]))
    ts.bernoulli(ts.ilogit(path), observed=np.array([0, 0, 1, 1, 1, 1]))
    models["scan"] = (ts.model(rho=rho), {"rho": 0.3})
    # factor, half distributions and an LKJ Cholesky factor
    L = ts.lkj_cholesky(2.0, 3)
    scale = ts.half_normal(1.0, dim=3)
    nu = ts.half_cauchy(2.0)
    ts.half_student(3.0, nu, observed=np.array([0.3, 1.4]))
    ts.factor(np.log(scale) * L[2, :])
    lkj_R = np.array([[1.0, 0.3, 0.1], [0.3, 1.0, -0.2], [0.1, -0.2, 1.0]])
    models["language"] = (ts.model(L=L, scale=scale, nu=nu),
                          {"L": np.linalg.cholesky(lkj_R), "scale": [0.5, 1.0, 2.0], "nu": 1.2})
    return models


MODELS = _models()


@pytest.mark.parametrize("name", sorted(MODELS))
def test_log_prob_agrees(name: str, restore_backend: None) -> None:
    model, values = MODELS[name]
    results = {}
    for backend in BACKENDS:
        ts.set_backend(backend)
        results[backend] = model.log_prob(values)
    assert np.isfinite(results["tensorflow"])
    assert results["jax"] == pytest.approx(results["tensorflow"], rel=1e-10, abs=1e-10)


@pytest.mark.parametrize("name", ["constrained", "scan", "language"])
def test_map_agrees(name: str, restore_backend: None) -> None:
    model, _ = MODELS[name]
    fits = {}
    for backend in BACKENDS:
        ts.set_backend(backend)
        fits[backend] = ts.opt(model, seed=2)
        assert fits[backend].converged
    for key, value in fits["tensorflow"].par.items():
        np.testing.assert_allclose(fits["jax"].par[key], value, rtol=1e-4, atol=1e-5)


def test_posterior_agrees_within_monte_carlo_error(restore_backend: None) -> None:
    """Normal-normal with known variance: both backends match the exact posterior and
    each other within their Monte Carlo standard errors."""
    data = np.array([1.1, 0.4, 2.3, 1.7, 0.9])
    theta = ts.normal(0, 2)
    ts.normal(theta, 1, observed=data)
    model = ts.model(theta)
    post_var = 1 / (1 / 4 + len(data))
    post_mean = post_var * data.sum()
    summaries = {}
    for backend in BACKENDS:
        ts.set_backend(backend)
        draws = ts.mcmc(model, n_samples=1000, warmup=500, chains=4, seed=5, progress=False)
        summaries[backend] = draws.summary().loc["theta"]
        row = summaries[backend]
        assert abs(row["mean"] - post_mean) < 4 * row["mcse_mean"]
        assert abs(row["sd"] / np.sqrt(post_var) - 1) < 4 / np.sqrt(2 * row["ess_bulk"]) + 0.02
    tf_row, jax_row = summaries["tensorflow"], summaries["jax"]
    combined = np.hypot(tf_row["mcse_mean"], jax_row["mcse_mean"])
    assert abs(tf_row["mean"] - jax_row["mean"]) < 4 * combined


def test_unknown_backend_is_rejected() -> None:
    with pytest.raises(ValueError, match="unknown backend 'torch'"):
        ts.set_backend("torch")


@pytest.mark.parametrize("name", ["tensorflow", "jax"])
def test_softplus_and_its_gradient(name: str, restore_backend: None) -> None:
    """The backends' softplus (a custom gradient from one exponential) is log(1 + e^x)
    with the sigmoid as derivative, also at 0 and far in both tails."""
    ts.set_backend(name)
    B = get_backend()
    x = np.array([-60.0, -3.0, -1e-9, 0.0, 1e-9, 2.0, 60.0])
    value, grad = B.value_and_gradient(lambda u: B.np.sum(B.special.softplus(u)),
                                       B.convert(x, B.float_dtype("double")))
    np.testing.assert_allclose(B.to_numpy(B.special.softplus(B.convert(x))),
                               np.logaddexp(0.0, x), rtol=1e-14)
    np.testing.assert_allclose(B.to_numpy(grad), 1.0 / (1.0 + np.exp(-x)), rtol=1e-14)
    assert float(B.to_numpy(value)) == pytest.approx(np.logaddexp(0.0, x).sum(), rel=1e-14)


def test_tensorflow_probability_imports_after_the_jax_backend() -> None:
    """The JAX backend loads TFP's substrate with TensorFlow hidden; TFP's shared modules
    loaded meanwhile must not leak into a later TensorFlow import (it failed with "Arg specs
    do not match" in ``prefer_static``)."""
    code = ("import sys, tfstats.backends.jax\n"
            "assert 'tensorflow' not in sys.modules\n"
            "import tensorflow_probability as tfp\n"
            "print(float(tfp.distributions.Normal(0.0, 1.0).log_prob(0.0)))\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=300, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    assert abs(float(done.stdout.split()[-1]) + 0.9189385) < 1e-6
