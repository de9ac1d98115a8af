"""Unknowns: bounds, constrained supports, their transformations and Jacobians."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
import scipy.stats as st

import tfstats as ts
from tfstats.arrays import Variable
from tfstats.backends import get_backend


def _constrain(m: ts.Model, array: Any, flat: np.ndarray) -> np.ndarray:
    """An array of model ``m`` at the unconstrained vector ``flat`` (eagerly)."""
    B = get_backend()
    ev = m.evaluator(m.data_tensors(), flat=B.convert(flat, m.float_dtype))
    return np.asarray(B.to_numpy(ev(array)))


def _log_jacobian(m: ts.Model, flat: np.ndarray) -> float:
    B = get_backend()
    u = B.convert(flat, m.float_dtype)
    adjusted = m.log_density(u, m.data_tensors(), adjust=True)
    return float(B.to_numpy(adjusted - m.log_density(u, m.data_tensors(), adjust=False)))


def _tril(k: int) -> Callable[[np.ndarray], np.ndarray]:
    return lambda x: x[np.tril_indices(x.shape[-1], k)]


# (unknown, its free coordinates: the ones its density is over, a support check)
CONSTRAINED: dict[str, tuple[Callable[[], Any], Callable, Callable]] = {
    "lower": (lambda: ts.variable(lower=1.0, dim=3), lambda x: x, lambda x: np.all(x > 1)),
    "upper": (lambda: ts.variable(upper=np.array([1.0, -2.0, 0.0])), lambda x: x,
              lambda x: np.all(x < [1, -2, 0])),
    "interval": (lambda: ts.variable(lower=-1.0, upper=np.array([2.0, 3.0]), dim=2),
                 lambda x: x, lambda x: np.all((x > -1) & (x < [2, 3]))),
    "unbounded": (lambda: ts.variable(dim=2), lambda x: x, lambda x: True),
    "simplex": (lambda: ts.simplex_variable(4), lambda x: x[:-1],
                lambda x: np.all(x > 0) and np.isclose(x.sum(), 1)),
    "simplex_rows": (lambda: ts.simplex_variable((2, 3)), lambda x: x[:, :-1].ravel(),
                     lambda x: np.all(x > 0) and np.allclose(x.sum(axis=1), 1)),
    "ordered": (lambda: ts.ordered_variable(4), lambda x: x, lambda x: np.all(np.diff(x) > 0)),
    "cholesky": (lambda: ts.cholesky_variable(3), _tril(0),
                 lambda x: np.allclose(np.triu(x, 1), 0) and np.all(np.diag(x) > 0)),
    "correlation_cholesky": (lambda: ts.cholesky_variable(3, correlation=True), _tril(-1),
                             lambda x: np.allclose(np.triu(x, 1), 0)
                             and np.allclose(np.sum(x**2, axis=1), 1)),
    "positive": (lambda: ts.gamma(2, 1, dim=2), lambda x: x, lambda x: np.all(x > 0)),
    "unit": (lambda: ts.beta(2, 2), lambda x: x, lambda x: 0 < x < 1),
    "uniform": (lambda: ts.uniform(-2, 5, dim=2), lambda x: x,
                lambda x: np.all((x > -2) & (x < 5))),
    "pareto": (lambda: ts.pareto(2, 1.5), lambda x: x, lambda x: x > 1.5),
    "truncated": (lambda: ts.normal(0, 1, truncation=(0.5, 2)), lambda x: x,
                  lambda x: 0.5 < x < 2),
    "dirichlet": (lambda: ts.dirichlet(np.ones(3)), lambda x: x[:-1],
                  lambda x: np.all(x > 0) and np.isclose(x.sum(), 1)),
    "lkj_2": (lambda: ts.lkj_correlation(2.0, 2), _tril(-1),
              lambda x: np.allclose(np.diag(x), 1) and abs(x[0, 1]) < 1),
    "lkj_4": (lambda: ts.lkj_correlation(2.0, 4), _tril(-1),
              lambda x: np.allclose(np.diag(x), 1) and np.allclose(x, x.T)
              and np.all(np.linalg.eigvalsh(x) > 0)),
    "wishart": (lambda: ts.wishart(4, np.eye(3)), _tril(0),
                lambda x: np.allclose(x, x.T) and np.all(np.linalg.eigvalsh(x) > 0)),
}


@pytest.mark.parametrize("name", list(CONSTRAINED))
def test_constrained_values_lie_in_the_support(name: str) -> None:
    make, _, in_support = CONSTRAINED[name]
    x = make()
    ts.normal(np.sum(x), 10.0, observed=0.0)  # a density that uses x
    m = ts.model(x=x)
    rng = np.random.default_rng(1)
    for _ in range(3):
        value = _constrain(m, x, rng.normal(scale=1.5, size=m.n_free))
        assert value.shape == x.shape
        assert in_support(value)
    # unconstrain is the inverse of constrain
    value = _constrain(m, x, rng.normal(size=m.n_free))
    np.testing.assert_allclose(_constrain(m, x, m.unconstrain({"x": value})), value,
                               rtol=1e-8, atol=1e-10)


@pytest.mark.parametrize("name", list(CONSTRAINED))
def test_log_jacobian_matches_finite_differences(name: str) -> None:
    """The adjusted density adds log |det J| of the map from the free vector to the
    unknown's free coordinates (what its density is over)."""
    make, coordinates, _ = CONSTRAINED[name]
    x = make()
    ts.normal(np.sum(x), 10.0, observed=0.0)
    m = ts.model(x=x)
    u = np.random.default_rng(2).normal(scale=0.7, size=m.n_free)
    h = 1e-6

    def free(v: np.ndarray) -> np.ndarray:
        return np.atleast_1d(coordinates(_constrain(m, x, v)))

    columns = [(free(u + h * e) - free(u - h * e)) / (2 * h) for e in np.eye(m.n_free)]
    jacobian = np.stack(columns, axis=1)
    assert jacobian.shape == (m.n_free, m.n_free)
    np.testing.assert_allclose(_log_jacobian(m, u), np.linalg.slogdet(jacobian)[1], atol=1e-6)


def test_bound_that_is_another_unknown() -> None:
    a = ts.uniform(0, 1)
    b = ts.variable(lower=0, upper=1 - a)
    assert b.shape == ()
    assert a in b.variables
    ts.normal(a + b, 1, observed=np.array([0.2, 0.9]))
    m = ts.model(a=a, b=b)
    assert m.variable_names == ["a", "b"]
    np.testing.assert_allclose(m.log_prob({"a": 0.3, "b": 0.4}),
                               st.norm(0.7, 1).logpdf([0.2, 0.9]).sum(), rtol=1e-12)
    rng = np.random.default_rng(3)
    for _ in range(5):
        u = rng.normal(scale=2, size=2)
        av, bv = _constrain(m, a, u), _constrain(m, b, u)
        assert 0 < av < 1 and 0 < bv < 1 - av
    # the joint Jacobian is triangular: d a / d u0 times d b / d u1
    u = np.array([0.3, -0.8])
    h = 1e-6
    da = (_constrain(m, a, u + [h, 0]) - _constrain(m, a, u - [h, 0])) / (2 * h)
    db = (_constrain(m, b, u + [0, h]) - _constrain(m, b, u - [0, h])) / (2 * h)
    np.testing.assert_allclose(_log_jacobian(m, u), np.log(da * db), atol=1e-6)


def test_vector_bounds_from_unknowns() -> None:
    low = ts.normal(0, 1, dim=3)
    x = ts.variable(lower=low, upper=low + 2)
    assert x.shape == (3,)
    ts.normal(x, 1, observed=np.zeros(3))
    m = ts.model(low=low, x=x)
    u = np.random.default_rng(4).normal(size=6)
    lv, xv = _constrain(m, low, u), _constrain(m, x, u)
    assert np.all((xv > lv) & (xv < lv + 2))


def test_shapes() -> None:
    assert ts.variable().shape == ()
    assert ts.variable(dim=3).shape == (3,)
    assert ts.variable(dim=(2, 3)).shape == (2, 3)
    assert ts.variable(lower=np.zeros(4)).shape == (4,)
    assert ts.variable(lower=np.zeros(3), upper=1, dim=(2, 3)).shape == (2, 3)
    assert ts.ordered_variable(dim=(2, 3)).shape == (2, 3)
    assert ts.simplex_variable(4).shape == (4,)
    assert ts.cholesky_variable(3).shape == (3, 3)
    assert isinstance(ts.variable(), Variable)


@pytest.mark.parametrize("call, error, message", [
    (lambda: ts.variable(lower=np.zeros(3), dim=2), ts.ModelError,
     r"bounds of shape \(3,\) do not fit dim \(2,\)"),
    (lambda: ts.variable(lower=np.zeros((2, 1)), dim=3), ts.ModelError,
     r"bounds of shape \(2, 1\) do not fit dim \(3,\)"),
    (lambda: ts.variable(lower=np.zeros(3), upper=np.ones(2)), ts.ModelError,
     r"\(3,\) and \(2,\) do not broadcast"),
    (lambda: ts.variable(lower=1, upper=0), ts.ModelError, "lower bound must be below"),
    (lambda: ts.variable(lower=np.array([0.0, -np.inf])), ts.ModelError,
     "lower bound mixes finite and infinite"),
    (lambda: ts.variable(upper=np.nan), ts.ModelError, "upper bound is NaN"),
    (lambda: ts.variable(dim=0), ts.ModelError, "dim must be a positive int"),
    (lambda: ts.variable(dim=2.5), ts.ModelError, "dim must be a positive int"),
    (lambda: ts.ordered_variable(None), ts.ModelError, "ordered_variable needs dim="),
    (lambda: ts.simplex_variable(1), ts.ModelError, "at least 2 elements"),
    (lambda: ts.cholesky_variable(1), ts.ModelError, "cholesky_variable needs an int dim >= 2"),
])
def test_invalid_unknowns(call: Callable, error: type, message: str) -> None:
    with pytest.raises(error, match=message):
        call()
