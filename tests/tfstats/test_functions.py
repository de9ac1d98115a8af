"""Functions beside numpy's: scan (against numpy loops), links, joining and constants."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest
import scipy.special as sp
import scipy.stats as st

import tfstats as ts
from tfstats.backends import get_backend

E = np.array([0.5, -1.0, 0.3, 2.0, -0.4, 0.9])
Y_AR = np.array([0.4, -0.5, 0.1, 1.8, 0.6, 1.1])


def _ar1(rho: float, shocks: np.ndarray, start: float = 0.0) -> np.ndarray:
    out, previous = [], start
    for e in shocks:
        previous = rho * previous + e
        out.append(previous)
    return np.array(out)


def test_scan_ar1_matches_a_numpy_loop(evaluate: Callable) -> None:
    rho = ts.uniform(-1, 1)
    ar = ts.scan(lambda previous, e: rho * previous + e, E, 0.0)
    assert ar.shape == E.shape
    np.testing.assert_allclose(evaluate(ar, {rho: 0.6}), _ar1(0.6, E), rtol=1e-12)
    ts.normal(ar, 0.5, observed=Y_AR)
    m = ts.model(rho=rho)
    for r in (-0.3, 0.6):
        expected = np.log(0.5) + st.norm(_ar1(r, E), 0.5).logpdf(Y_AR).sum()
        np.testing.assert_allclose(m.log_prob({"rho": r}), expected, rtol=1e-12)


def test_scan_garch_matches_a_numpy_loop() -> None:
    returns = np.array([0.3, -1.1, 0.4, 2.2, -0.8, 0.1, 0.5])
    omega = ts.variable(lower=0)
    alpha = ts.uniform(0, 1)
    beta = ts.variable(lower=0, upper=1 - alpha)
    sigma2_0 = float(np.var(returns))
    # sigma2[t] = omega + alpha * r[t-1]^2 + beta * sigma2[t-1]
    previous_r2 = np.concatenate([[sigma2_0], returns[:-1] ** 2])
    sigma2 = ts.scan(lambda s2, r2: omega + alpha * r2 + beta * s2, previous_r2, sigma2_0)
    ts.normal(0, np.sqrt(sigma2), observed=returns)
    m = ts.model(omega=omega, alpha=alpha, beta=beta)

    o, a, b = 0.2, 0.3, 0.5
    s2, path = sigma2_0, []
    for r2 in previous_r2:
        s2 = o + a * r2 + b * s2
        path.append(s2)
    expected = st.norm(0, np.sqrt(path)).logpdf(returns).sum()  # flat priors otherwise
    np.testing.assert_allclose(m.log_prob({"omega": o, "alpha": a, "beta": b}), expected,
                               rtol=1e-12)


def test_scan_with_a_vector_state(evaluate: Callable) -> None:
    # AR(2) in companion form: state (y[t], y[t-1])
    phi = ts.normal(0, 1, dim=2)
    states = ts.scan(lambda s, e: ts.stack([phi[0] * s[0] + phi[1] * s[1] + e, s[0]]), E,
                     np.zeros(2))
    assert states.shape == (6, 2)
    p = np.array([0.5, -0.2])
    y, expected = [0.0, 0.0], []
    for e in E:
        y = [p[0] * y[0] + p[1] * y[1] + e, y[0]]
        expected.append(y)
    np.testing.assert_allclose(evaluate(states, {phi: p}), np.array(expected), rtol=1e-12)


def test_scan_uses_derived_arrays_and_data_of_the_model(evaluate: Callable) -> None:
    rho = ts.uniform(-1, 1)
    scale = np.exp(rho) * 2  # an expression of an unknown, made outside fn
    weights = ts.as_data(np.linspace(0.5, 1.5, 6))
    series = ts.scan(lambda s, x: (rho / 2) * s + scale * x, E * weights, 1.0)
    r = 0.4
    out, s = [], 1.0
    for x in E * np.linspace(0.5, 1.5, 6):
        s = (r / 2) * s + np.exp(r) * 2 * x
        out.append(s)
    np.testing.assert_allclose(evaluate(series, {rho: r}), out, rtol=1e-12)


def test_scan_inside_compiled_functions() -> None:
    rho = ts.uniform(-1, 1)
    ar = ts.scan(lambda previous, e: rho * previous + e, E, 0.5)
    ts.normal(ar, 0.5, observed=Y_AR)
    m = ts.model(rho=rho, ar=ar)
    B = get_backend()
    flats = np.array([[0.0], [1.2]])
    out = B.to_numpy(m.constrain_function()(B.convert(flats, m.float_dtype),
                                            *m.data_tensors()))
    assert out["ar"].shape == (2, 6)
    for rho_value, path in zip(out["rho"], out["ar"], strict=True):
        np.testing.assert_allclose(path, _ar1(rho_value, E, 0.5), rtol=1e-12)


def test_mcmc_runs_on_a_scan_model() -> None:
    rho = ts.uniform(-1, 1)
    ar = ts.scan(lambda previous, e: rho * previous + e, E, 0.0)
    ts.normal(ar, 0.5, observed=Y_AR)
    draws = ts.mcmc(ts.model(rho=rho), n_samples=20, warmup=20, chains=2, seed=1,
                    progress=False)
    assert draws["rho"].shape == (2, 20)
    assert np.all(np.abs(draws["rho"]) < 1)


def test_scan_errors() -> None:
    with pytest.raises(ts.ModelError, match=r"fn returned shape \(2,\).*initial\) has shape \(\)"):
        ts.scan(lambda s, x: ts.stack([s, x]), np.ones(3), 0.0)
    with pytest.raises(ts.ModelError, match="xs must have a leading"):
        ts.scan(lambda s, x: s + x, 1.0, 0.0)
    with pytest.raises(ts.ModelError, match="does not use its previous state or x_t"):
        ts.scan(lambda s, x: ts.normal(0, 1), np.ones(3), 0.0)


@pytest.mark.parametrize("lazy, reference", [
    (ts.ilogit, sp.expit),
    (ts.iprobit, st.norm.cdf),
    (ts.log1pe, lambda v: np.logaddexp(0, v)),
    (ts.lgamma, lambda v: sp.gammaln(v)),
    (lambda a: ts.logsumexp(a, axis=0, keepdims=True),
     lambda v: sp.logsumexp(v, axis=0, keepdims=True)),
    (ts.imultilogit, lambda v: sp.softmax(np.concatenate([v, np.zeros((2, 1))], axis=1), axis=1)),
])
def test_links_and_special_functions(lazy: Callable, reference: Callable,
                                     evaluate: Callable) -> None:
    x = ts.variable(dim=(2, 3))
    value = np.array([[-30.0, -1.5, 0.0], [0.7, 2.0, 35.0]])
    out = lazy(x)
    expected = reference(value)
    assert out.shape == expected.shape
    np.testing.assert_allclose(evaluate(out, {x: value}), expected, rtol=1e-10)


def test_linear_algebra(evaluate: Callable) -> None:
    L = ts.cholesky_variable(3)
    value = np.array([[1.5, 0.0, 0.0], [0.3, 0.8, 0.0], [-0.4, 0.2, 1.1]])
    sigma = L @ L.T
    b = np.array([1.0, -2.0, 0.5])
    checks = {
        ts.cholesky(sigma): value,
        ts.solve(sigma, b): np.linalg.solve(value @ value.T, b),
        ts.solve(L, np.eye(3)): np.linalg.inv(value),
        ts.inverse(sigma): np.linalg.inv(value @ value.T),
        ts.diag(L): np.diag(value),
        ts.diag(ts.diag(L)): np.diag(np.diag(value)),
        ts.outer(L[1], b): np.outer(value[1], b),
        np.linalg.det(sigma): np.linalg.det(value @ value.T),
    }
    for lazy, expected in checks.items():
        assert lazy.shape == np.shape(expected)
        np.testing.assert_allclose(evaluate(lazy, {L: value}), expected, rtol=1e-10, atol=1e-12)


def test_constants_and_joining(evaluate: Callable) -> None:
    assert ts.zeros(3).shape == (3,)
    assert ts.ones((2, 3)).shape == (2, 3)
    x = ts.variable(dim=2)
    joined = ts.concatenate([x, ts.zeros(1), ts.ones(2)])
    np.testing.assert_allclose(evaluate(joined, {x: np.array([4.0, 5.0])}), [4, 5, 0, 1, 1])
    stacked = ts.stack([x, x * 2], axis=1)
    assert stacked.shape == (2, 2)
    chosen = ts.where(x > 4.5, x, ts.zeros(2))
    np.testing.assert_allclose(evaluate(chosen, {x: np.array([4.0, 5.0])}), [0.0, 5.0])
    with pytest.raises(ts.ShapeError, match=r"stack: shapes \(2,\) and \(3,\) cannot be joined"):
        ts.stack([x, ts.zeros(3)])
