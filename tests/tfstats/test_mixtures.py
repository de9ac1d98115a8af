"""mixture() and joint(): densities against scipy, supports of mixture unknowns, errors."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest
import scipy.stats as st

import tfstats as ts
from tfstats.backends import get_backend

Y = np.array([-1.2, 0.3, 2.5, 3.1])


def test_mixture_likelihood_with_unknown_weights() -> None:
    mu = ts.normal(0, 5, dim=2)
    t = ts.uniform(0, 1)
    y = ts.mixture(ts.normal(mu[0], 1), ts.normal(mu[1], 2), weights=ts.stack([t, 1 - t]),
                   observed=Y)
    assert y.shape == Y.shape
    m = ts.model(mu=mu, t=t)
    assert m.variable_names == ["mu", "t"]  # components are not unknowns
    mv, tv = np.array([-0.5, 2.0]), 0.3
    expected = (np.log(tv * st.norm(mv[0], 1).pdf(Y) + (1 - tv) * st.norm(mv[1], 2).pdf(Y)).sum()
                + st.norm(0, 5).logpdf(mv).sum())
    np.testing.assert_allclose(m.log_prob({"mu": mv, "t": tv}), expected, rtol=1e-12)


def test_mixture_of_different_families_with_data_weights() -> None:
    mu = ts.normal(0, 5)
    ts.mixture(ts.normal(mu, 1), ts.student(3, 1.0, 2), ts.laplace(0, 3),
               weights=np.array([0.2, 0.5, 0.3]), observed=Y)
    m = ts.model(mu=mu)
    density = (0.2 * st.norm(0.4, 1).pdf(Y) + 0.5 * st.t(3, 1, 2).pdf(Y)
               + 0.3 * st.laplace(0, 3).pdf(Y))
    np.testing.assert_allclose(m.log_prob({"mu": 0.4}),
                               np.log(density).sum() + st.norm(0, 5).logpdf(0.4), rtol=1e-12)


def test_mixture_with_per_observation_weights() -> None:
    t = ts.uniform(0, 1, dim=4)
    ts.mixture(ts.normal(0, 1), ts.normal(3, 1), weights=ts.stack([t, 1 - t], axis=-1),
               observed=Y)
    m = ts.model(t=t)
    tv = np.array([0.1, 0.4, 0.6, 0.9])
    expected = np.log(tv * st.norm(0, 1).pdf(Y) + (1 - tv) * st.norm(3, 1).pdf(Y)).sum()
    np.testing.assert_allclose(m.log_prob({"t": tv}), expected, rtol=1e-12)


def test_mixture_of_discrete_distributions() -> None:
    counts = np.array([0, 0, 3, 7, 1])
    lam = ts.gamma(2, 0.5)
    ts.mixture(ts.poisson(0.01), ts.poisson(lam), weights=np.array([0.3, 0.7]), observed=counts)
    m = ts.model(lam=lam)
    expected = (np.log(0.3 * st.poisson(0.01).pmf(counts) + 0.7 * st.poisson(3.0).pmf(counts))
                .sum() + st.gamma(2, scale=2).logpdf(3.0))
    np.testing.assert_allclose(m.log_prob({"lam": 3.0}), expected, rtol=1e-12)


def test_truncated_components() -> None:
    s = ts.variable(lower=0)
    ts.mixture(ts.normal(0, s, truncation=(0, None)), ts.exponential(2),
               weights=np.array([0.4, 0.6]), observed=np.abs(Y))
    m = ts.model(s=s)
    density = 0.4 * st.halfnorm(scale=1.5).pdf(np.abs(Y)) + 0.6 * st.expon(scale=0.5).pdf(
        np.abs(Y))
    np.testing.assert_allclose(m.log_prob({"s": 1.5}), np.log(density).sum(), rtol=1e-12)


def test_component_truncated_at_an_unknown() -> None:
    # the unknown bound ties the mixture term to the model
    u = ts.uniform(1, 3)
    y = np.array([0.5, 1.5])
    ts.mixture(ts.normal(0, 1, truncation=(0, u)), ts.exponential(1),
               weights=np.array([0.5, 0.5]), observed=y)
    m = ts.model(u=u)
    expected = np.log(0.5 * st.truncnorm(0, 2).pdf(y) + 0.5 * st.expon().pdf(y)).sum()
    np.testing.assert_allclose(m.log_prob({"u": 2.0}), expected + np.log(0.5), rtol=1e-12)


def _constrain(m: ts.Model, array: object, flat: np.ndarray) -> np.ndarray:
    B = get_backend()
    ev = m.evaluator(m.data_tensors(), flat=B.convert(flat, m.float_dtype))
    return np.asarray(B.to_numpy(ev(array)))


def test_mixture_unknown() -> None:
    x = ts.mixture(ts.normal(0, 1), ts.normal(3, 1), weights=np.array([0.3, 0.7]))
    m = ts.model(x=x)
    expected = np.log(0.3 * st.norm(0, 1).pdf(1.0) + 0.7 * st.norm(3, 1).pdf(1.0))
    np.testing.assert_allclose(m.log_prob({"x": 1.0}), expected, rtol=1e-12)


def test_mixture_unknown_has_the_union_of_the_supports() -> None:
    x = ts.mixture(ts.uniform(0, 1), ts.uniform(0.5, 5), weights=np.array([0.5, 0.5]))
    m = ts.model(x=x)
    values = [_constrain(m, x, np.array([u])) for u in np.linspace(-6, 6, 25)]
    assert min(values) > 0 and max(values) < 5
    assert max(values) > 4  # not squeezed into the first component's (0, 1)
    np.testing.assert_allclose(m.log_prob({"x": 3.0}), np.log(0.5 / 4.5), rtol=1e-12)
    np.testing.assert_allclose(m.log_prob({"x": 0.7}), np.log(0.5 + 0.5 / 4.5), rtol=1e-12)


def test_joint_likelihood() -> None:
    mu = ts.normal(0, 5)
    observed = np.array([[0.1, 2.0], [-0.3, 0.5]])
    ts.joint(ts.normal(mu, 1), ts.exponential(2), observed=observed)
    m = ts.model(mu=mu)
    expected = (st.norm(0, 5).logpdf(0.4) + st.norm(0.4, 1).logpdf(observed[:, 0]).sum()
                + st.expon(scale=0.5).logpdf(observed[:, 1]).sum())
    np.testing.assert_allclose(m.log_prob({"mu": 0.4}), expected, rtol=1e-12)


def test_joint_unknown_with_one_support_per_column() -> None:
    x = ts.joint(ts.uniform(0, 1), ts.uniform(-2, 5), ts.beta(2, 2))
    assert x.shape == (3,)
    m = ts.model(x=x)
    rng = np.random.default_rng(5)
    for _ in range(5):
        value = _constrain(m, x, rng.normal(scale=3, size=3))
        assert 0 < value[0] < 1 and -2 < value[1] < 5 and 0 < value[2] < 1
    value = np.array([0.5, 3.0, 0.3])
    expected = np.log(1.0) + np.log(1 / 7) + st.beta(2, 2).logpdf(0.3)
    np.testing.assert_allclose(m.log_prob({"x": value}), expected, rtol=1e-12)


def test_joint_unknown_of_real_components() -> None:
    x = ts.joint(ts.normal(0, 1), ts.logistic(1, 2))
    m = ts.model(x=x)
    expected = st.norm(0, 1).logpdf(0.3) + st.logistic(1, 2).logpdf(-0.4)
    np.testing.assert_allclose(m.log_prob({"x": [0.3, -0.4]}), expected, rtol=1e-12)


@pytest.mark.parametrize("call, error, message", [
    (lambda: ts.mixture(ts.normal(0, 1), weights=[1.0]), ts.ModelError,
     "needs at least two distributions"),
    (lambda: ts.mixture(ts.normal(0, 1), ts.normal(1, 1), weights=[0.5, 0.6], observed=[1.0]),
     ts.ModelError, "mixture: weights must be non-negative and sum to 1"),
    (lambda: ts.mixture(ts.normal(0, 1), ts.normal(1, 1), weights=[0.2, 0.3, 0.5],
                        observed=[1.0]), ts.ShapeError,
     r"weights of shape \(3,\) need a last axis of 2"),
    (lambda: ts.mixture(ts.normal(0, 1), ts.variable(), weights=[0.5, 0.5]), ts.ModelError,
     "takes distributions called without observed="),
    (lambda: ts.mixture(ts.normal(0, 1), 3.0, weights=[0.5, 0.5]), ts.ModelError,
     "takes distributions"),
    (lambda: ts.mixture(ts.dirichlet(np.ones(2)), ts.dirichlet(np.ones(2)), weights=[0.5, 0.5]),
     ts.ModelError, "univariate distributions, not dirichlet"),
    (lambda: ts.mixture(ts.normal(0, 1, dim=3), ts.normal(0, 1), weights=[0.5, 0.5],
                        observed=np.ones(2)), ts.ShapeError, r"\(3,\)"),
    (lambda: ts.mixture(ts.poisson(1), ts.poisson(2), weights=[0.5, 0.5]), ts.ModelError,
     "of discrete distributions can only be a likelihood"),
    (lambda: ts.mixture(ts.normal(0, 1), ts.gamma(1, 1), weights=[0.5, 0.5]), ts.ModelError,
     "all have a lower bound or none"),
    (lambda: ts.joint(ts.normal(0, 1), ts.exponential(1)), ts.ModelError,
     "all have a lower bound or none"),
    (lambda: ts.joint(ts.normal(0, 1), ts.normal(0, 1), observed=np.ones((2, 3))),
     ts.ShapeError, r"observed of shape \(2, 3\) needs a last axis of 2"),
])
def test_invalid_mixtures(call: Callable, error: type, message: str) -> None:
    with pytest.raises(error, match=message):
        call()
