"""Half-normal / half-Cauchy / half-Student-t priors and likelihoods, and lkj_cholesky
(its density and the prior law of each correlation it implies)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import special, stats

import tfstats as ts
from tfstats.draws import summarise


def _half_t_logpdf(x: np.ndarray, df: float, sigma: float) -> np.ndarray:
    """log of 2 * t(df, 0, sigma) density, written out."""
    z = x / sigma
    return (np.log(2.0) + special.gammaln((df + 1) / 2) - special.gammaln(df / 2)
            - 0.5 * np.log(df * np.pi) - np.log(sigma) - (df + 1) / 2 * np.log1p(z**2 / df))


def test_half_priors_match_scipy() -> None:
    a = ts.half_normal(2.0)
    b = ts.half_cauchy(3.0, dim=2)
    c = ts.half_student(4.0, 1.5)
    m = ts.model(a, b, c)
    values = {"a": 0.7, "b": np.array([0.2, 5.0]), "c": 2.5}
    expected = (stats.halfnorm.logpdf(0.7, scale=2.0)
                + stats.halfcauchy.logpdf(values["b"], scale=3.0).sum()
                + _half_t_logpdf(2.5, 4.0, 1.5))
    assert m.log_prob(values) == pytest.approx(expected, rel=1e-12)
    assert m.log_prob(dict(values, a=-0.1)) == -np.inf      # outside the support
    assert m.n_free == 4


def test_half_likelihoods_match_scipy() -> None:
    y = np.array([0.1, 0.8, 2.4, 0.0])
    s = ts.variable(lower=0)
    ts.half_normal(s, observed=y)
    ts.half_cauchy(s, observed=y)
    ts.half_student(3.0, s, observed=y)
    m = ts.model(s)
    expected = (stats.halfnorm.logpdf(y, scale=1.3).sum()
                + stats.halfcauchy.logpdf(y, scale=1.3).sum() + _half_t_logpdf(y, 3.0, 1.3).sum())
    assert m.log_prob({"s": 1.3}) == pytest.approx(expected, rel=1e-12)


def test_half_distributions_check_their_inputs() -> None:
    with pytest.raises(ts.ModelError, match="half_normal: sd must be positive"):
        ts.half_normal(-1.0)
    with pytest.raises(ts.ModelError, match="non-negative"):
        ts.half_cauchy(1.0, observed=np.array([0.5, -0.2]))
    with pytest.raises(ts.ModelError, match="half_student: df must be positive"):
        ts.half_student(0.0, 1.0)


def _correlation_cholesky(r: np.ndarray) -> np.ndarray:
    return np.linalg.cholesky(r)


def test_lkj_cholesky_density_in_the_factor() -> None:
    """log p(L) = sum_i (d - i - 1 + 2 (eta - 1)) log L_ii + const (i = 0..d-1): the
    LKJ density of R = L L' times the Jacobian of L -> R. Compared as differences, so the
    normalising constant cancels."""
    eta, d = 2.5, 3
    L = ts.lkj_cholesky(eta, d)
    m = ts.model(L)
    r1 = np.array([[1.0, 0.3, -0.2], [0.3, 1.0, 0.5], [-0.2, 0.5, 1.0]])
    r2 = np.array([[1.0, -0.6, 0.1], [-0.6, 1.0, 0.0], [0.1, 0.0, 1.0]])

    def hand(r: np.ndarray) -> float:
        diag = np.diag(_correlation_cholesky(r))
        return float(np.sum((d - np.arange(d) - 1 + 2 * (eta - 1)) * np.log(diag)))

    got = m.log_prob({"L": _correlation_cholesky(r1)}) - m.log_prob(
        {"L": _correlation_cholesky(r2)})
    assert got == pytest.approx(hand(r1) - hand(r2), rel=1e-10)
    assert m.n_free == 3


def test_lkj_cholesky_checks_its_arguments() -> None:
    with pytest.raises(ts.ModelError, match="dim must be an int >= 2"):
        ts.lkj_cholesky(2.0, 1)
    with pytest.raises(ts.ModelError, match="eta must be positive"):
        ts.lkj_cholesky(-1.0, 3)


def test_lkj_correlation_of_a_computed_matrix_names_lkj_cholesky() -> None:
    """cholesky_variable(correlation=True) with lkj_correlation(observed=L @ L.T) would
    miss the Jacobian of L -> R: it is an error that says what to use."""
    L = ts.cholesky_variable(3, correlation=True)
    with pytest.raises(ts.ModelError, match=r"ts\.lkj_cholesky\(eta, dim\)"):
        ts.lkj_correlation(2.0, 3, observed=L @ L.T)
    R = ts.lkj_correlation(2.0, 3)              # an LKJ unknown may take a second LKJ term
    ts.lkj_correlation(1.5, 3, observed=R)
    ts.lkj_correlation(2.0, 3, observed=np.eye(3))  # and data is fine


@pytest.mark.slow
def test_lkj_cholesky_prior_marginals_follow_their_beta_law() -> None:
    """With d = 4 and eta = 2 each correlation r of R = L L' has (r + 1) / 2 ~ Beta(3, 3):
    mean 0 and variance E[r^2] = 1 / 7. NUTS on the prior matches both within 4 Monte
    Carlo standard errors (that of E[r^2] from the ESS of r^2, which is lower than r's)."""
    eta, d = 2.0, 4
    a = eta - 1 + d / 2
    L = ts.lkj_cholesky(eta, d)
    R = L @ L.T
    draws = ts.mcmc(ts.model(R=R), n_samples=1000, warmup=500, chains=4, seed=2,
                    progress=False)
    upper = np.triu_indices(d, k=1)
    r = draws["R"][:, :, upper[0], upper[1]]          # (chains, draws, 6)
    table = summarise({"r": r, "r2": r**2})
    for k in range(r.shape[-1]):
        row, row2 = table.loc[f"r[{k}]"], table.loc[f"r2[{k}]"]
        assert abs(row["mean"]) < 4 * row["mcse_mean"], (k, row["mean"])
        assert abs(row2["mean"] - 1 / (2 * a + 1)) < 4 * row2["mcse_mean"], (k, row2["mean"])
    assert draws.divergences == 0
