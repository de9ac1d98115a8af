"""Draws: access, summary, diagnostics and their warnings, ArviZ / pandas export, save and
load. Most tests share one NUTS fit of eight schools (the posteriordb test fits the same
model object with the same settings, so it is compiled once per session)."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import arviz as az
import numpy as np
import pandas as pd
import pytest
import scipy.stats as st
from arviz_stats.base import array_stats

import tfstats as ts
from tests.tfstats.posteriordb_models import load_data, shared_model

POSTERIOR = "eight_schools-eight_schools_noncentered"
COLUMNS = ["mean", "sd", "q5", "q50", "q95", "ess_bulk", "ess_tail", "r_hat"]


@pytest.fixture(scope="module")
def fit() -> dict[str, Any]:
    model, _ = shared_model(POSTERIOR)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        draws = ts.mcmc(model, n_samples=1000, warmup=1000, chains=4, sampler=ts.nuts(),
                        seed=1, progress=False)
    return {"model": model, "draws": draws, "warnings": caught}


@pytest.fixture(scope="module")
def draws(fit: dict) -> ts.Draws:
    return fit["draws"]


# --- access --------------------------------------------------------------------------------------


def test_draws_are_arrays_of_chains_by_draws_by_shape(draws: ts.Draws) -> None:
    assert draws["theta"].shape == (4, 1000, 8)
    assert draws["theta_trans"].shape == (4, 1000, 8)
    assert draws["mu"].shape == (4, 1000)
    assert draws["tau"].shape == (4, 1000)
    assert isinstance(draws["mu"], np.ndarray)
    assert draws["mu"].dtype == np.float64
    assert (draws.n_chains, draws.n_draws) == (4, 1000)
    assert set(draws.keys()) == {"mu", "tau", "theta_trans", "theta"}
    assert "theta" in draws and "sigma" not in draws
    assert set(draws) == set(draws.keys())
    assert "4 chains x 1000 draws" in repr(draws)


def test_unknown_name_lists_the_available_ones(draws: ts.Draws) -> None:
    with pytest.raises(KeyError, match="available.*theta"):
        draws["sigma"]


def test_sampler_statistics(draws: ts.Draws) -> None:
    for name in ("accept", "divergent", "n_steps", "energy", "step_size", "log_density"):
        assert draws.stats[name].shape == (4, 1000), name
        assert np.all(np.isfinite(draws.stats[name])), name
    assert np.all((draws.stats["accept"] >= 0) & (draws.stats["accept"] <= 1))
    assert set(np.unique(draws.stats["divergent"])) <= {0.0, 1.0}
    assert draws.step_size.shape == (4,)
    assert np.all(draws.step_size > 0)
    assert draws.inverse_mass.shape == (4, 10)  # mu, tau, theta_trans[8] unconstrained
    assert np.all(draws.inverse_mass > 0)
    assert np.all(draws.tree_depth >= 1) and np.all(draws.tree_depth <= 10)
    # the step size of the kept draws is the tuned one
    np.testing.assert_allclose(draws.stats["step_size"],
                               np.broadcast_to(draws.step_size[:, None], (4, 1000)))


def test_divergences_is_an_int_count(draws: ts.Draws) -> None:
    assert isinstance(draws.divergences, int)
    assert draws.divergences == int(draws.stats["divergent"].sum())
    assert 0 <= draws.divergences < 100  # the non-centred form has few


# --- summary -------------------------------------------------------------------------------------


def test_summary_rows_and_columns(draws: ts.Draws) -> None:
    table = draws.summary()
    assert isinstance(table, pd.DataFrame)
    assert list(table.index) == ["mu", "tau"] + [f"theta[{i}]" for i in range(8)]
    assert all(column in table.columns for column in COLUMNS)
    assert list(draws.summary(["theta_trans"]).index) == [f"theta_trans[{i}]"
                                                          for i in range(8)]


def test_summary_values(draws: ts.Draws) -> None:
    table = draws.summary()
    theta = draws["theta"].reshape(-1, 8)
    rows = [f"theta[{i}]" for i in range(8)]
    np.testing.assert_allclose(table.loc[rows, "mean"], theta.mean(axis=0))
    np.testing.assert_allclose(table.loc[rows, "sd"], theta.std(axis=0, ddof=1))
    for column, q in (("q5", 0.05), ("q50", 0.5), ("q95", 0.95)):
        np.testing.assert_allclose(table.loc[rows, column], np.quantile(theta, q, axis=0))
    np.testing.assert_allclose(table.loc["tau", "mean"], draws["tau"].mean())
    # diagnostics as ArviZ computes them (rank-normalised split R-hat, bulk / tail ESS)
    idata = az.from_dict(posterior={"theta": draws["theta"]})
    reference = az.summary(idata, kind="diagnostics", round_to="none")
    np.testing.assert_allclose(table.loc[rows, "ess_bulk"], reference["ess_bulk"], rtol=1e-6)
    np.testing.assert_allclose(table.loc[rows, "ess_tail"], reference["ess_tail"], rtol=1e-6)
    np.testing.assert_allclose(table.loc[rows, "r_hat"], reference["r_hat"], atol=1e-6)
    assert table["r_hat"].max() < 1.01
    assert table["ess_bulk"].min() > 400


def test_summary_of_a_matrix_names_rows_by_both_indices() -> None:
    values = np.random.default_rng(1).normal(size=(2, 50, 2, 3))
    draws = ts.Draws({"L": values}, {})
    table = draws.summary()
    assert list(table.index) == ["L[0, 0]", "L[0, 1]", "L[0, 2]", "L[1, 0]", "L[1, 1]",
                                 "L[1, 2]"]
    np.testing.assert_allclose(table.loc["L[1, 2]", "mean"], values[..., 1, 2].mean())


def test_healthy_fit_gives_no_warning(fit: dict) -> None:
    """Warnings only when something is wrong: the shared fit (non-centred eight schools,
    4 x 1000 draws) has chains that agree and enough draws (asserted above), so nothing is
    said of them. The non-centred form still has a rare divergence at the default
    ``target_accept=0.8`` (one in 4,000 draws on JAX at this seed, none on TensorFlow):
    then that, and only that, is warned of."""
    messages = [str(w.message) for w in fit["warnings"] if "MCMC diagnostics" in str(w.message)]
    n = fit["draws"].divergences
    if n == 0:
        assert not messages
    else:
        assert len(messages) == 1, messages
        assert f"MCMC diagnostics: {n} divergent transitions after warmup" in messages[0]
        assert "r_hat" not in messages[0] and "ESS" not in messages[0], messages[0]


@pytest.fixture(scope="module")
def stiff() -> ts.Model:
    """A posterior with sd 0.001: unit leapfrog steps diverge."""
    mu = ts.normal(0, 1)
    ts.normal(mu, 0.01, observed=np.linspace(-0.1, 0.1, 100))
    return ts.model(mu)


def test_unhealthy_fits_warn(stiff: ts.Model) -> None:
    """No warmup (so the step size stays 1) and few draws: divergences, chains that
    disagree and a low ESS are all reported."""
    with pytest.warns(UserWarning, match="MCMC diagnostics") as caught:
        draws = ts.mcmc(stiff, n_samples=30, warmup=0, chains=4, seed=1, progress=False)
    message = " ".join(str(w.message) for w in caught)
    diagnostics = [w for w in caught if "MCMC diagnostics" in str(w.message)]
    assert {w.filename for w in diagnostics} == {__file__}  # the user's line, not tfstats'
    assert draws.divergences > 0
    assert "divergent transitions" in message
    assert "r_hat" in message and "> 1.01" in message
    assert "ESS" in message
    assert str(draws.divergences) in message


def test_short_run_warns_about_low_ess(stiff: ts.Model) -> None:
    with pytest.warns(UserWarning, match=r"bulk ESS as low as \d+ .*mu"):
        ts.mcmc(stiff, n_samples=20, warmup=100, chains=4, seed=2, progress=False)


def test_warn_if_unhealthy_is_silent_for_iid_draws() -> None:
    rng = np.random.default_rng(3)
    draws = ts.Draws({"x": rng.normal(size=(4, 1000, 2))},
                     {"divergent": np.zeros((4, 1000))})
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        draws.warn_if_unhealthy()


def test_warn_if_unhealthy_flags_disagreeing_chains() -> None:
    rng = np.random.default_rng(3)
    values = rng.normal(size=(4, 1000)) + np.array([0.0, 0.0, 0.0, 1.0])[:, None]
    draws = ts.Draws({"x": values}, {"divergent": np.zeros((4, 1000))})
    with pytest.warns(UserWarning, match=r"r_hat up to .* for \['x'\]"):
        draws.warn_if_unhealthy()


# --- export --------------------------------------------------------------------------------------


def test_to_arviz(draws: ts.Draws) -> None:
    idata = draws.to_arviz()
    assert {"posterior", "sample_stats", "log_likelihood", "observed_data"} <= set(
        idata.groups())
    np.testing.assert_array_equal(idata.posterior["theta"].values, draws["theta"])
    assert idata.posterior.sizes["chain"] == 4 and idata.posterior.sizes["draw"] == 1000
    assert int(idata.sample_stats["diverging"].values.sum()) == draws.divergences
    table = az.summary(idata, var_names=["mu", "tau", "theta"], round_to="none")
    ours = draws.summary()
    np.testing.assert_allclose(table.loc[ours.index, "mean"], ours["mean"])
    np.testing.assert_allclose(table.loc[ours.index, "r_hat"], ours["r_hat"], atol=1e-6)


def test_to_arviz_log_likelihood_is_pointwise(draws: ts.Draws) -> None:
    data = load_data(POSTERIOR)
    idata = draws.to_arviz()
    (name,) = list(idata.log_likelihood.data_vars)
    loglik = idata.log_likelihood[name].values
    assert loglik.shape == (4, 1000, 8)
    expected = st.norm.logpdf(data["y"], draws["theta"], data["sigma"])
    np.testing.assert_allclose(loglik, expected, rtol=1e-8)
    np.testing.assert_array_equal(idata.observed_data[name].values, data["y"])


def test_loo_works(draws: ts.Draws) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # Pareto k warnings are ArviZ's business
        loo = az.loo(draws.to_arviz())
    # elpd_loo is below the log predictive density at the posterior draws
    assert np.isfinite(loo.elpd_loo)
    assert -40 < loo.elpd_loo < -25
    assert 0 < loo.p_loo < 4


def test_to_arviz_without_log_likelihood(draws: ts.Draws) -> None:
    idata = draws.to_arviz(log_likelihood=False)
    assert "log_likelihood" not in idata.groups()


def test_to_dataframe(draws: ts.Draws) -> None:
    frame = draws.to_dataframe()
    assert list(frame.columns) == ["chain", "draw", "mu", "tau"] + [f"theta[{i}]"
                                                                    for i in range(8)]
    assert len(frame) == 4000
    np.testing.assert_array_equal(frame["chain"], np.repeat(np.arange(4), 1000))
    np.testing.assert_array_equal(frame["draw"], np.tile(np.arange(1000), 4))
    np.testing.assert_array_equal(frame["theta[3]"], draws["theta"][:, :, 3].reshape(-1))
    np.testing.assert_array_equal(frame["mu"], draws["mu"].reshape(-1))
    only = draws.to_dataframe(["tau"])
    assert list(only.columns) == ["chain", "draw", "tau"]


def test_save_and_load_round_trip(draws: ts.Draws, tmp_path: Path) -> None:
    path = tmp_path / "draws.npz"
    draws.save(str(path))
    loaded = ts.Draws.load(str(path))
    assert set(loaded.keys()) == set(draws.keys())
    for name in draws:
        np.testing.assert_array_equal(loaded[name], draws[name])
    for name, value in draws.stats.items():
        np.testing.assert_array_equal(loaded.stats[name], value)
    assert loaded.targets == draws.targets
    assert loaded.thin == draws.thin
    assert loaded.divergences == draws.divergences
    pd.testing.assert_frame_equal(loaded.summary(), draws.summary())
    pd.testing.assert_frame_equal(loaded.to_dataframe(), draws.to_dataframe())
    idata = loaded.to_arviz()  # no model: no log-likelihood, but the rest
    assert "posterior" in idata.groups() and "log_likelihood" not in idata.groups()
    with pytest.raises(ValueError, match="loaded from a file"):
        ts.calculate(shared_model(POSTERIOR)[0].targets["theta"], values=loaded)
    draws.save(str(tmp_path / "no_suffix"))  # numpy adds .npz; load finds it by either name
    np.testing.assert_array_equal(ts.Draws.load(str(tmp_path / "no_suffix"))["mu"],
                                  draws["mu"])
    with pytest.raises(ValueError, match="no sampler state"):
        ts.extra_samples(loaded, 10, progress=False)


def test_ess_matches_arviz_stats_directly(draws: ts.Draws) -> None:
    values = draws["mu"]
    ess = float(array_stats.ess(values, chain_axis=0, draw_axis=1, method="bulk"))
    np.testing.assert_allclose(draws.summary(["mu"]).loc["mu", "ess_bulk"], ess)
