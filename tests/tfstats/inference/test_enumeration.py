"""Discrete unknowns summed out of the density: marginal log densities against hand
computations, the exact change-point posterior, mixtures written two ways, conditional
draws, errors; on both backends."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.stats as st
from scipy.optimize import minimize
from scipy.special import gammaln, logsumexp

import tfstats as ts
from tfstats.draws import Draws

# --- change point -----------------------------------------------------------------------------

T = 30
A, B_RATE = 2.0, 1.0  # gamma(shape, rate) priors on both rates


def _counts() -> np.ndarray:
    rng = np.random.default_rng(11)
    return np.concatenate([rng.poisson(4.0, 13), rng.poisson(1.0, T - 13)])


def _change_point() -> tuple[ts.Model, ts.Array]:
    y = _counts()
    t = np.arange(T)
    early = ts.gamma(A, B_RATE)
    late = ts.gamma(A, B_RATE)
    s = ts.discrete_uniform(1, T - 1)
    ts.poisson(np.where(t < s, early, late), observed=y)
    return ts.model(early, late), s


def _exact_change_point_posterior(y: np.ndarray) -> np.ndarray:
    """p(s | y) with both rates integrated out (gamma-Poisson), s = 1..T-1."""
    s = np.arange(1, T)
    before = np.array([y[:k].sum() for k in s])
    after = y.sum() - before

    def log_marginal(total: np.ndarray, n: np.ndarray) -> np.ndarray:
        return gammaln(A + total) - (A + total) * np.log(B_RATE + n)

    logp = log_marginal(before, s) + log_marginal(after, T - s)
    return np.exp(logp - logsumexp(logp))


def test_change_point_log_prob_is_the_sum_over_the_change_point(backend: str) -> None:
    m, _ = _change_point()
    assert m.variable_names == ["early", "late"]
    assert list(m.observed) == ["y"]  # data that a discrete unknown enters are observed too
    np.testing.assert_allclose(m.log_prob({"early": 3.1, "late": 1.2}),
                               _log_joint(np.array([3.1, 1.2])), rtol=1e-10)


def test_change_point_posterior_matches_the_exact_one() -> None:
    """NUTS on the default backend (TensorFlow); the mixtures below and the examples run
    NUTS on JAX, to keep the suite's time."""
    m, s = _change_point()
    draws = ts.mcmc(m, n_samples=500, warmup=400, chains=2, seed=3, progress=False)
    drawn = ts.calculate(s, values=draws, seed=4)
    assert drawn.shape == (2, 500) and drawn.dtype.kind == "i"
    assert np.array_equal(drawn, ts.calculate(s, values=draws, seed=4))  # seeded
    freq = np.bincount(drawn.ravel() - 1, minlength=T - 1) / drawn.size
    exact = _exact_change_point_posterior(_counts())
    assert 0.5 * np.abs(freq - exact).sum() < 0.05
    # ArviZ: observed data and replicates drawn with s from its conditional; the
    # pointwise log-likelihood leaves out the terms s enters
    idata = draws.to_arviz(posterior_predictive=True, seed=5)
    assert "log_likelihood" not in idata.groups()
    np.testing.assert_array_equal(idata.observed_data["y"], _counts())
    replicates = np.asarray(idata.posterior_predictive["y"])
    assert replicates.shape == (2, 500, T)
    for rows, rate in ((slice(0, 10), "early"), (slice(-10, None), "late")):
        se = np.sqrt(replicates[..., rows].var() / 200)  # ESS of 200 or more
        assert abs(replicates[..., rows].mean() - draws[rate].mean()) < 4 * se
    # MAP works on the marginal density of the rates
    fit = ts.opt(m, adjust=False, seed=1)
    np.testing.assert_allclose([fit.par["early"], fit.par["late"]],
                               _exact_mode(), rtol=1e-3)


def test_change_point_with_vectorised_chains_on_tensorflow(tensorflow_backend: str) -> None:
    """Its 29 values are a loop on TensorFlow (``map_values``), so the model's gradients
    are taken chain by chain: XLA cannot compile the gradient of a loop inside a
    vectorised map."""
    m, s = _change_point()
    assert m.has_loops
    draws = ts.mcmc(m, n_samples=500, warmup=400, chains=2, seed=3, progress=False,
                    chain_method="vectorized")
    drawn = ts.calculate(s, values=draws, seed=4)
    freq = np.bincount(drawn.ravel() - 1, minlength=T - 1) / drawn.size
    assert 0.5 * np.abs(freq - _exact_change_point_posterior(_counts())).sum() < 0.05


def test_only_long_enumerations_are_loops(backend: str) -> None:
    m, _ = _change_point()
    assert m.has_loops == (backend == "tensorflow")
    mu = ts.normal(0.0, 1.0)
    z = ts.bernoulli(0.3, dim=4)  # a plate of 2 values: unrolled
    ts.normal(mu + z * 2.0, 1.0, observed=np.zeros(4))
    plate = ts.model(mu)
    assert plate.discrete is not None and not plate.has_loops


def _log_joint(rates: np.ndarray) -> float:
    """log p(early, late, y) with s summed out, by hand."""
    y, t = _counts(), np.arange(T)
    e, late = rates
    per_s = [st.poisson.logpmf(y, np.where(t < k, e, late)).sum() for k in range(1, T)]
    prior = st.gamma(A, scale=1 / B_RATE)
    return logsumexp(per_s) - np.log(T - 1) + prior.logpdf(e) + prior.logpdf(late)


def _exact_mode() -> np.ndarray:
    found = minimize(lambda r: -_log_joint(r), x0=[3.0, 1.0], method="Nelder-Mead",
                     options={"xatol": 1e-8, "fatol": 1e-10})
    return found.x


# --- mixtures -------------------------------------------------------------------------------

Y_MIX = np.concatenate([np.random.default_rng(5).normal(-2.0, 0.7, 9),
                        np.random.default_rng(6).normal(2.0, 0.7, 15)])


def _mixture(explicit: bool) -> tuple[ts.Model, ts.Array | None, ts.Array]:
    w = ts.dirichlet(np.ones(2))
    mu = ts.ordered_variable(dim=2)  # ordered: no label switching between chains
    ts.normal(0, 3, observed=mu)
    sigma = ts.lognormal(0, 1)
    z = None
    if explicit:
        z = ts.categorical(w, dim=len(Y_MIX))
        ts.normal(mu[z], sigma, observed=Y_MIX)
    else:
        ts.mixture(ts.normal(mu[0], sigma), ts.normal(mu[1], sigma), weights=w,
                   observed=Y_MIX)
    return ts.model(w, mu, sigma), z, mu


POINT = {"w": [0.35, 0.65], "mu": [-1.8, 2.2], "sigma": 0.8}


def test_mixture_with_assignments_has_the_mixture_log_prob(backend: str) -> None:
    explicit, z, _ = _mixture(True)
    assert explicit.discrete.groups[0].plate  # summed row by row
    mixture, _, _ = _mixture(False)
    np.testing.assert_allclose(explicit.log_prob(POINT), mixture.log_prob(POINT), rtol=0,
                               atol=1e-8)


def test_mixture_posteriors_agree(jax_backend: str) -> None:
    summaries = []
    for explicit, seed in ((True, 1), (False, 2)):
        m, z, mu = _mixture(explicit)
        draws = ts.mcmc(m, n_samples=400, warmup=300, chains=2, seed=seed, progress=False)
        summaries.append(draws.summary())
        if explicit:
            assignments = ts.calculate(z, values=draws, seed=1)
            means = ts.calculate(mu[z], values=draws, seed=1)  # z drawn first, same seed
            chosen = np.take_along_axis(draws["mu"], assignments, axis=-1)
            np.testing.assert_allclose(means, chosen)
            assert set(np.unique(assignments)) <= {0, 1}
            assert (assignments[..., Y_MIX > 1].mean() > 0.95
                    and assignments[..., Y_MIX < -1].mean() < 0.05)
    a, b = summaries
    mcse = np.hypot(a["sd"] / np.sqrt(a["ess_bulk"]), b["sd"] / np.sqrt(b["ess_bulk"]))
    assert (np.abs(a["mean"] - b["mean"]) < 4 * mcse).all(), (a, b)
    assert (np.abs(a["sd"] - b["sd"]) < 0.25 * b["sd"]).all()


# --- bernoulli, binomial, joint enumeration ----------------------------------------------
# (default backend: the change point and mixture tests run both summations on both)

def test_bernoulli_plate_marginal_log_prob() -> None:
    y = np.array([0.1, 2.3, -0.4, 1.9])
    p = ts.beta(2, 2)
    shift = ts.normal(0, 3)
    z = ts.bernoulli(p, dim=4)
    ts.normal(shift * z, 1.0, observed=y)
    m = ts.model(p, shift)
    pv, sv = 0.3, 2.0
    rows = np.logaddexp(np.log1p(-pv) + st.norm.logpdf(y, 0, 1),
                        np.log(pv) + st.norm.logpdf(y, sv, 1))
    expected = rows.sum() + st.beta(2, 2).logpdf(pv) + st.norm(0, 3).logpdf(sv)
    np.testing.assert_allclose(m.log_prob({"p": pv, "shift": sv}), expected, rtol=1e-10)


def test_binomial_with_sizes_per_row() -> None:
    sizes = np.array([2, 4])
    y = np.array([1, 6])
    rate = ts.gamma(2, 1)
    k = ts.binomial(sizes, 0.4)
    ts.poisson(rate * (k + 1), observed=y)
    m = ts.model(rate)
    r = 1.7
    expected = st.gamma(2).logpdf(r)
    for n, obs in zip(sizes, y, strict=True):
        ks = np.arange(n + 1)
        expected += logsumexp(st.binom.logpmf(ks, n, 0.4) + st.poisson.logpmf(obs, r * (ks + 1)))
    np.testing.assert_allclose(m.log_prob({"rate": r}), expected, rtol=1e-10)


def test_terms_that_mix_rows_are_enumerated_jointly() -> None:
    mu = ts.normal(0, 2)
    z = ts.bernoulli(0.3, dim=3)
    ts.normal(mu * np.sum(z), 1.0, observed=np.array([1.5, 2.0]))
    m = ts.model(mu)
    assert not m.discrete.groups[0].plate
    configs = np.array(np.meshgrid(*[[0, 1]] * 3, indexing="ij")).reshape(3, -1).T
    prior = (configs * np.log(0.3) + (1 - configs) * np.log(0.7)).sum(axis=1)
    like = [st.norm.logpdf([1.5, 2.0], 0.8 * c.sum(), 1).sum() for c in configs]
    expected = logsumexp(prior + like) + st.norm(0, 2).logpdf(0.8)
    np.testing.assert_allclose(m.log_prob({"mu": 0.8}), expected, rtol=1e-10)


def test_conditional_draws_have_the_exact_frequencies() -> None:
    y = np.array([-0.5, 0.4, 3.0])
    w = np.array([0.2, 0.5, 0.3])
    centres = ts.normal(0, 5, dim=3)
    z = ts.categorical(w, dim=3)
    ts.normal(centres[z], 1.0, observed=y)
    m = ts.model(centres)
    value = np.array([-1.0, 0.5, 2.0])
    n = 3000
    draws = Draws({"centres": np.broadcast_to(value, (2, n // 2, 3)).copy()}, {}, model=m)
    drawn = ts.calculate(z, values=draws, seed=7).reshape(n, 3)
    logits = np.log(w)[:, None] + st.norm.logpdf(y[None], value[:, None], 1)
    exact = np.exp(logits - logsumexp(logits, axis=0))  # (category, row)
    for row in range(3):
        counts = np.bincount(drawn[:, row], minlength=3)
        chi2 = ((counts - n * exact[:, row]) ** 2 / (n * exact[:, row])).sum()
        assert chi2 < st.chi2(2).isf(1e-6), (row, counts, n * exact[:, row])
    # at given values too: one conditional draw
    one = ts.calculate(z, values={"centres": value}, seed=2)
    assert one.shape == (3,) and set(one) <= {0, 1, 2}
    with pytest.raises(ts.ModelError, match="centres"):
        ts.calculate(z, values={}, seed=2)


# --- errors and observed discrete_uniform ----------------------------------------------------

def test_too_many_configurations_is_a_clear_error() -> None:
    mu = ts.normal(0, 1)
    flags = ts.bernoulli(0.5, dim=30)
    ts.normal(mu * np.sum(flags), 1.0, observed=np.array([1.0]))
    with pytest.raises(ts.ModelError, match=r"flags \(shape \(30,\), 2 values\).*1.07e\+09"):
        ts.model(mu)


def test_discrete_unknown_errors_and_observed_discrete_uniform() -> None:
    size = ts.gamma(2, 1)
    with pytest.raises(ts.ModelError, match="size must be data"):
        ts.binomial(size, 0.5)
    with pytest.raises(ts.ModelError, match="integers"):
        ts.discrete_uniform(0.5, 3)
    with pytest.raises(ts.ModelError, match="integer data"):
        ts.discrete_uniform(size, 3)
    with pytest.raises(ts.ModelError, match="low must not exceed high"):
        ts.discrete_uniform(3, 1)
    with pytest.raises(ts.ModelError, match="cannot be a parameter of normal"):
        ts.normal(ts.poisson(3.0), 1)
    with pytest.raises(ts.ModelError, match="poisson as an unknown is not supported"):
        ts.poisson(3.0) * 2
    with pytest.raises(ts.ModelError, match="from low to high"):
        ts.discrete_uniform(1, 6, observed=np.array([2, 7]))
    lam = ts.gamma(2, 1)
    y = np.array([0, 3, 9, 2])
    ts.mixture(ts.discrete_uniform(0, 10), ts.poisson(lam), weights=np.array([0.1, 0.9]),
               observed=y)
    m = ts.model(lam)
    expected = (np.log(0.1 / 11 + 0.9 * st.poisson(2.5).pmf(y)).sum()
                + st.gamma(2).logpdf(2.5))
    np.testing.assert_allclose(m.log_prob({"lam": 2.5}), expected, rtol=1e-10)


def test_prior_simulation_of_a_discrete_unknown() -> None:
    s = ts.discrete_uniform(2, 5, dim=2000)
    mu = ts.normal(0, 1, dim=3)
    k = ts.categorical(np.array([0.2, 0.8, 0.0]))
    out = ts.calculate(s, mu[k], nsim=2, seed=1)
    values = out["s"]
    assert values.dtype.kind == "i" and values.min() == 2 and values.max() == 5
    assert abs((values == 2).mean() - 0.25) < 0.03
