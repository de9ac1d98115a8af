"""Gaussian likelihoods with a linear mean on data, summed from sufficient statistics:
the same log density and gradient as the per-row sum, on both backends; the row data
outside the density; the exact posterior of a conjugate regression; set_data; and the
terms the rewrite must leave alone."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest
import scipy.stats

import tfstats as ts
from tests.tfstats.rewrites import switch_off, traced_shapes, value_and_gradient
from tfstats import linear_gaussian
from tfstats.compile_cache import structure_key
from tfstats.inference.simulate import pointwise_log_likelihood
from tfstats.linear_gaussian import ENVIRONMENT

N_ROWS, N_COLS = 203, 4  # distinct sizes: a shape holding N_ROWS reads the rows


@pytest.fixture
def rewrite_off(monkeypatch: pytest.MonkeyPatch) -> Any:
    """Builds models without the rewrite while in use: ``with rewrite_off(): ...``."""
    return switch_off(monkeypatch, ENVIRONMENT)


def _data(seed: int = 3) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(N_ROWS, N_COLS)) @ np.triu(np.ones((N_COLS, N_COLS)))  # correlated
    x = rng.normal(size=N_ROWS)
    offset = rng.normal(size=N_ROWS)
    y = 2.0 + X @ rng.normal(size=N_COLS) - 0.5 * x + offset + rng.normal(size=N_ROWS)
    return {"X": X, "x": x, "offset": offset, "y": y}


def _regression(data: dict[str, np.ndarray], precision: str = "double") -> ts.Model:
    """Intercept, matmul, a scaled data vector (subtracted) and a data offset."""
    alpha = ts.normal(0, 5)
    beta = ts.normal(0, 1, dim=N_COLS)
    gamma = ts.normal(0, 1)
    sigma = ts.normal(0, 1, truncation=(0, None))
    ts.normal(alpha + data["X"] @ beta - data["x"] * gamma + data["offset"], sigma,
              observed=data["y"])
    return ts.model(alpha=alpha, beta=beta, gamma=gamma, sigma=sigma, precision=precision)


@pytest.mark.parametrize("precision", ["double", "single"])
def test_density_and_gradient_match_the_rows(backend: str, precision: str,
                                             rewrite_off: Any) -> None:
    data = _data()
    fast = _regression(data, precision)
    with rewrite_off():
        rows = _regression(data, precision)
    assert [r.n_columns for r in fast.linear_gaussian] == [N_COLS + 2]
    assert rows.linear_gaussian == []
    flats = np.random.default_rng(1).normal(0.0, 0.7, size=(5, fast.n_free))
    value, grad = value_and_gradient(fast, flats)
    expected_value, expected_grad = value_and_gradient(rows, flats)
    rtol = 1e-10 if precision == "double" else 2e-5
    np.testing.assert_allclose(value, expected_value, rtol=rtol)
    scale = np.max(np.abs(expected_grad), axis=1, keepdims=True)
    np.testing.assert_allclose(grad / scale, expected_grad / scale, atol=rtol)


def test_the_density_reads_no_row_data(backend: str) -> None:
    """The traced density and gradient touch no array with N rows: the N x D products
    are computed once, outside every compiled loop."""
    model = _regression(_data())
    data = model.data_tensors()
    assert any(N_ROWS in tuple(d.shape) for d in data)  # X, y and the rest still passed
    shapes = traced_shapes(model, backend)
    assert shapes and all(N_ROWS not in s for s in shapes)


def test_set_data_refreshes_the_statistics(rewrite_off: Any) -> None:
    first, second = _data(3), _data(4)

    def build(data: dict[str, np.ndarray]) -> ts.Model:
        X = ts.as_data(data["X"], mutable=True)
        y = ts.as_data(data["y"], mutable=True)
        beta = ts.normal(0, 1, dim=N_COLS)
        sigma = ts.variable(lower=0)
        ts.normal(X @ beta, sigma, observed=y)
        return ts.model(beta, sigma)

    model = build(first)
    assert len(model.linear_gaussian) == 1
    with rewrite_off():
        reference = build(second)
    values = {"beta": np.linspace(-1.0, 1.0, N_COLS), "sigma": 1.7}
    before = model.log_prob(values)
    model.set_data(X=second["X"], y=second["y"])
    assert model.log_prob(values) != pytest.approx(before)
    np.testing.assert_allclose(model.log_prob(values), reference.log_prob(values), rtol=1e-12)


def _minibatched(X: np.ndarray, y: np.ndarray, beta: ts.Array, sigma: ts.Array) -> None:
    X_b, y_b = ts.minibatch(X, y, batch_size=50, seed=1)
    ts.normal(X_b @ beta, sigma, observed=y_b)


LEFT_PER_ROW = {
    "sd per row": lambda X, y, b, s: ts.normal(X @ b, s * np.ones(N_ROWS), observed=y),
    "unknown per row": lambda X, y, b, s: ts.normal(X @ b + ts.normal(0, 1, dim=N_ROWS), s,
                                                    observed=y),
    "not linear": lambda X, y, b, s: ts.normal(np.exp(X @ b), s, observed=y),
    "truncated": lambda X, y, b, s: ts.normal(X @ b, s, truncation=(-100, None), observed=y),
    "student": lambda X, y, b, s: ts.student(3, X @ b, s, observed=y),
    "minibatch": lambda X, y, b, s: _minibatched(X, y, b, s),
    "unknown design": lambda X, y, b, s: ts.normal(
        (X + ts.normal(0, 1)) @ b, s, observed=y),
}


@pytest.mark.parametrize("case", list(LEFT_PER_ROW))
def test_terms_left_per_row(case: str) -> None:
    data = _data()
    beta = ts.normal(0, 1, dim=N_COLS)
    sigma = ts.variable(lower=0)
    LEFT_PER_ROW[case](data["X"], data["y"], beta, sigma)
    model = ts.model(beta, sigma)
    assert len(model.terms) == 2 + (case == "unknown per row") + (case == "unknown design")
    assert model.linear_gaussian == []


def test_columns_computed_from_data(rewrite_off: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """Designs that are expressions of data (a slice, a function of a column), a scalar
    mean (one column of ones) and a mean of data alone (no column); rows summed in
    blocks."""
    monkeypatch.setattr(linear_gaussian, "BLOCK_ROWS", 50)
    data = _data()

    def build() -> ts.Model:
        X = ts.as_data(data["X"])
        beta = ts.normal(0, 1, dim=N_COLS - 1)
        gamma = ts.normal(0, 1)
        sigma = ts.variable(lower=0)
        ts.normal(-(X[:, 1:] @ beta) + gamma * np.exp(X[:, 0] / 5), sigma, observed=data["y"])
        ts.normal(gamma, sigma, observed=data["x"])
        ts.normal(1.0, sigma, observed=data["offset"])
        return ts.model(beta, gamma, sigma)

    fast = build()
    with rewrite_off():
        rows = build()
    assert [r.n_columns for r in fast.linear_gaussian] == [N_COLS, 1, 0]
    values = {"beta": np.linspace(-1.0, 1.0, N_COLS - 1), "gamma": 0.3, "sigma": 2.1}
    np.testing.assert_allclose(fast.log_prob(values), rows.log_prob(values), rtol=1e-12)


def test_rewrite_switch_is_part_of_the_structure(rewrite_off: Any) -> None:
    data = _data()
    fast = _regression(data)
    with rewrite_off():
        rows = _regression(data)
    assert structure_key(fast) != structure_key(rows)  # no compiled function shared


def test_glm_gaussian_takes_the_rewrite() -> None:
    data = _data()
    df = pd.DataFrame({"y": data["y"], "a": data["X"][:, 0], "b": data["x"],
                       "g": np.arange(N_ROWS) % 5})
    assert [r.n_columns for r in ts.glm("y ~ a + b", df).linear_gaussian] == [3]
    # group intercepts gathered by g: their 5 one-hot columns (test_linear_gaussian_gathers)
    assert [r.n_columns for r in ts.glm("y ~ a + (1 | g)", df).linear_gaussian] == [7]


# --- the exact posterior of a conjugate regression -------------------------------------------

SIGMA, PRIOR_SD = 1.5, 2.0


@pytest.fixture(scope="module")
def conjugate() -> dict[str, Any]:
    rng = np.random.default_rng(11)
    X = rng.normal(size=(N_ROWS, 2)) @ np.array([[1.0, 0.9], [0.0, 0.4]])
    y = 1.0 + X @ np.array([0.5, -1.0]) + SIGMA * rng.normal(size=N_ROWS)
    alpha = ts.normal(0, PRIOR_SD)
    beta = ts.normal(0, PRIOR_SD, dim=2)
    ts.normal(alpha + X @ beta, SIGMA, observed=y)
    model = ts.model(alpha=alpha, beta=beta)
    assert len(model.linear_gaussian) == 1
    draws = ts.mcmc(model, n_samples=500, warmup=400, chains=4, seed=5, progress=False)
    Z = np.column_stack([np.ones(N_ROWS), X])
    cov = np.linalg.inv(Z.T @ Z / SIGMA**2 + np.eye(3) / PRIOR_SD**2)
    return {"draws": draws, "mean": cov @ Z.T @ y / SIGMA**2, "sd": np.sqrt(np.diag(cov)),
            "X": X, "y": y}


def test_conjugate_posterior(conjugate: dict[str, Any]) -> None:
    draws = conjugate["draws"]
    samples = np.concatenate([draws["alpha"][..., None], draws["beta"]], axis=-1)
    summary = draws.summary()
    ess = summary["ess_bulk"].to_numpy()
    mean, sd = samples.mean(axis=(0, 1)), samples.std(axis=(0, 1))
    assert np.all(ess > 300)
    np.testing.assert_array_less(np.abs(mean - conjugate["mean"]),
                                 4.0 * conjugate["sd"] / np.sqrt(ess))
    # the sd's Monte Carlo error is about sd / sqrt(2 ess)
    np.testing.assert_array_less(np.abs(sd - conjugate["sd"]),
                                 4.0 * conjugate["sd"] / np.sqrt(2.0 * ess))


def test_pointwise_log_likelihood_stays_per_row(conjugate: dict[str, Any]) -> None:
    draws = conjugate["draws"]
    log_lik, _ = pointwise_log_likelihood(draws)
    (values,) = log_lik.values()
    assert values.shape == (4, 500, N_ROWS)
    mean = draws["alpha"][0, :3, None] + draws["beta"][0, :3] @ conjugate["X"].T
    expected = scipy.stats.norm.logpdf(conjugate["y"], mean, SIGMA)
    np.testing.assert_allclose(values[0, :3], expected, rtol=1e-10)


def test_a_misspelt_switch_is_named_when_the_model_is_built(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ENVIRONMENT, "nope")
    with pytest.raises(ValueError, match=r"TFSTATS_SUFFICIENT_STATISTICS='nope'"):
        _regression(_data())
