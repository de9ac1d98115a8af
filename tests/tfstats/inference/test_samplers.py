"""Every sampler draws from the exact posterior of conjugate and bounded models.

Tolerances come from each run's own Monte Carlo error: the mean within 4 MCSE
(``sd / sqrt(ess_bulk)``) of the exact mean, the sd within 4 MCSE of the sd (ArviZ's
``mcse(method="sd")``, which accounts for the autocorrelation of squared deviations) plus
1% slack. Seeds are fixed. The four conjugate cases are fitted together, as the
independent unknowns of one model, once per sampler (one compilation each).
"""

from __future__ import annotations

import functools
import warnings

import numpy as np
import pytest
from arviz_stats.base import array_stats

import tfstats as ts
from tests.tfstats.inference.conjugate import CASES, Case, case

SEED = 1
CHAINS = 4
SAMPLERS = {
    "nuts": (ts.nuts(), 1000),
    "hmc": (ts.hmc(), 1000),
    "rwmh": (ts.rwmh(), 4000),  # about 0.15 effective draws per iteration: draw more
    "slice": (ts.slice(), 2000),  # 0.09-0.18 effective draws per iteration here
}


@functools.cache
def joint() -> tuple[ts.Model, dict[str, Case]]:
    """The four cases as independent unknowns of one model, named after the cases: each
    unknown's posterior is as in its own model, and a sampler compiles one program for
    all four."""
    cases = {name: build() for name, build in CASES.items()}
    return ts.model(**{name: c.unknown for name, c in cases.items()}), cases


@functools.cache
def _joint_draws(sampler: str) -> ts.Draws:
    """One fit of all four cases (independent unknowns of one model) by ``sampler``: one
    compilation per sampler instead of one per case and sampler."""
    model, _ = joint()
    spec, n_samples = SAMPLERS[sampler]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # diagnostics are asserted below
        return ts.mcmc(model, n_samples=n_samples, warmup=1000, chains=CHAINS, sampler=spec,
                       seed=SEED, progress=False)


@pytest.mark.parametrize("sampler", list(SAMPLERS))
@pytest.mark.parametrize("name", list(CASES))
def test_posterior_moments_are_exact(name: str, sampler: str) -> None:
    exact = joint()[1][name]
    draws = _joint_draws(sampler)
    n_samples = SAMPLERS[sampler][1]
    values = draws[name]
    assert values.shape == (CHAINS, n_samples)
    row = draws.summary().loc[name]
    assert row["r_hat"] < 1.05, row
    assert row["ess_bulk"] > 400, row
    mcse_mean = row["sd"] / np.sqrt(row["ess_bulk"])
    assert abs(row["mean"] - exact.mean) < 4 * mcse_mean, (row["mean"], exact.mean, mcse_mean)
    mcse_sd = float(array_stats.mcse(values, chain_axis=0, draw_axis=1, method="sd"))
    assert abs(row["sd"] - exact.sd) < 4 * mcse_sd + 0.01 * exact.sd, (
        row["sd"], exact.sd, mcse_sd)


@pytest.mark.parametrize("name", list(CASES))
def test_draws_respect_the_support(name: str) -> None:
    """Reuses the NUTS fit above."""
    values = _joint_draws("nuts")[name]
    assert np.all(np.isfinite(values))
    if name == "beta_binomial":
        assert np.all((values > 0) & (values < 1))
    elif name == "gamma_poisson":
        assert np.all(values > 0)
    elif name == "truncated_normal":
        assert np.all((values > 0) & (values < 1))


@pytest.fixture(scope="module")
def triangle() -> ts.Model:
    """``a ~ uniform(0, 1)`` and ``b`` flat on ``(0, 1 - a)``: uniform on the triangle
    ``a, b > 0, a + b < 1``, where ``a`` and ``b`` have density ``2 (1 - x)``."""
    a = ts.uniform(0, 1)
    b = ts.variable(lower=0, upper=1 - a)
    return ts.model(a, b)


def test_bound_depending_on_a_parameter(triangle: ts.Model) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        draws = ts.mcmc(triangle, n_samples=1000, warmup=1000, chains=CHAINS,
                        sampler=ts.nuts(), seed=SEED, progress=False)
    assert np.all(draws["b"] > 0) and np.all(draws["a"] + draws["b"] < 1)
    table = draws.summary()
    # marginal density 2 (1 - x) on (0, 1): mean 1/3, sd sqrt(1/18)
    for name in ("a", "b"):
        row = table.loc[name]
        assert row["r_hat"] < 1.01, row
        assert abs(row["mean"] - 1 / 3) < 4 * row["sd"] / np.sqrt(row["ess_bulk"]), row
        mcse_sd = float(array_stats.mcse(draws[name], chain_axis=0, draw_axis=1,
                                         method="sd"))
        assert abs(row["sd"] - np.sqrt(1 / 18)) < 4 * mcse_sd + 0.01 * np.sqrt(1 / 18), row
    # corr(a, b) = -1/2 on the triangle; its standard error is about (1 - 1/4) / sqrt(ess)
    corr = np.corrcoef(draws["a"].reshape(-1), draws["b"].reshape(-1))[0, 1]
    assert abs(corr + 0.5) < 4 * 0.75 / np.sqrt(table["ess_bulk"].min()), corr


@pytest.mark.slow
def test_slice_sd_is_unbiased_in_long_runs() -> None:
    """800,000 draws resolve the sd to about 0.1%: the bias of too few doublings
    (``max_doublings=5``) shows at 4-7 MCSE. The draws come from 16 chains of 50,000: the
    chains are vectorised, so an iteration of 16 costs little more than one of 4, and the
    run takes about 40 % less time than 4 chains of 200,000 (which gave the same MCSE)."""
    exact = case("normal_normal")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        draws = ts.mcmc(exact.model, n_samples=50_000, warmup=1000, chains=16,
                        sampler=ts.slice(initial_step_size=0.25), seed=SEED, progress=False)
    values = draws[exact.name]
    mcse_sd = float(array_stats.mcse(values, chain_axis=0, draw_axis=1, method="sd"))
    assert abs(values.std(ddof=1) - exact.sd) < 4 * mcse_sd, (values.std(ddof=1), exact.sd,
                                                               mcse_sd)


def test_hmc_step_jitter_keeps_draws_from_turning_periodic() -> None:
    """A fixed trajectory length can hit a period of the target: without the jitter,
    gamma-Poisson draws had an ESS of 248-451 of 4000 (JAX, seeds 1-3); with it 3100-3470
    (TensorFlow 2730-2940)."""
    exact = case("gamma_poisson")
    for seed in (1, 2, 3):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            draws = ts.mcmc(exact.model, n_samples=1000, warmup=1000, chains=CHAINS,
                            sampler=ts.hmc(), seed=seed, progress=False)
        assert draws.summary().loc[exact.name, "ess_bulk"] > 1500, seed


def test_step_jitter_must_be_a_fraction() -> None:
    with pytest.raises(ValueError, match="step_jitter must be in"):
        ts.hmc(step_jitter=1.5)


def test_step_jitter_spreads_the_step_size_within_its_band() -> None:
    """The default jitter (0.15) from the HMC fit above; no jitter in a short run."""
    exact = case("normal_normal")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fixed = ts.mcmc(exact.model, n_samples=200, warmup=200, chains=2,
                        sampler=ts.hmc(step_jitter=0.0), seed=SEED, progress=False)
    assert ts.hmc().step_jitter == 0.15
    steps = {jitter: draws.stats["step_size"] / draws.step_size[:, None]
             for jitter, draws in ((0.0, fixed), (0.15, _joint_draws("hmc")))}
    np.testing.assert_allclose(steps[0.0], 1.0, rtol=1e-5)  # the adapted step, fixed
    ratio = steps[0.15]
    assert ratio.min() >= 0.85 - 1e-5 and ratio.max() <= 1.15 + 1e-5
    assert ratio.std() > 0.05  # uniform on [0.85, 1.15]: sd 0.087
