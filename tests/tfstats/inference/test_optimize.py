"""opt(): MLE and MAP against closed forms, OLS and scikit-learn."""

from __future__ import annotations

import dataclasses
import warnings

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression

import tfstats as ts


@pytest.fixture(scope="module")
def regression() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(7)
    n, d = 200, 3
    X = rng.normal(size=(n, d))
    y = 1.0 + X @ np.array([0.5, -1.0, 2.0]) + rng.normal(scale=0.7, size=n)
    return X, y


def _linear_model(X: np.ndarray, y: np.ndarray, precision: str = "double") -> ts.Model:
    alpha = ts.variable()
    beta = ts.variable(dim=X.shape[1])
    sigma = ts.variable(lower=0)
    ts.normal(alpha + X @ beta, sigma, observed=y)
    return ts.model(alpha, beta, sigma, precision=precision)


@pytest.fixture(scope="module")
def linear_model(regression: tuple) -> ts.Model:
    """One model for several fits, so its compiled functions are reused."""
    return _linear_model(*regression)


def _ols(X: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, float]:
    design = np.column_stack([np.ones(len(y)), X])
    coef, *_ = np.linalg.lstsq(design, y, rcond=None)
    rss = float(np.sum((y - design @ coef) ** 2))
    return coef, np.sqrt(rss / len(y))


def test_mle_of_linear_regression_is_ols(regression: tuple, linear_model: ts.Model) -> None:
    X, y = regression
    fit = ts.opt(linear_model, adjust=False, seed=1)
    coef, sigma = _ols(X, y)
    assert isinstance(fit, ts.OptResult)
    assert fit.converged
    assert fit.optimizer == "lbfgs"
    assert fit.iterations > 0
    np.testing.assert_allclose(fit.par["alpha"], coef[0], rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(fit.par["beta"], coef[1:], rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(fit.par["sigma"], sigma, rtol=1e-6)
    # the value is the maximised log likelihood: -N/2 (log(2 pi sigma^2) + 1)
    n = len(y)
    np.testing.assert_allclose(fit.value, -n / 2 * (np.log(2 * np.pi * sigma**2) + 1),
                               rtol=1e-8)
    assert set(fit.par) == {"alpha", "beta", "sigma"}
    assert fit.par["beta"].shape == (3,)


@pytest.mark.parametrize("optimizer", ["bfgs", "adam"])
def test_other_optimizers_find_the_ols_fit(regression: tuple, linear_model: ts.Model,
                                           optimizer: str) -> None:
    X, y = regression
    coef, sigma = _ols(X, y)
    start = {"alpha": 0.0, "beta": np.zeros(3), "sigma": 1.0}
    kwargs = {"max_iterations": 5000, "learning_rate": 0.05, "tolerance": 1e-7} \
        if optimizer == "adam" else {}
    fit = ts.opt(linear_model, optimizer=optimizer, adjust=False, initial_values=start,
                 **kwargs)
    assert fit.converged
    assert fit.optimizer == optimizer
    tol = 1e-6 if optimizer == "bfgs" else 1e-4
    np.testing.assert_allclose(fit.par["alpha"], coef[0], rtol=tol, atol=tol)
    np.testing.assert_allclose(fit.par["beta"], coef[1:], rtol=tol, atol=tol)
    np.testing.assert_allclose(fit.par["sigma"], sigma, rtol=tol)


def test_lbfgs_finds_the_mle_from_any_random_start(regression: tuple,
                                                   linear_model: ts.Model) -> None:
    _, sigma = _ols(*regression)
    fits = [ts.opt(linear_model, adjust=False, seed=seed) for seed in range(20)]
    assert [f.converged for f in fits] == [True] * 20
    np.testing.assert_allclose([f.par["sigma"] for f in fits], sigma, rtol=1e-6)


def test_lbfgs_does_not_stop_where_a_bound_flattens_the_objective() -> None:
    # a full first step can throw u = 2 - exp(z) to z = -24, where the gradient vanishes
    # (TFP's in-graph L-BFGS stopped there, "converged", from seeds 4 and 10)
    y = np.array([0.5, 1.2, -0.3])
    u = ts.variable(upper=2.0)
    ts.normal(u, 1, observed=y)
    m = ts.model(u)
    fits = [ts.opt(m, adjust=False, seed=seed) for seed in range(12)]
    np.testing.assert_allclose([f.par["u"] for f in fits], y.mean(), rtol=1e-6)


def test_single_precision_mle(regression: tuple) -> None:
    X, y = regression
    m = _linear_model(X, y, precision="single")
    fit = ts.opt(m, adjust=False, seed=2)
    coef, sigma = _ols(X, y)
    assert fit.par["beta"].dtype == np.float32
    np.testing.assert_allclose(fit.par["alpha"], coef[0], rtol=1e-3, atol=1e-3)
    np.testing.assert_allclose(fit.par["beta"], coef[1:], rtol=1e-3, atol=1e-3)
    np.testing.assert_allclose(fit.par["sigma"], sigma, rtol=1e-3)


def test_map_of_normal_normal_model_is_closed_form() -> None:
    y = np.array([2.1, 1.4, 3.3, 2.8, 1.9, 2.6])
    sigma, mu0, tau = 0.8, 0.0, 1.5
    mu = ts.normal(mu0, tau)
    ts.normal(mu, sigma, observed=y)
    fit = ts.opt(ts.model(mu, exp_mu=np.exp(mu)), seed=3)
    precision = 1 / tau**2 + len(y) / sigma**2
    expected = (mu0 / tau**2 + y.sum() / sigma**2) / precision
    assert fit.converged
    np.testing.assert_allclose(fit.par["mu"], expected, rtol=1e-7)
    # targets are reported at the optimum too
    np.testing.assert_allclose(fit.par["exp_mu"], np.exp(expected), rtol=1e-7)
    # the value is the log posterior density there (no Jacobian: mu is unconstrained)
    log_post = (-0.5 * ((expected - mu0) / tau) ** 2 - np.log(tau)
                - 0.5 * np.sum(((y - expected) / sigma) ** 2) - len(y) * np.log(sigma)
                - (len(y) + 1) * 0.5 * np.log(2 * np.pi))
    np.testing.assert_allclose(fit.value, log_post, rtol=1e-8)


def test_map_uses_the_jacobian_and_mle_does_not() -> None:
    # sigma ~ exponential(1), y ~ normal(0, sigma). On the unconstrained scale log(sigma)
    # the adjusted density gains log(sigma), so the two modes differ, each in closed form.
    y = np.array([0.5, -1.2, 0.8, 2.0, -0.3])
    n, ss = len(y), float(np.sum(y**2))
    sigma = ts.exponential(1.0)
    ts.normal(0, sigma, observed=y)
    m = ts.model(sigma)
    start = {"sigma": 1.0}
    unadjusted = ts.opt(m, adjust=False, initial_values=start)
    adjusted = ts.opt(m, adjust=True, initial_values=start)

    def positive_root(coefficients: list[float]) -> float:
        roots = np.roots(coefficients)
        return float(roots[(abs(roots.imag) < 1e-12) & (roots.real > 0)].real[0])

    # d/ds [-n log s - ss / (2 s^2) - s] = 0  <=>  s^3 + n s^2 - ss = 0
    mode = positive_root([1.0, n, 0.0, -ss])
    # adding log s (the Jacobian): s^3 + (n - 1) s^2 - ss = 0
    mode_adjusted = positive_root([1.0, n - 1, 0.0, -ss])
    assert unadjusted.converged and adjusted.converged
    np.testing.assert_allclose(unadjusted.par["sigma"], mode, rtol=1e-6)
    np.testing.assert_allclose(adjusted.par["sigma"], mode_adjusted, rtol=1e-6)


def test_logistic_regression_mle_matches_sklearn() -> None:
    rng = np.random.default_rng(11)
    n, d = 400, 3
    X = rng.normal(size=(n, d))
    truth = np.array([1.0, -2.0, 0.5])
    y = (rng.uniform(size=n) < 1 / (1 + np.exp(-(0.3 + X @ truth)))).astype(int)
    alpha = ts.variable()
    beta = ts.variable(dim=d)
    ts.bernoulli(ts.ilogit(alpha + X @ beta), observed=y)
    fit = ts.opt(ts.model(alpha, beta), adjust=False, seed=4)
    with warnings.catch_warnings():  # penalty=None is deprecated from scikit-learn 1.8
        warnings.simplefilter("ignore", FutureWarning)
        reference = LogisticRegression(penalty=None, tol=1e-10, max_iter=10_000).fit(X, y)
    assert fit.converged
    np.testing.assert_allclose(fit.par["beta"], reference.coef_[0], rtol=1e-3)
    np.testing.assert_allclose(fit.par["alpha"], reference.intercept_[0], rtol=1e-3)


def test_unknown_optimizer_is_rejected() -> None:
    mu = ts.normal(0, 1)
    with pytest.raises(ValueError, match="optimizer must be one of"):
        ts.opt(ts.model(mu), optimizer="sgd")


def test_hessian_gives_the_ols_standard_errors(regression: tuple,
                                               linear_model: ts.Model) -> None:
    """At the MLE of a linear regression the inverse Hessian's coefficient block is
    sigma^2 (D'D)^-1 (D: the design with its intercept column), the coefficients
    uncorrelated with sigma; the Laplace draws have those sds."""
    X, y = regression
    fit = ts.opt(linear_model, adjust=False, seed=1, hessian=True)
    coef, sigma = _ols(X, y)
    design = np.column_stack([np.ones(len(y)), X])
    covariance = sigma**2 * np.linalg.inv(design.T @ design)
    inverse = np.linalg.inv(fit.hessian)  # unknowns in order: alpha, beta (3), sigma
    assert fit.hessian.shape == (5, 5)
    np.testing.assert_allclose(inverse[:4, :4], covariance, rtol=1e-4,
                               atol=1e-6 * np.max(covariance))
    np.testing.assert_allclose(inverse[:4, 4], 0.0, atol=1e-6)
    se = np.sqrt(np.diag(covariance))
    draws = fit.draws(4000, seed=1)
    assert draws["beta"].shape == (1, 4000, 3) and np.all(draws["sigma"] > 0)
    # 4000 independent draws: an sd within 5% is 4.5 standard errors of the estimate
    np.testing.assert_allclose(draws["beta"][0].std(axis=0), se[1:], rtol=0.05)
    np.testing.assert_allclose(fit.sd["alpha"], se[0], rtol=0.05)
    assert np.all(np.abs(draws["beta"][0].mean(axis=0) - coef[1:]) < 4 * se[1:] / np.sqrt(4000))


def test_laplace_draws_of_a_normal_mean_are_its_exact_posterior() -> None:
    """Normal prior, normal data of known sd: the posterior is normal, so the Laplace
    approximation at the MAP is exact."""
    y = np.random.default_rng(3).normal(1.5, 2.0, 20)
    mu = ts.normal(0, 10)
    ts.normal(mu, 2.0, observed=y)
    fit = ts.opt(ts.model(mu), hessian=True)
    precision = 1 / 10**2 + len(y) / 2.0**2
    mean, sd = (y.sum() / 2.0**2) / precision, 1 / np.sqrt(precision)
    np.testing.assert_allclose(fit.hessian, [[precision]], rtol=1e-6)
    draws = fit.draws(4000, seed=2)["mu"][0]
    assert abs(draws.mean() - mean) < 4 * sd / np.sqrt(4000)
    assert abs(draws.std() / sd - 1) < 0.05


def test_draws_need_a_positive_definite_hessian() -> None:
    mu = ts.normal(0, 1)
    ts.normal(mu, 1, observed=np.array([0.3, -0.2]))
    fit = ts.opt(ts.model(mu))
    assert fit.hessian is None
    with pytest.raises(ValueError, match=r"hessian=True"):
        fit.draws(10)
    saddle = dataclasses.replace(fit, hessian=-np.eye(1))
    with pytest.raises(ValueError, match="not positive definite"):
        saddle.draws(10)
    with pytest.raises(ValueError, match="n must be a positive int, got 0"):
        dataclasses.replace(fit, hessian=np.eye(1)).draws(0)
    with pytest.raises(ValueError, match="hessian must be True or False, got 'yes'"):
        ts.opt(fit.model, hessian="yes")
