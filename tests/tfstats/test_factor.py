"""ts.factor: an arbitrary log-density term in log_prob, MAP / MLE, MCMC (an HMM by the
forward algorithm) and left out of predictive simulation."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest
from scipy import stats

import tfstats as ts

ROOT = Path(__file__).resolve().parents[2]


def test_log_prob_adds_a_scalar_factor() -> None:
    mu = ts.normal(1, 2)
    ts.factor(-0.5 * mu**2 + np.log(mu + 3))
    m = ts.model(mu)
    expected = stats.norm.logpdf(0.4, 1, 2) - 0.5 * 0.4**2 + np.log(3.4)
    assert m.log_prob({"mu": 0.4}) == pytest.approx(expected, rel=1e-12)


def test_log_prob_sums_an_array_factor() -> None:
    x = ts.normal(0, 1, dim=3)
    w = np.array([0.5, -1.0, 2.0])
    ts.factor(w * np.sin(x))
    ts.factor(x[0] * x[2])                     # a second term adds, it does not replace
    m = ts.model(x)
    v = np.array([0.3, -0.7, 1.2])
    expected = stats.norm.logpdf(v).sum() + np.sum(w * np.sin(v)) + v[0] * v[2]
    assert m.log_prob({"x": v}) == pytest.approx(expected, rel=1e-12)


def test_factor_counts_in_map_and_mle() -> None:
    """A flat unknown with factor -(mu - 2)^2 / 2: the mode is 2 whether or not the
    Jacobian is adjusted (the factor is part of the density, as PyMC's Potential)."""
    mu = ts.variable()
    ts.factor(-0.5 * (mu - 2.0) ** 2)
    m = ts.model(mu)
    for adjust in (True, False):
        fit = ts.opt(m, adjust=adjust, seed=1)
        assert fit.converged
        assert fit.par["mu"] == pytest.approx(2.0, abs=1e-5)


def test_factor_is_left_out_of_simulation() -> None:
    """Prior simulation draws from the distributions only: a factor that would shrink mu
    to sd 0.1 does not change its simulated sd (1)."""
    mu = ts.normal(0, 1)
    ts.factor(-50.0 * mu**2)
    y = ts.normal(mu, 1, observed=np.array([0.2, 0.4]))
    sims = ts.calculate(mu, y, nsim=4000, seed=3)
    assert abs(sims["mu"].std() - 1.0) < 0.05        # sd of the sd estimate: 0.011
    assert abs(sims["y"].std() - np.sqrt(2.0)) < 0.07


def test_factor_needs_an_unknown() -> None:
    with pytest.raises(ts.ModelError, match="depends on no unknown"):
        ts.factor(np.array([1.0, 2.0]))
    with pytest.raises(ts.ModelError, match="numeric"):
        ts.factor(ts.normal(0, 1) > 0)


def _example(name: str):
    spec = importlib.util.spec_from_file_location(name, ROOT / "examples" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.slow
def test_hmm_forward_algorithm_recovers_the_chain(capsys: pytest.CaptureFixture) -> None:
    """examples/hmm_forward.py (scan + factor) on a simulated chain of 200 steps: every
    parameter's posterior covers the truth (within 4 posterior sd plus 4 MCSE)."""
    example = _example("hmm_forward")
    draws = example.main(n_steps=200, n_samples=300, warmup=300, chains=2, progress=False)
    assert "stay[0]" in capsys.readouterr().out
    table = draws.summary()
    truth = {"stay[0]": 0.9, "stay[1]": 0.8, "mu[0]": -1.0, "mu[1]": 2.0, "sigma": 0.7}
    for name, value in truth.items():
        row = table.loc[name]
        assert abs(row["mean"] - value) < 4 * row["sd"] + 4 * row["mcse_mean"], name
    assert table["r_hat"].max() < 1.05
    assert draws.divergences == 0
