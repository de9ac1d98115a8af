"""calculate(): derived arrays at posterior draws, posterior predictive replicates, prior
simulation, and values given as a dict or an optimisation result."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import scipy.stats as st

import tfstats as ts
from tests.tfstats.inference.conjugate import Case, case


@pytest.fixture(scope="module")
def normal() -> Case:
    """``mu ~ normal(1, 2)``, ``y ~ normal(mu, 1.5)`` (10 observations)."""
    return case("normal_normal")


@pytest.fixture(scope="module")
def posterior(normal: Case) -> ts.Draws:
    """The same fit as the NUTS conjugate test (so the sampler is compiled once)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return ts.mcmc(normal.model, n_samples=1000, warmup=1000, chains=4, sampler=ts.nuts(),
                       seed=1, progress=False)


def _se_of_mean(x: np.ndarray) -> float:
    return float(np.std(x) / np.sqrt(x.size))


def _se_of_covariance(a: np.ndarray, b: np.ndarray) -> float:
    products = (a - a.mean()) * (b - b.mean())
    return float(np.std(products) / np.sqrt(products.size))


# --- at posterior draws --------------------------------------------------------------------------


def test_derived_arrays_at_the_draws(normal: Case, posterior: ts.Draws) -> None:
    mu = normal.arrays["mu"]
    mu_draws = posterior["mu"]
    np.testing.assert_allclose(ts.calculate(2 * mu + 1, values=posterior), 2 * mu_draws + 1,
                               rtol=1e-12)
    np.testing.assert_allclose(ts.calculate(np.exp(mu), values=posterior), np.exp(mu_draws),
                               rtol=1e-12)
    np.testing.assert_allclose(ts.calculate(ts.ilogit(mu), values=posterior),
                               1 / (1 + np.exp(-mu_draws)), rtol=1e-12)
    grid = np.linspace(-1, 1, 5)
    line = mu * grid  # an array with its own shape
    np.testing.assert_allclose(ts.calculate(line, values=posterior),
                               mu_draws[..., None] * grid, rtol=1e-12)


def test_several_arrays_give_a_dict_by_name(normal: Case, posterior: ts.Draws) -> None:
    mu = normal.arrays["mu"]
    doubled = 2 * mu
    squared = mu**2
    out = ts.calculate(doubled, squared, values=posterior)
    assert set(out) == {"doubled", "squared"}
    np.testing.assert_allclose(out["squared"], posterior["mu"] ** 2, rtol=1e-12)


def test_posterior_predictive_replicates(normal: Case, posterior: ts.Draws) -> None:
    y, sd = normal.arrays["y"], normal.arrays["sd"]
    replicates = ts.calculate(y, values=posterior, seed=1)
    assert replicates.shape == (4, 1000, 10)
    # given mu, each replicate is normal(mu, sd), independently
    noise = replicates - posterior["mu"][..., None]
    assert abs(noise.mean()) < 4 * sd / np.sqrt(noise.size)
    assert abs(noise.std() / sd - 1) < 4 / np.sqrt(2 * noise.size)
    assert st.kstest(noise.reshape(-1) / sd, "norm").pvalue > 1e-3
    assert abs(np.corrcoef(noise[..., 0].reshape(-1), noise[..., 1].reshape(-1))[0, 1]) < 0.05
    # marginally: mean = posterior mean, variance = sd^2 + posterior variance
    ess = posterior.summary().loc["mu", "ess_bulk"]
    se = np.sqrt(normal.sd**2 / ess + sd**2 / noise.size)
    assert abs(replicates.mean() - normal.mean) < 4 * se
    variance = sd**2 + normal.sd**2
    se_variance = np.sqrt(2 * sd**4 / noise.size + 2 * normal.sd**4 / ess)
    assert abs(replicates.var() - variance) < 4 * se_variance


def test_replicates_follow_the_seed(normal: Case, posterior: ts.Draws) -> None:
    y = normal.arrays["y"]
    first = ts.calculate(y, values=posterior, seed=7)
    np.testing.assert_array_equal(first, ts.calculate(y, values=posterior, seed=7))
    assert not np.array_equal(first, ts.calculate(y, values=posterior, seed=8))


# --- prior simulation ----------------------------------------------------------------------------


def test_prior_simulation_of_a_hierarchical_model() -> None:
    """``mu ~ normal(1, 2)``, ``tau ~ half-normal(1)``, ``theta ~ normal(mu, tau)`` (3),
    ``y ~ normal(theta, 0.5)``: E theta = 1, Var theta = 4 + E tau^2 = 5,
    Cov(theta_i, theta_j) = Var mu = 4, Var y = 5.25."""
    mu = ts.normal(1, 2)
    tau = ts.normal(0, 1, truncation=(0, None))
    theta = ts.normal(mu, tau, dim=3)
    y = ts.normal(theta, 0.5, observed=np.zeros(3))
    n = 20000
    sims = ts.calculate(mu, tau, theta, y, nsim=n, seed=1)
    assert set(sims) == {"mu", "tau", "theta", "y"}
    assert sims["mu"].shape == (n,) and sims["tau"].shape == (n,)
    assert sims["theta"].shape == (n, 3) and sims["y"].shape == (n, 3)
    assert np.all(sims["tau"] > 0)

    def check_mean(x: np.ndarray, expected: float) -> None:
        assert abs(x.mean() - expected) < 5 * _se_of_mean(x), (x.mean(), expected)

    def check_cov(a: np.ndarray, b: np.ndarray, expected: float) -> None:
        value = np.mean((a - a.mean()) * (b - b.mean()))
        assert abs(value - expected) < 5 * _se_of_covariance(a, b), (value, expected)

    check_mean(sims["mu"], 1.0)
    check_cov(sims["mu"], sims["mu"], 4.0)
    check_mean(sims["tau"], np.sqrt(2 / np.pi))
    check_cov(sims["tau"], sims["tau"], 1 - 2 / np.pi)
    theta_draws, y_draws = sims["theta"], sims["y"]
    for i in range(3):
        check_mean(theta_draws[:, i], 1.0)
        check_cov(theta_draws[:, i], theta_draws[:, i], 5.0)
        check_cov(theta_draws[:, i], theta_draws[:, (i + 1) % 3], 4.0)
        check_cov(y_draws[:, i], y_draws[:, i], 5.25)
        check_cov(y_draws[:, i], theta_draws[:, i], 5.0)
    # given theta, y is normal(theta, 0.5)
    assert st.kstest(((y_draws - theta_draws) / 0.5).reshape(-1), "norm").pvalue > 1e-3
    # the hierarchy is respected draw by draw: theta is centred on that draw's mu
    z = (theta_draws - sims["mu"][:, None]) / sims["tau"][:, None]
    assert st.kstest(z.reshape(-1), "norm").pvalue > 1e-3


def test_prior_simulation_of_bounded_and_discrete_arrays() -> None:
    p = ts.beta(2, 3)
    rate = ts.gamma(3, 2)
    k = ts.binomial(10, p, observed=np.zeros(4, dtype=int))
    counts = ts.poisson(rate, observed=np.zeros(2, dtype=int))
    n = 20000
    sims = ts.calculate(p, rate, k, counts, nsim=n, seed=2)
    assert np.all((sims["p"] > 0) & (sims["p"] < 1))
    assert st.kstest(sims["p"], st.beta(2, 3).cdf).pvalue > 1e-3
    assert st.kstest(sims["rate"], st.gamma(3, scale=0.5).cdf).pvalue > 1e-3
    for values in (sims["k"], sims["counts"]):
        np.testing.assert_array_equal(values, np.round(values))
        assert np.all(values >= 0)
    assert np.all(sims["k"] <= 10)
    # E k = 10 E p = 4; E counts = E rate = 1.5
    assert abs(sims["k"].mean() - 4.0) < 5 * _se_of_mean(sims["k"])
    assert abs(sims["counts"].mean() - 1.5) < 5 * _se_of_mean(sims["counts"])


def test_prior_simulation_follows_the_seed() -> None:
    mu = ts.normal(0, 1)
    x = ts.normal(mu, 1, dim=2)
    first = ts.calculate(x, nsim=10, seed=3)
    assert first.shape == (10, 2)
    np.testing.assert_array_equal(first, ts.calculate(x, nsim=10, seed=3))
    assert not np.array_equal(first, ts.calculate(x, nsim=10, seed=4))


# --- at given values -----------------------------------------------------------------------------


def test_values_as_a_dict() -> None:
    mu = ts.normal(0, 5)
    tau = ts.cauchy(0, 5, truncation=(0, None))
    z = ts.normal(0, 1, dim=8)
    theta = mu + tau * z
    expected = 1.0 + 2.0 * np.arange(8)
    by_name = ts.calculate(theta, values={"mu": 1.0, "tau": 2.0, "z": np.arange(8)})
    assert by_name.shape == (8,)
    np.testing.assert_allclose(by_name, expected)
    by_array = ts.calculate(theta, values={mu: 1.0, tau: 2.0, z: np.arange(8)})
    np.testing.assert_allclose(by_array, expected)
    assert float(ts.calculate(mu * tau, values={"mu": 1.5, "tau": 2.0})) == pytest.approx(3.0)
    # unknowns without a value are drawn from their priors
    partial = ts.calculate(theta, values={"mu": 1.0, "tau": 0.0}, seed=1)
    np.testing.assert_allclose(partial, np.ones(8))
    random = ts.calculate(theta, values={"mu": 1.0, "tau": 1.0}, seed=1)
    assert random.shape == (8,) and len(np.unique(random)) == 8


def test_values_as_an_optimisation_result(normal: Case) -> None:
    mu, y = normal.arrays["mu"], normal.arrays["y"]
    fit = ts.opt(normal.model, seed=1)
    assert fit.converged
    # the posterior is normal: its mode is its mean
    np.testing.assert_allclose(fit.par["mu"], normal.mean, rtol=1e-5)
    np.testing.assert_allclose(ts.calculate(2 * mu + 1, values=fit), 2 * fit.par["mu"] + 1,
                               rtol=1e-12)
    replicate = ts.calculate(y, values=fit, seed=1)
    assert replicate.shape == (10,)
    assert np.all(np.isfinite(replicate))


# --- errors --------------------------------------------------------------------------------------


def test_calculate_errors() -> None:
    mu = ts.normal(0, 1)
    sigma = ts.variable(lower=0)
    with pytest.raises(ValueError, match="at least one array"):
        ts.calculate()
    with pytest.raises(ValueError, match="nsim"):
        ts.calculate(mu)
    with pytest.raises(ValueError, match="nsim"):
        ts.calculate(mu, nsim=0)
    with pytest.raises(TypeError, match="values must be"):
        ts.calculate(mu, values=[1.0])
    with pytest.raises(ts.ModelError, match="flat prior"):
        ts.calculate(mu * sigma, nsim=5)
