"""vi(method="pathfinder") and mcmc(init="pathfinder"): Pathfinder's normal against a known
Gaussian and posteriordb references, and the chains it starts.

Pathfinder's covariance is an L-BFGS inverse Hessian estimate (six correction pairs from
an inexact line search), chosen among the path's by a 25-draw ELBO, so it is not the
target's covariance even for a Gaussian target: the tolerances come from 10 seeds on the
5-dimensional Gaussian below (means off by at most 0.001 sd, sds by 14%, correlations by
0.19) and 3 seeds on the references (means at most 0.08 reference sd, sds 15%).
"""

from __future__ import annotations

import numpy as np
import pytest

import tfstats as ts
from tests.tfstats.posteriordb_models import POSTERIORDB, load_reference, shared_model

D = 5
MEAN = np.linspace(-2.0, 2.0, D)
SDS = np.linspace(0.5, 3.0, D)
CORRELATION = 0.6 + 0.4 * np.eye(D)


@pytest.fixture(scope="module")
def gaussian() -> ts.Model:
    return ts.model(x=ts.multivariate_normal(MEAN, CORRELATION * np.outer(SDS, SDS)))


def test_pathfinder_finds_a_correlated_gaussian(gaussian: ts.Model) -> None:
    fit = ts.vi(gaussian, method="pathfinder", seed=1, progress=False)
    assert fit.method == "pathfinder" and fit.converged
    assert np.max(np.abs(fit.loc - MEAN) / SDS) < 0.01  # a Newton step from the mode
    covariance = fit.scale_tril @ fit.scale_tril.T
    sds = np.sqrt(np.diag(covariance))
    np.testing.assert_allclose(sds, SDS, rtol=0.2)
    assert np.max(np.abs(covariance / np.outer(sds, sds) - CORRELATION)) < 0.25
    # one ELBO per L-BFGS iterate; the exact normal's would be log 1 = 0
    assert fit.elbo.shape == (fit.steps,) and abs(np.max(fit.elbo)) < 0.2
    assert fit.draws(200, seed=1)["x"].shape == (1, 200, D)


@pytest.mark.skipif(not POSTERIORDB.is_dir(), reason=f"no posteriordb data at {POSTERIORDB}")
@pytest.mark.parametrize("posterior", ["kidiq-kidscore_momiq", "earnings-logearn_height",
                                       "wells_data-wells_dist"])
def test_pathfinder_matches_near_gaussian_references(posterior: str) -> None:
    model, names = shared_model(posterior)
    fit = ts.vi(model, method="pathfinder", seed=1, progress=False)
    reference = load_reference(posterior)
    for ref_name, (name, index) in names.items():
        ref = reference[ref_name]
        mean, sd = np.asarray(fit.mean[name])[index], np.asarray(fit.sd[name])[index]
        assert abs(mean - ref["mean"]) < 0.1 * ref["sd"], ref_name
        assert abs(sd / ref["sd"] - 1) < 0.2, ref_name


def test_mcmc_starts_from_pathfinder() -> None:
    # y ~ normal(mu, 1), mu ~ normal(0, 10): the posterior of mu is normal, known exactly
    y = np.random.default_rng(3).normal(5.0, 1.0, 40)
    mu = ts.normal(0, 10)
    ts.normal(mu, 1, observed=y)
    m = ts.model(mu)
    precision = 1 / 100 + len(y)
    exact_mean, exact_sd = y.sum() / precision, precision**-0.5
    draws = ts.mcmc(m, init="pathfinder", warmup=150, n_samples=300, chains=2, seed=2,
                    progress=False)
    mcse = exact_sd / np.sqrt(draws.summary().loc["mu", "ess_bulk"])
    assert abs(draws["mu"].mean() - exact_mean) < 4 * mcse
    with pytest.raises(ValueError, match="init must be one of"):
        ts.mcmc(m, init="laplace", progress=False)
    with pytest.raises(ValueError, match="without initial_values"):
        ts.mcmc(m, init="pathfinder", initial_values={"mu": 1.0}, progress=False)


def test_pathfinder_refuses_minibatches() -> None:
    x_b = ts.minibatch(np.arange(100.0), batch_size=10)
    mu = ts.normal(0, 10)
    ts.normal(mu, 1, observed=x_b)
    with pytest.raises(ts.ModelError, match="pathfinder.*minibatch"):
        ts.vi(ts.model(mu), method="pathfinder", progress=False)
