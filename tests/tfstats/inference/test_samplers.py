"""Every sampler draws from the exact posterior of conjugate and bounded models.

Tolerances come from each run's own Monte Carlo error: the mean within 4 MCSE
(``sd / sqrt(ess_bulk)``) of the exact mean, the sd within 4 MCSE of the sd (ArviZ's
``mcse(method="sd")``, which accounts for the autocorrelation of squared deviations) plus
1% slack. Seeds are fixed; each model object is shared by all four samplers.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from arviz_stats.base import array_stats

import tfstats as ts
from tests.tfstats.inference.conjugate import CASES, case

SEED = 1
CHAINS = 4
SAMPLERS = {
    "nuts": (ts.nuts(), 1000),
    "hmc": (ts.hmc(), 1000),
    "rwmh": (ts.rwmh(), 4000),  # about 0.4 effective draws per iteration: draw more
    "slice": (ts.slice(), 1000),
}


@pytest.mark.parametrize("sampler", list(SAMPLERS))
@pytest.mark.parametrize("name", list(CASES))
def test_posterior_moments_are_exact(name: str, sampler: str) -> None:
    exact = case(name)
    spec, n_samples = SAMPLERS[sampler]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # diagnostics are asserted below
        draws = ts.mcmc(exact.model, n_samples=n_samples, warmup=1000, chains=CHAINS,
                        sampler=spec, seed=SEED, progress=False)
    values = draws[exact.name]
    assert values.shape == (CHAINS, n_samples)
    row = draws.summary().loc[exact.name]
    assert row["r_hat"] < 1.05, row
    assert row["ess_bulk"] > 400, row
    mcse_mean = row["sd"] / np.sqrt(row["ess_bulk"])
    assert abs(row["mean"] - exact.mean) < 4 * mcse_mean, (row["mean"], exact.mean, mcse_mean)
    mcse_sd = float(array_stats.mcse(values, chain_axis=0, draw_axis=1, method="sd"))
    assert abs(row["sd"] - exact.sd) < 4 * mcse_sd + 0.01 * exact.sd, (
        row["sd"], exact.sd, mcse_sd)


@pytest.mark.parametrize("name", list(CASES))
def test_draws_respect_the_support(name: str) -> None:
    """Reuses the NUTS fit above (same settings, so no new compilation)."""
    exact = case(name)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        draws = ts.mcmc(exact.model, n_samples=1000, warmup=1000, chains=CHAINS,
                        sampler=ts.nuts(), seed=SEED, progress=False)
    values = draws[exact.name]
    assert np.all(np.isfinite(values))
    if name == "beta_binomial":
        assert np.all((values > 0) & (values < 1))
    elif name == "gamma_poisson":
        assert np.all(values > 0)
    elif name == "truncated_normal":
        assert np.all((values > 0) & (values < 1))
