"""ts.glm: formulas on data frames against OLS, simulated truths (correlated group effects
too), the graph's own linear predictor, and bad input. The radon model is checked against
its posteriordb reference posterior in tests/test_examples.py (examples/radon_formula.py)."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from typing import Any

import numpy as np
import pandas as pd
import pytest
from scipy import stats

import tfstats as ts
from tfstats.backends import backend_name
from tfstats.draws import summarise


def _mcmc(model: ts.Model, n: int = 300, chains: int = 2, seed: int = 1) -> ts.Draws:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # short runs: diagnostics are asserted where needed
        return ts.mcmc(model, n_samples=n, warmup=n, chains=chains, seed=seed, progress=False)


# --- OLS: flat priors ------------------------------------------------------------------------

@pytest.fixture(scope="module")
def ols() -> dict[str, Any]:
    rng = np.random.default_rng(4)
    n = 120
    df = pd.DataFrame({"x": rng.normal(size=n), "g": rng.choice(["a", "b", "c"], n)})
    df["y"] = (1.0 + 0.5 * df.x + (df.g == "b") * 1.2 - (df.g == "c") * 0.4
               + 0.3 * df.x * (df.g == "c") + rng.normal(0, 0.7, n))
    flat = {k: ("flat",) for k in ("Intercept", "x", "g", "x:g", "sigma")}
    m = ts.glm("y ~ x * g", df, priors=flat)
    X = np.column_stack([np.ones(n), df.x, df.g == "b", df.g == "c", df.x * (df.g == "b"),
                         df.x * (df.g == "c")]).astype(float)
    coef = np.linalg.lstsq(X, df.y.to_numpy(), rcond=None)[0]
    return {"df": df, "model": m, "ols": coef, "draws": _mcmc(m)}


def _coefficients(values: Any) -> np.ndarray:
    return np.concatenate([np.reshape(values[k], (*np.shape(values[k])[:2], -1))
                           for k in ("Intercept", "x", "g", "x:g")], axis=-1)


def test_names_follow_bambi(ols: dict[str, Any]) -> None:
    m = ols["model"]
    assert m.variable_names == ["Intercept", "x", "g", "x:g", "sigma"]
    assert m.coords == {"g_dim": ["b", "c"], "x:g_dim": ["b", "c"]}
    assert m.dims == {"g": ["g_dim"], "x:g": ["x:g_dim"]}
    rows = ols["draws"].summary().index.tolist()
    assert rows == ["Intercept", "x", "g[b]", "g[c]", "x:g[b]", "x:g[c]", "sigma"]


def test_summary_rows_carry_group_levels(group_fits: dict[str, Any]) -> None:
    _, _, m, draws = group_fits["poisson"]
    assert m.coords["g"] == [f"g{k:02d}" for k in range(12)]
    rows = draws.summary().index.tolist()
    assert rows[:4] == ["Intercept", "x", "1|g[g00]", "1|g[g01]"] and rows[-1] == "1|g_sigma"
    assert draws.to_arviz().posterior["1|g"].coords["g"].values.tolist() == m.coords["g"]


def test_flat_priors_give_ols_posterior_means(ols: dict[str, Any]) -> None:
    draws = ols["draws"]
    coef = _coefficients(draws.values)
    table = summarise({"b": coef})
    z = (table["mean"].to_numpy() - ols["ols"]) / table["mcse_mean"].to_numpy()
    assert np.all(np.abs(z) < 5), z
    assert table["r_hat"].max() < 1.05


def test_opt_gives_ols(ols: dict[str, Any]) -> None:
    fit = ts.opt(ols["model"], seed=1)
    assert fit.converged
    coef = _coefficients({k: np.asarray(v)[None, None] for k, v in fit.par.items()})
    np.testing.assert_allclose(coef[0, 0], ols["ols"], atol=1e-4)
    mean = ols["model"].predict(fit, data=ols["df"].iloc[:5])
    assert mean.shape == (5,)


@pytest.fixture
def restore_backend() -> Iterator[None]:
    before = backend_name()
    yield
    ts.set_backend(before)


def test_opt_gives_ols_on_jax(ols: dict[str, Any], restore_backend: None) -> None:
    pytest.importorskip("jax")
    ts.set_backend("jax")
    fit = ts.opt(ols["model"], seed=1)
    coef = _coefficients({k: np.asarray(v)[None, None] for k, v in fit.par.items()})
    np.testing.assert_allclose(coef[0, 0], ols["ols"], atol=1e-4)


# --- bernoulli and poisson with group terms: coverage of simulated truths ------------------

def _simulate(family: str, seed: int) -> tuple[pd.DataFrame, dict[str, np.ndarray]]:
    rng = np.random.default_rng(seed)
    n, groups = 400, 12
    truth = {"Intercept": np.array([-0.3 if family == "bernoulli" else 0.8]),
             "x": np.array([0.8 if family == "bernoulli" else 0.4]),
             "1|g_sigma": np.array([0.6])}
    truth["1|g"] = rng.normal(0, truth["1|g_sigma"][0], groups)
    g = rng.integers(0, groups, n)
    x = rng.normal(size=n)
    eta = truth["Intercept"][0] + truth["x"][0] * x + truth["1|g"][g]
    y = rng.binomial(1, 1 / (1 + np.exp(-eta))) if family == "bernoulli" else rng.poisson(
        np.exp(eta))
    return pd.DataFrame({"y": y, "x": x, "g": [f"g{k:02d}" for k in g]}), truth


@pytest.fixture(scope="module")
def group_fits() -> dict[str, Any]:
    fits = {}
    for family in ("bernoulli", "poisson"):
        df, truth = _simulate(family, seed=11)
        m = ts.glm("y ~ x + (1 | g)", df, family=family)
        fits[family] = (df, truth, m, _mcmc(m, n=250))
    return fits


@pytest.mark.parametrize("family", ["bernoulli", "poisson"])
def test_group_model_covers_simulated_truth(group_fits: dict[str, Any], family: str) -> None:
    """15 parameters (intercept, slope, group sd, 12 group effects): their 90% intervals
    cover the truth at about the nominal rate. With independent intervals, fewer than 10
    of 15 covered has probability 0.2%."""
    _, truth, _, draws = group_fits[family]
    covered = []
    for name, value in truth.items():
        values = draws[name].reshape(-1, value.size)
        low, high = np.quantile(values, [0.05, 0.95], axis=0)
        covered.extend((low <= value) & (value <= high))
    assert len(covered) == 15
    assert sum(covered) >= 10, covered
    assert stats.binom.cdf(9, 15, 0.9) < 0.003


def test_mean_prediction_is_the_linear_predictor_through_the_link(
        group_fits: dict[str, Any]) -> None:
    _, _, m, draws = group_fits["poisson"]
    predicted = m.predict(draws)
    assert predicted.shape == (2, 250, 400)
    from_graph = ts.calculate(m.formula.mu, values=draws)
    np.testing.assert_allclose(predicted, from_graph, rtol=1e-10)
    np.testing.assert_allclose(np.log(predicted), ts.calculate(m.formula.eta, values=draws),
                               rtol=1e-8, atol=1e-10)


def test_a_new_group_gets_wider_intervals(group_fits: dict[str, Any]) -> None:
    _, _, m, draws = group_fits["bernoulli"]
    new = pd.DataFrame({"x": [0.0, 0.0], "g": ["g03", "a new group"]})
    eta = np.log(m.predict(draws, data=new, seed=2))
    low, high = np.quantile(eta.reshape(-1, 2), [0.05, 0.95], axis=0)
    assert high[1] - low[1] > 1.2 * (high[0] - low[0])
    response = m.predict(draws, data=new, kind="response", seed=2)
    assert response.shape == (2, 250, 2) and set(np.unique(response)) <= {0.0, 1.0}


# --- correlated group effects: (1 + x | g) with an LKJ prior --------------------------------

@pytest.fixture(scope="module")
def correlated_fit() -> dict[str, Any]:
    """40 groups x 10 rows; each group's intercept and slope effects have sds 1 and 0.5
    and correlation 0.8."""
    rng = np.random.default_rng(3)
    groups, per_group, rho = 40, 10, 0.8
    sds = np.array([1.0, 0.5])
    cov = np.outer(sds, sds) * np.array([[1.0, rho], [rho, 1.0]])
    effects = rng.multivariate_normal([0.0, 0.0], cov, groups)
    g = np.repeat(np.arange(groups), per_group)
    x = rng.normal(size=g.size)
    y = 1.0 + 0.5 * x + effects[g, 0] + effects[g, 1] * x + rng.normal(0, 0.5, g.size)
    df = pd.DataFrame({"y": y, "x": x, "g": [f"g{k:02d}" for k in g]})
    m = ts.glm("y ~ x + (1 + x | g)", df)
    return {"df": df, "rho": rho, "model": m, "draws": _mcmc(m, n=250)}


def test_correlated_group_effects_are_named_like_brms(correlated_fit: dict[str, Any]) -> None:
    m, draws = correlated_fit["model"], correlated_fit["draws"]
    assert m.variable_names == ["Intercept", "x", "1|g_sigma", "1|g_offset", "x|g_sigma",
                                "x|g_offset", "g_corr_cholesky", "sigma"]
    assert m.formula.priors["g_corr"] == ("lkj", 1.0)
    rows = draws.summary().index.tolist()
    # the unit diagonal is constant, so it has no row
    assert rows[-4:] == ["x|g_sigma", "g_corr[Intercept, x]", "g_corr[x, Intercept]", "sigma"]
    corr = draws["g_corr"]
    np.testing.assert_allclose(corr[..., [0, 1], [0, 1]], 1.0, atol=1e-6)
    # the effects are the offsets correlated by the Cholesky factor and scaled by the sds
    z = np.stack([draws["1|g_offset"], draws["x|g_offset"]], axis=-1)
    sds = np.stack([draws["1|g_sigma"], draws["x|g_sigma"]], axis=-1)[:, :, None, :]
    expected = np.einsum("cdjm,cdkm->cdjk", z, draws["g_corr_cholesky"]) * sds
    np.testing.assert_allclose(draws["x|g"], expected[..., 1], rtol=1e-6, atol=1e-8)


def test_correlated_group_effects_cover_the_true_correlation(
        correlated_fit: dict[str, Any]) -> None:
    draws = correlated_fit["draws"]
    rho = draws["g_corr"][..., 0, 1].ravel()
    low, high = np.quantile(rho, [0.05, 0.95])
    assert low < correlated_fit["rho"] < high and low > 0.3, (low, high)
    for name, sd in (("1|g_sigma", 1.0), ("x|g_sigma", 0.5)):
        low, high = np.quantile(draws[name], [0.005, 0.995])
        assert low < sd < high, (name, low, high)


def test_a_new_groups_intercept_and_slope_are_drawn_correlated(
        correlated_fit: dict[str, Any]) -> None:
    m, draws = correlated_fit["model"], correlated_fit["draws"]
    new = pd.DataFrame({"x": [0.0, 1.0], "g": ["new", "new"]})
    mean = m.predict(draws, data=new, seed=3)
    intercept = mean[..., 0] - draws["Intercept"]
    slope = mean[..., 1] - mean[..., 0] - draws["x"]
    # 500 draws: the sample correlation of independent effects has sd about 0.045
    observed = np.corrcoef(intercept.ravel(), slope.ravel())[0, 1]
    assert observed > 0.5, observed
    fitted = m.predict(draws, data=correlated_fit["df"].iloc[:3])
    np.testing.assert_allclose(fitted, m.predict(draws)[..., :3], rtol=1e-10)


def test_uncorrelated_group_effects_and_lkj_priors(small: pd.DataFrame) -> None:
    m = ts.glm("y ~ x + (1 + x | county)", small, correlated=False)
    assert "county_corr" not in m.formula.priors and not m.formula.blocks
    assert m.variable_names == ["Intercept", "x", "1|county_sigma", "1|county_offset",
                                "x|county_sigma", "x|county_offset", "sigma"]
    m = ts.glm("y ~ x + (1 + x | county) + (1 | region)", small,
               priors={"county_corr": ("lkj", 2.0)})
    assert m.formula.priors["county_corr"] == ("lkj", 2.0)
    assert "region_corr" not in m.formula.priors  # one coefficient: nothing to correlate
    with pytest.raises(ValueError, match=r"'county_corr'.*takes \('lkj', eta\)"):
        ts.glm("y ~ x + (1 + x | county)", small, priors={"county_corr": ("normal", 0, 1)})
    with pytest.raises(ValueError, match=r"'x'.*'lkj' is the prior of a group's correlation"):
        ts.glm("y ~ x", small, priors={"x": ("lkj", 1.0)})


# --- bad input -------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def small() -> pd.DataFrame:
    return pd.DataFrame({"y": [0.0, 1.0, 1.0, 0.0, 1.0, 0.0], "x": [0.1, 0.5, 0.9, 0.2, 0.4, 1.0],
                         "region": ["a", "b", "a", "b", "a", "b"],
                         "county": ["p", "p", "q", "q", "r", "r"]})


def test_unknown_column_is_named(small: pd.DataFrame) -> None:
    with pytest.raises(ValueError, match=r"'hieght'.*columns are"):
        ts.glm("y ~ hieght", small)


def test_unknown_prior_name_lists_the_terms(small: pd.DataFrame) -> None:
    with pytest.raises(ValueError, match=r"\['slope'\].*terms are \['Intercept', 'x', "
                                         r"'1\|county_sigma', 'sigma'\]"):
        ts.glm("y ~ x + (1 | county)", small, priors={"slope": ("normal", 0, 1)})
    with pytest.raises(ValueError, match=r"1\|county_sigma"):
        ts.glm("y ~ x + (1 | county)", small, priors={"1|county": ("normal", 0, 1)})
    with pytest.raises(ValueError, match="unknown distribution 'normall'"):
        ts.glm("y ~ x", small, priors={"x": ("normall", 0, 1)})


def test_a_prior_argument_outside_its_support_names_the_unknown(small: pd.DataFrame) -> None:
    with pytest.raises(ts.ModelError, match=r"the prior of 'x': normal: sd must be positive"):
        ts.glm("y ~ x", small, priors={"x": ("normal", 0, -1)})
    with pytest.raises(ts.ModelError, match=r"the prior of '1\|county_sigma': half_normal"):
        ts.glm("y ~ x + (1 | county)", small, priors={"1|county_sigma": ("half_normal", 0)})


def test_unseen_factor_level_at_predict_time_is_named(small: pd.DataFrame) -> None:
    m = ts.glm("y ~ x + region", small)
    fit = {"Intercept": np.zeros((1, 2)), "x": np.ones((1, 2)), "region": np.ones((1, 2)),
           "sigma": np.ones((1, 2))}
    assert m.predict(fit, data=small).shape == (1, 2, 6)
    with pytest.raises(ValueError, match=r"\(west\).*'region'"):
        m.predict(fit, data=pd.DataFrame({"x": [0.2], "region": ["west"]}))


def test_missing_values_are_named_or_dropped(small: pd.DataFrame) -> None:
    holes = small.assign(x=[0.1, np.nan, 0.9, 0.2, 0.4, 1.0])
    with pytest.raises(ValueError, match=r"column\(s\) \['x'\]"):
        ts.glm("y ~ x", holes)
    with pytest.warns(UserWarning, match="dropped 1 of 6 rows"):
        m = ts.glm("y ~ x", holes, dropna=True)
    assert m.formula.design.n_rows == 5 and m.formula.dropped == 1
    fit = {"Intercept": np.zeros((1, 1)), "x": np.ones((1, 1)), "sigma": np.ones((1, 1))}
    with pytest.raises(ValueError, match=r"new data.*\['x'\]"):
        m.predict(fit, data=holes)


def test_bad_responses_are_named(small: pd.DataFrame) -> None:
    with pytest.raises(ValueError, match=r"bernoulli.*'x'"):
        ts.glm("x ~ region", small, family="bernoulli")
    with pytest.raises(ValueError, match=r"non-negative integer counts.*'x'"):
        ts.glm("x ~ region", small, family="poisson")
    with pytest.raises(ValueError, match=r"'region' is a text or categorical column with 2 "
                                         r"levels; write region\[level\]"):
        ts.glm("region ~ x", small, family="bernoulli")
    m = ts.glm("region[b] ~ x", small, family="bernoulli")
    np.testing.assert_array_equal(m.formula.response, (small.region == "b").to_numpy(float))
    with pytest.raises(ValueError, match="unknown family 'gamma_ray'"):
        ts.glm("y ~ x", small, family="gamma_ray")
    with pytest.raises(ValueError, match=r"link \['logit', 'probit', 'cloglog'\]"):
        ts.glm("y ~ x", small, family="bernoulli", link="log")


def test_binomial_negative_binomial_and_student_build(small: pd.DataFrame) -> None:
    counts = small.assign(k=[1, 3, 2, 0, 4, 2], n=[4, 4, 5, 5, 6, 6])
    m = ts.glm("p(k, n) ~ x + (1 | county)", counts, family="binomial")
    assert m.variable_names == ["Intercept", "x", "1|county_sigma", "1|county_offset"]
    values = {"Intercept": 0.0, "x": 0.0, "1|county_sigma": 1.0,
              "1|county_offset": np.zeros(3)}
    expected = np.sum(stats.binom.logpmf(counts.k, counts.n, 0.5))
    priors = m.formula.priors
    expected += stats.norm.logpdf(0.0, *priors["Intercept"][1:])
    expected += stats.norm.logpdf(0.0, *priors["x"][1:])
    expected += stats.halfnorm.logpdf(1.0, scale=priors["1|county_sigma"][1])
    expected += np.sum(stats.norm.logpdf(np.zeros(3)))
    assert m.log_prob(values) == pytest.approx(expected, rel=1e-10)
    nb = ts.glm("k ~ x", counts, family="negative_binomial")
    assert nb.variable_names == ["Intercept", "x", "alpha"]
    lp = nb.log_prob({"Intercept": np.log(2.0), "x": 0.0, "alpha": 3.0})
    expected = np.sum(stats.nbinom.logpmf(counts.k, 3.0, 3.0 / 5.0))
    expected += stats.norm.logpdf(np.log(2.0), *nb.formula.priors["Intercept"][1:])
    expected += stats.norm.logpdf(0.0, *nb.formula.priors["x"][1:])
    expected += np.log(2 / np.pi / (1 + 9.0))  # half-Cauchy(1) at 3
    assert lp == pytest.approx(expected, rel=1e-10)
    student = ts.glm("x ~ region", small, family="student")
    assert student.variable_names == ["Intercept", "region", "sigma", "nu"]


def test_inverse_links_agree_in_the_graph_and_in_numpy() -> None:
    from tfstats.formulas.family import inverse_link, inverse_link_numpy

    eta = np.array([[0.3, -1.2, 2.0], [5.0, 0.0, -3.0]])
    for link in ("identity", "log", "logit", "probit", "cloglog", "softmax"):
        graph = ts.calculate(inverse_link(link, ts.as_data(eta)), nsim=1)[0]
        np.testing.assert_allclose(graph, inverse_link_numpy(link, eta), rtol=1e-6,
                                   err_msg=link)


# --- pickling ----------------------------------------------------------------------------------

def _formula_fit(data: pd.DataFrame) -> tuple[ts.Model, ts.OptResult]:
    unrelated = np.zeros(2_000_000)  # the caller's locals must not travel with the model
    m = ts.glm("y ~ np.log(x) + scale(x) + (1 | county)", data)
    assert unrelated.size
    return m, ts.opt(m, seed=1)


def test_a_formula_model_pickles_without_the_callers_namespace(small: pd.DataFrame) -> None:
    import pickle

    m, fit = _formula_fit(small)
    new = pd.DataFrame({"x": [0.3, 0.7], "county": ["p", "zz"]})
    blob = pickle.dumps((m, fit))
    assert len(blob) < 1_000_000, len(blob)
    m_again, fit_again = pickle.loads(blob)
    np.testing.assert_allclose(m_again.predict(fit_again, data=new, seed=1),
                               m.predict(fit, data=new, seed=1))
    assert m_again.formula.design.matrices.env.namespace["np"] is np
