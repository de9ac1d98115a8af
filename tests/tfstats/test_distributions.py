"""Distributions: log densities against scipy.stats, in greta's parameterisations.

``Model.log_prob`` takes constrained values and adds no Jacobian, so a prior's log
density at a value, or a likelihood's at its data, must equal scipy's.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
import scipy.special as sp
import scipy.stats as st

import tfstats as ts

X3 = np.array([0.3, 1.7, 2.4])
UNIT3 = np.array([0.2, 0.55, 0.9])

# (tfstats prior of shape (3,), scipy log density, values)
PRIORS: dict[str, tuple[Callable[[], Any], Callable, np.ndarray]] = {
    "normal": (lambda: ts.normal(1, 2, dim=3), st.norm(1, 2).logpdf, X3 - 1),
    "lognormal": (lambda: ts.lognormal(0.2, 0.7, dim=3),
                  st.lognorm(0.7, scale=np.exp(0.2)).logpdf, X3),
    "student": (lambda: ts.student(4, 1, 2, dim=3), st.t(4, 1, 2).logpdf, X3 - 1),
    "cauchy": (lambda: ts.cauchy(1, 2, dim=3), st.cauchy(1, 2).logpdf, X3),
    "laplace": (lambda: ts.laplace(1, 2, dim=3), st.laplace(1, 2).logpdf, X3),
    "logistic": (lambda: ts.logistic(1, 2, dim=3), st.logistic(1, 2).logpdf, X3),
    "uniform": (lambda: ts.uniform(-1, 3, dim=3), st.uniform(-1, 4).logpdf, X3),
    "exponential": (lambda: ts.exponential(1.5, dim=3), st.expon(scale=1 / 1.5).logpdf, X3),
    "gamma": (lambda: ts.gamma(2, 3, dim=3), st.gamma(2, scale=1 / 3).logpdf, X3),
    "inverse_gamma": (lambda: ts.inverse_gamma(2, 3, dim=3), st.invgamma(2, scale=3).logpdf,
                      X3),
    "weibull": (lambda: ts.weibull(1.5, 2, dim=3), st.weibull_min(1.5, scale=2).logpdf, X3),
    "pareto": (lambda: ts.pareto(3, 0.25, dim=3), st.pareto(3, scale=0.25).logpdf, X3),
    "beta": (lambda: ts.beta(2, 3, dim=3), st.beta(2, 3).logpdf, UNIT3),
    "chi_squared": (lambda: ts.chi_squared(3, dim=3), st.chi2(3).logpdf, X3),
    "f": (lambda: ts.f(4, 7, dim=3), st.f(4, 7).logpdf, X3),
    "normal_vector_params": (lambda: ts.normal(np.array([0.0, 1.0, 2.0]), np.array([1, 2, 3])),
                             st.norm([0, 1, 2], [1, 2, 3]).logpdf, X3),
    "gamma_matrix": (lambda: ts.gamma(np.array([1.0, 2.0]), 3, dim=(3, 2)),
                     st.gamma(np.array([1.0, 2.0]), scale=1 / 3).logpdf,
                     np.outer(X3, [1.0, 0.5])),
    # truncated
    "normal_truncated": (lambda: ts.normal(1, 2, dim=3, truncation=(0, 3)),
                         st.truncnorm(-0.5, 1, loc=1, scale=2).logpdf, X3),
    "normal_truncated_below": (lambda: ts.normal(1, 2, dim=3, truncation=(0.2, None)),
                               st.truncnorm(-0.4, np.inf, loc=1, scale=2).logpdf, X3),
    "normal_truncated_above": (lambda: ts.normal(1, 2, dim=3, truncation=(None, 3)),
                               st.truncnorm(-np.inf, 1, loc=1, scale=2).logpdf, X3),
    "half_cauchy": (lambda: ts.cauchy(0, 2, dim=3, truncation=(0, None)),
                    st.halfcauchy(scale=2).logpdf, X3),
    "half_normal": (lambda: ts.normal(0, 2, dim=3, truncation=(0, np.inf)),
                    st.halfnorm(scale=2).logpdf, X3),
    "gamma_truncated": (lambda: ts.gamma(2, 3, dim=3, truncation=(None, 3)),
                        lambda v: st.gamma(2, scale=1 / 3).logpdf(v)
                        - st.gamma(2, scale=1 / 3).logcdf(3), X3),
    "student_truncated": (lambda: ts.student(3, 0, 1, dim=3, truncation=(0.1, 2.5)),
                          lambda v: st.t(3).logpdf(v)
                          - np.log(st.t(3).cdf(2.5) - st.t(3).cdf(0.1)), X3),
}


@pytest.mark.parametrize("name", list(PRIORS))
def test_prior_log_density_matches_scipy(name: str) -> None:
    make, logpdf, values = PRIORS[name]
    x = make()
    assert x.shape == values.shape
    m = ts.model(x=x)
    np.testing.assert_allclose(m.log_prob({"x": values}), np.sum(logpdf(values)), rtol=1e-10)


def _expit(v: np.ndarray) -> np.ndarray:
    return sp.expit(v)


Y_BINARY = np.array([0, 1, 1, 0, 1])
Y_COUNT = np.array([0, 3, 5, 10])
Y_LABEL = np.array([0, 2, 1, 2])
Y_MULTI = np.array([[1, 2, 3], [0, 0, 6]])
ETA = np.array([-1.0, 0.4, 2.0, 0.0])


def _three(p: Any) -> Any:
    return ts.stack([p, 0.5 * (1 - p), 0.5 * (1 - p)])


# (likelihood of the unknown p ~ uniform(0, 1), scipy log likelihood at p)
LIKELIHOODS: dict[str, tuple[Callable[[Any], Any], Callable[[float], float]]] = {
    "bernoulli": (lambda p: ts.bernoulli(p, observed=Y_BINARY),
                  lambda p: st.bernoulli(p).logpmf(Y_BINARY).sum()),
    "bernoulli_bool": (lambda p: ts.bernoulli(p, observed=Y_BINARY.astype(bool)),
                       lambda p: st.bernoulli(p).logpmf(Y_BINARY).sum()),
    "binomial": (lambda p: ts.binomial(10, p, observed=Y_COUNT),
                 lambda p: st.binom(10, p).logpmf(Y_COUNT).sum()),
    "binomial_sizes": (lambda p: ts.binomial(np.array([1, 4, 6, 12]), p, observed=Y_COUNT),
                       lambda p: st.binom([1, 4, 6, 12], p).logpmf(Y_COUNT).sum()),
    # R / greta: failures before `size` successes, success probability `prob`
    "negative_binomial": (lambda p: ts.negative_binomial(3.5, p, observed=Y_COUNT),
                          lambda p: st.nbinom(3.5, p).logpmf(Y_COUNT).sum()),
    "poisson": (lambda p: ts.poisson(10 * p, observed=Y_COUNT),
                lambda p: st.poisson(10 * p).logpmf(Y_COUNT).sum()),
    "beta_binomial": (lambda p: ts.beta_binomial(10, 5 * p, 2.0, observed=Y_COUNT),
                      lambda p: st.betabinom(10, 5 * p, 2.0).logpmf(Y_COUNT).sum()),
    # R's dhyper(x, m, n, k): m white, n black, k drawn; n is made to depend on p, with no
    # effect on its value, so that the term belongs to the model
    "hypergeometric": (lambda p: ts.hypergeometric(5, 7 + 0 * p, 4,
                                                   observed=np.array([0, 2, 3, 4])),
                       lambda p: st.hypergeom(12, 5, 4).logpmf([0, 2, 3, 4]).sum()),
    "categorical": (lambda p: ts.categorical(_three(p), observed=Y_LABEL),
                    lambda p: np.log(np.array([p, (1 - p) / 2, (1 - p) / 2]))[Y_LABEL].sum()),
    "multinomial": (lambda p: ts.multinomial(6, _three(p), observed=Y_MULTI),
                    lambda p: st.multinomial(6, [p, (1 - p) / 2, (1 - p) / 2])
                    .logpmf(Y_MULTI).sum()),
    "dirichlet_multinomial": (lambda p: ts.dirichlet_multinomial(
        6, ts.stack([p, 1.0, 2.0]), observed=Y_MULTI),
        lambda p: st.dirichlet_multinomial([p, 1, 2], 6).logpmf(Y_MULTI).sum()),
    # continuous likelihoods with an unknown parameter
    "normal": (lambda p: ts.normal(p, 0.5, observed=ETA),
               lambda p: st.norm(p, 0.5).logpdf(ETA).sum()),
    "exponential": (lambda p: ts.exponential(p, observed=Y_COUNT),
                    lambda p: st.expon(scale=1 / p).logpdf(Y_COUNT).sum()),
    "beta": (lambda p: ts.beta(p, 2, observed=UNIT3),
             lambda p: st.beta(p, 2).logpdf(UNIT3).sum()),
    "uniform": (lambda p: ts.uniform(-p, 3, observed=X3),
                lambda p: st.uniform(-p, 3 + p).logpdf(X3).sum()),
    "lognormal_sd": (lambda p: ts.lognormal(0, p, observed=X3),
                     lambda p: st.lognorm(p).logpdf(X3).sum()),
    # the logit / log fast paths
    "bernoulli_ilogit": (lambda p: ts.bernoulli(ts.ilogit(ETA * p), observed=Y_BINARY[:4]),
                         lambda p: st.bernoulli(_expit(ETA * p)).logpmf(Y_BINARY[:4]).sum()),
    "binomial_ilogit": (lambda p: ts.binomial(10, ts.ilogit(ETA * p), observed=Y_COUNT),
                        lambda p: st.binom(10, _expit(ETA * p)).logpmf(Y_COUNT).sum()),
    "poisson_exp": (lambda p: ts.poisson(np.exp(ETA * p), observed=Y_COUNT),
                    lambda p: st.poisson(np.exp(ETA * p)).logpmf(Y_COUNT).sum()),
    "categorical_imultilogit": (
        lambda p: ts.categorical(ts.imultilogit(np.outer(ETA, [1.0, -0.5]) * p),
                                 observed=Y_LABEL),
        lambda p: np.log(sp.softmax(np.column_stack(
            [np.outer(ETA, [1.0, -0.5]) * p, np.zeros(4)]), axis=1))[np.arange(4), Y_LABEL]
        .sum()),
}


@pytest.mark.parametrize("name", list(LIKELIHOODS))
def test_likelihood_log_density_matches_scipy(name: str) -> None:
    make, reference = LIKELIHOODS[name]
    p = ts.uniform(0, 1)  # log density 0 on (0, 1)
    make(p)
    m = ts.model(p=p)
    for value in (0.3, 0.8):
        np.testing.assert_allclose(m.log_prob({"p": value}), reference(value), rtol=1e-10)


@pytest.mark.parametrize("make, family", [
    (lambda eta, y: ts.bernoulli(ts.ilogit(eta), observed=y), "bernoulli_logit"),
    (lambda eta, y: ts.binomial(3, ts.ilogit(eta), observed=y), "binomial_logit"),
    (lambda eta, y: ts.poisson(np.exp(eta), observed=y), "poisson_log"),
])
def test_link_fast_paths_are_used_and_stay_finite(make: Callable, family: str) -> None:
    # at |eta| = 40, exp / ilogit round to 0, 1 or a huge number in float64: only the
    # logit / log scale gives the exact log likelihood
    b = ts.variable()
    eta = b * np.array([1.0, -1.0])
    y = np.array([0, 1])
    make(eta, y)
    m = ts.model(b=b)
    assert [t.family.name for t in m.terms] == [family]
    got = m.log_prob({"b": 40.0})
    if family == "bernoulli_logit":
        expected = -np.logaddexp(0, 40) * 2
    elif family == "binomial_logit":
        # y = 0 at eta = 40: 3 log(1 - p); y = 1 at eta = -40: log 3 + log p + 2 log(1 - p)
        expected = (-3 * np.logaddexp(0, 40) + np.log(3) - np.logaddexp(0, 40)
                    - 2 * np.logaddexp(0, -40))
    else:
        expected = -np.exp(40.0) + (-40.0 - np.exp(-40.0))
    assert np.isfinite(got)
    np.testing.assert_allclose(got, expected, rtol=1e-12)


def test_categorical_imultilogit_is_evaluated_on_the_logit_scale() -> None:
    b = ts.variable()
    ts.categorical(ts.imultilogit(b * np.array([[1.0, 0.0], [0.0, -1.0]])),
                   observed=np.array([2, 1]))
    m = ts.model(b=b)
    assert [t.family.name for t in m.terms] == ["categorical_logit"]
    # row 0: logits (800, 0, 0), label 2; row 1: logits (0, -800, 0), label 1
    expected = -800.0 + (-800.0 - np.log(2))
    np.testing.assert_allclose(m.log_prob({"b": 800.0}), expected, rtol=1e-12)


S3 = np.array([[2.0, 0.5, 0.1], [0.5, 1.0, 0.3], [0.1, 0.3, 1.5]])


def test_dirichlet() -> None:
    alpha = np.array([1.5, 2.0, 3.0])
    w = ts.dirichlet(alpha, dim=2)
    assert w.shape == (2, 3)
    values = np.array([[0.2, 0.3, 0.5], [0.1, 0.1, 0.8]])
    expected = sum(st.dirichlet(alpha).logpdf(v) for v in values)
    np.testing.assert_allclose(ts.model(w=w).log_prob({"w": values}), expected, rtol=1e-10)


def test_multivariate_normal_likelihood_and_prior() -> None:
    Y = np.array([[0.1, 0.2, -0.3], [1.0, -1.0, 0.5]])
    mu = ts.normal(0, 1, dim=3)
    ts.multivariate_normal(mu, S3, observed=Y)
    value = np.array([0.2, -0.1, 0.3])
    expected = st.norm(0, 1).logpdf(value).sum() + st.multivariate_normal(value, S3).logpdf(
        Y).sum()
    np.testing.assert_allclose(ts.model(mu=mu).log_prob({"mu": value}), expected, rtol=1e-10)

    x = ts.multivariate_normal(np.zeros(3), S3, dim=2)
    assert x.shape == (2, 3)
    expected = st.multivariate_normal(np.zeros(3), S3).logpdf(Y).sum()
    np.testing.assert_allclose(ts.model(x=x).log_prob({"x": Y}), expected, rtol=1e-10)


def test_multivariate_normal_with_unknown_covariance() -> None:
    Y = np.array([[0.1, 0.2], [1.0, -1.0], [0.4, 0.9]])
    sd = ts.variable(lower=0, dim=2)
    rho = ts.uniform(-1, 1)
    corr = ts.stack([ts.stack([1.0, rho]), ts.stack([rho, 1.0])])
    ts.multivariate_normal(np.zeros(2), corr * ts.outer(sd, sd), observed=Y)
    m = ts.model(sd=sd, rho=rho)
    s, r = np.array([0.8, 1.5]), -0.4
    sigma = np.array([[1, r], [r, 1]]) * np.outer(s, s)
    expected = np.log(0.5) + st.multivariate_normal(np.zeros(2), sigma).logpdf(Y).sum()
    np.testing.assert_allclose(m.log_prob({"sd": s, "rho": r}), expected, rtol=1e-10)


def test_wishart() -> None:
    W = ts.wishart(5, S3)
    assert W.shape == (3, 3)
    V = np.array([[3.0, 0.4, 0.2], [0.4, 2.0, 0.1], [0.2, 0.1, 4.0]])
    np.testing.assert_allclose(ts.model(W=W).log_prob({"W": V}), st.wishart(5, S3).logpdf(V),
                               rtol=1e-10)


def _lkj_log_density(R: np.ndarray, eta: float) -> float:
    """LKJ (Lewandowski, Kurowicka and Joe 2009): c_d det(R)^(eta - 1), with
    log c_d = -sum_{k=1}^{d-1} [(2 eta - 2 + d - k)(d - k) log 2
                                + (d - k) log B(eta + (d - k - 1)/2, eta + (d - k - 1)/2)]."""
    d = R.shape[0]
    log_c = 0.0
    for k in range(1, d):
        b = eta + (d - 1 - k) / 2
        log_c -= (2 * eta - 2 + d - k) * (d - k) * np.log(2) + (d - k) * sp.betaln(b, b)
    return float((eta - 1) * np.linalg.slogdet(R)[1] + log_c)


@pytest.mark.parametrize("eta, R", [
    (2.5, np.array([[1.0, 0.3], [0.3, 1.0]])),
    (0.7, np.array([[1.0, -0.8], [-0.8, 1.0]])),
    (2.5, np.array([[1, 0.3, -0.2], [0.3, 1, 0.4], [-0.2, 0.4, 1]])),
    (1.0, np.array([[1, 0.3, -0.2], [0.3, 1, 0.4], [-0.2, 0.4, 1]])),
])
def test_lkj_correlation_matches_its_formula(eta: float, R: np.ndarray) -> None:
    d = R.shape[0]
    corr = ts.lkj_correlation(eta, d)
    assert corr.shape == (d, d)
    got = ts.model(corr=corr).log_prob({"corr": R})
    np.testing.assert_allclose(got, _lkj_log_density(R, eta), rtol=1e-10)
    if d == 2:  # the correlation r is 2 * Beta(eta, eta) - 1
        r = R[0, 1]
        np.testing.assert_allclose(got, st.beta(eta, eta).logpdf((r + 1) / 2) - np.log(2),
                                   rtol=1e-10)


def test_truncation_bounds_may_be_unknowns() -> None:
    upper = ts.uniform(1, 4)
    x = ts.normal(0, 1, truncation=(0, upper))
    m = ts.model(x=x, upper=upper)
    expected = st.truncnorm(0, 2.5).logpdf(0.7) + st.uniform(1, 3).logpdf(2.5)
    np.testing.assert_allclose(m.log_prob({"x": 0.7, "upper": 2.5}), expected, rtol=1e-10)


def test_truncation_bounds_may_be_arrays() -> None:
    lower = np.array([-1.0, 0.0, 0.5])
    x = ts.normal(0, 1, truncation=(lower, None))
    assert x.shape == (3,)
    value = np.array([0.1, 0.2, 0.6])
    expected = sum(st.truncnorm(a, np.inf).logpdf(v) for a, v in zip(lower, value, strict=True))
    np.testing.assert_allclose(ts.model(x=x).log_prob({"x": value}), expected, rtol=1e-10)


def test_observed_may_be_a_model_array() -> None:
    # y = exp(z) with a lognormal density on it adds that density (no Jacobian)
    z = ts.variable(dim=2)
    ts.lognormal(0.1, 0.5, observed=np.exp(z))
    m = ts.model(z=z)
    value = np.array([0.2, -0.3])
    np.testing.assert_allclose(m.log_prob({"z": value}),
                               st.lognorm(0.5, scale=np.exp(0.1)).logpdf(np.exp(value)).sum(),
                               rtol=1e-10)


def test_two_densities_on_one_array_both_count() -> None:
    mu = ts.variable()
    y = np.array([0.3, -0.4])
    ts.normal(mu, 1, observed=y)
    ts.normal(mu, 2, observed=y)
    m = ts.model(mu=mu)
    expected = st.norm(0.1, 1).logpdf(y).sum() + st.norm(0.1, 2).logpdf(y).sum()
    np.testing.assert_allclose(m.log_prob({"mu": 0.1}), expected, rtol=1e-10)


def test_shapes() -> None:
    assert ts.normal(0, 1).shape == ()
    assert ts.normal(np.zeros(3), 1).shape == (3,)
    assert ts.normal(0, 1, dim=(2, 3)).shape == (2, 3)
    assert ts.normal(np.zeros(3), 1, dim=(2, 3)).shape == (2, 3)
    assert ts.dirichlet(np.ones(4)).shape == (4,)
    assert ts.dirichlet(np.ones((2, 4))).shape == (2, 4)
    assert ts.multivariate_normal(np.zeros(3), np.eye(3)).shape == (3,)
    assert ts.lkj_correlation(2, 4).shape == (4, 4)
    assert ts.wishart(4, np.eye(2)).shape == (2, 2)
    assert ts.cauchy(0, 1, truncation=(0, None)).shape == ()


# --- errors at write time -----------------------------------------------------------------------

@pytest.mark.parametrize("call, message", [
    (lambda: ts.normal(0, -1), r"normal: sd must be positive, got -1"),
    (lambda: ts.normal(0, np.array([1.0, -2.0])), r"normal: sd must be positive, got -2"),
    (lambda: ts.gamma(0, 1), r"gamma: shape must be positive"),
    (lambda: ts.beta(1, -0.5), r"beta: shape2 must be positive"),
    (lambda: ts.exponential(-2), r"exponential: rate must be positive"),
    (lambda: ts.student(0, 0, 1), r"student: df must be positive"),
    (lambda: ts.bernoulli(1.5, observed=[0, 1]), r"bernoulli: prob must be between 0 and 1"),
    (lambda: ts.binomial(-1, 0.5, observed=[0]), r"binomial: size must be non-negative int"),
    (lambda: ts.binomial(2.5, 0.5, observed=[0]), r"binomial: size must be non-negative int"),
    (lambda: ts.poisson(-1.0, observed=[1]), r"poisson: lambda must be non-negative"),
    (lambda: ts.categorical(np.array([0.5, 0.6]), observed=[0]),
     r"categorical: prob must be non-negative and sum to 1"),
    (lambda: ts.multivariate_normal(np.zeros(2), np.array([[1.0, 2.0], [2.0, 1.0]])),
     r"multivariate_normal: Sigma must be a symmetric positive definite"),
    (lambda: ts.wishart(3, np.array([[1.0, 0.5], [0.4, 1.0]])),
     r"wishart: Sigma must be a symmetric positive definite"),
    (lambda: ts.wishart(1, np.eye(3)), r"wishart: df must be greater than the dimension minus 1"),
    (lambda: ts.lkj_correlation(-1, 3), r"lkj_correlation: eta must be positive"),
    (lambda: ts.lkj_correlation(2, 1), r"lkj_correlation: dimension must be an int >= 2"),
    (lambda: ts.uniform(2, 1), r"lower bound must be below the upper bound"),
    (lambda: ts.normal(0, 1, truncation=(2, 1)), r"truncation: the lower bound must be below"),
    (lambda: ts.normal(0, 1, truncation=3), r"truncation must be a pair"),
])
def test_invalid_constant_parameter_is_named(call: Callable, message: str) -> None:
    with pytest.raises(ts.ModelError, match=message):
        call()


@pytest.mark.parametrize("call, message", [
    (lambda p: ts.bernoulli(p, observed=[0, 2]), r"bernoulli: observed data must be 0 or 1"),
    (lambda p: ts.poisson(p, observed=[0, 1.5]),
     r"poisson: observed data must be non-negative integers"),
    (lambda p: ts.poisson(p, observed=[0, -1]),
     r"poisson: observed data must be non-negative integers"),
    (lambda p: ts.binomial(3, p, observed=[0, 4]), r"binomial: observed counts must not exceed"),
    (lambda p: ts.categorical(ts.stack([p, 1 - p]), observed=[0, 2]),
     r"categorical: observed labels must be 0-based integers below .*\(2\)"),
    (lambda p: ts.categorical(ts.imultilogit(ts.stack([p, p])), observed=[3]),
     r"categorical: observed labels .*\(3\)"),
    (lambda p: ts.beta(p, 1, observed=[0.5, 1.0]), r"beta: observed data must be strictly"),
    (lambda p: ts.exponential(p, observed=[-0.1]), r"exponential: observed data must be non-neg"),
    (lambda p: ts.dirichlet(ts.stack([p, 1.0]), observed=[0.5, 0.6]),
     r"dirichlet: observed data must be non-negative and sum to 1"),
    (lambda p: ts.multinomial(6, _three(p), observed=[[1, 2, 2]]),
     r"multinomial: observed counts must sum to size"),
    (lambda p: ts.dirichlet_multinomial(4, ts.stack([p, 1.0]), observed=[[1, 2]]),
     r"dirichlet_multinomial: observed counts must sum to size"),
    (lambda p: ts.hypergeometric(3, 7 + 0 * p, 4, observed=[4]),
     r"hypergeometric: observed counts must lie between"),
    (lambda p: ts.hypergeometric(5 + 0 * p, 1, 4, observed=[2]),
     r"hypergeometric: observed counts must lie between"),
    (lambda p: ts.uniform(0, 1, observed=[0.5, 2.0]) + p,
     r"uniform: observed data must be from lower to upper"),
    (lambda p: ts.pareto(p, 1.0, observed=[0.5, 2.0]),
     r"pareto: observed data must be at least the scale b"),
    (lambda p: ts.normal(p, 1, truncation=(0, None), observed=[1.0, -1.0]),
     r"normal: observed data must lie within the truncation bounds; got -1.0, below the lower"),
    (lambda p: ts.gamma(2, p, truncation=(None, [3.0, 1.0]), observed=[2.0, 2.0]),
     r"gamma: .* got 2.0, above the upper bound 1.0"),
])
def test_observed_data_outside_the_support_is_an_error(call: Callable, message: str) -> None:
    p = ts.uniform(0, 1)
    with pytest.raises(ts.ModelError, match=message):
        call(p)


def test_shape_errors_name_both_shapes() -> None:
    mu = ts.normal(0, 1, dim=3)
    with pytest.raises(ts.ShapeError, match=r"\(4,\) and \(3,\)"):
        ts.normal(mu, 1, observed=np.ones(4))
    with pytest.raises(ts.ShapeError, match=r"normal: parameters of shape \(3,\) do not fit "
                                            r"observed data of shape \(\)"):
        ts.normal(mu, 1, observed=1.0)
    with pytest.raises(ts.ShapeError, match=r"parameters of shape \(3,\) do not fit dim \(2,\)"):
        ts.normal(np.zeros(3), 1, dim=2)
    with pytest.raises(ts.ShapeError, match=r"\(3,\) and \(2,\)"):
        ts.normal(np.zeros(3), np.ones(2))
    with pytest.raises(ts.ShapeError, match=r"mean of shape \(3,\) and Sigma of shape \(2, 2\)"):
        ts.multivariate_normal(np.zeros(3), np.eye(2))
    with pytest.raises(ts.ShapeError, match=r"observed shape \(2, 4\) does not match"):
        ts.multivariate_normal(mu, np.eye(3), observed=np.ones((2, 4)))


def test_truncation_only_for_continuous_univariates() -> None:
    with pytest.raises(ts.ModelError, match="truncation= is for continuous univariate"):
        ts.distributions.distribution("poisson", ("lambda",), (1.0,), truncation=(0, 3))
    with pytest.raises(TypeError):
        ts.poisson(1.0, truncation=(0, 3))  # not even an argument
    with pytest.raises(ts.ModelError, match="not available for the f distribution"):
        ts.distributions.distribution("f", ("df1", "df2"), (2, 3), truncation=(0, 3))


def test_discrete_distributions_without_finite_support_cannot_be_unknowns() -> None:
    with pytest.raises(ts.ModelError, match="poisson as an unknown is not supported"):
        ts.model(x=ts.poisson(3))
    with pytest.raises(ts.ModelError, match="binomial: as an unknown .* size must be data"):
        ts.binomial(ts.gamma(2, 1), 0.5, dim=2)
    with pytest.raises(ts.ModelError, match="poisson is a discrete distribution: it cannot be a "
                                            "parameter of normal"):
        ts.normal(ts.poisson(3), 1)
    with pytest.raises(ts.ModelError, match="a discrete likelihood needs data"):
        ts.poisson(3, observed=np.exp(ts.normal(0, 1)))
