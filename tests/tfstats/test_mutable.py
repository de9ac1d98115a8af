"""Mutable data: ``ts.as_data(x, mutable=True)`` and ``Model.set_data``: new values of the
same shape reach opt, mcmc, vi and calculate without tracing any function again."""

from __future__ import annotations

import numpy as np
import pytest

import tfstats as ts

N = 30


def _regression(seed: int, slope: float) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=N)
    return x, 1.0 + slope * x + rng.normal(scale=0.5, size=N)


@pytest.fixture(scope="module")
def regression() -> dict:
    x_np, y_np = _regression(1, 2.0)
    x = ts.as_data(x_np, mutable=True)
    y = ts.as_data(y_np, mutable=True)
    a = ts.normal(0, 5)
    b = ts.normal(0, 5)
    s = ts.variable(lower=0)
    mu = a + b * x
    ts.normal(mu, s, observed=y)
    m = ts.model(a, b, s, mu)
    return {"model": m, "mu": mu, "y": y}


def test_names_and_arguments(regression: dict) -> None:
    m = regression["model"]
    assert sorted(m.mutable_data) == ["x", "y"]
    assert m.observed_names == ["y"]
    mutable = [n for nodes in m.mutable_data.values() for n in nodes]
    assert all(any(n is d for d in m.data_nodes) for n in mutable)


def test_opt_and_calculate_after_set_data_do_not_trace(regression: dict,
                                                        traces: dict[str, int]) -> None:
    m, mu = regression["model"], regression["mu"]
    m.set_data(x=_regression(1, 2.0)[0], y=_regression(1, 2.0)[1])
    first = ts.opt(m, seed=1)
    assert abs(first.par["b"] - 2.0) < 0.4
    assert traces["n"] > 0 or m._cache  # traced now, or by an earlier test of this model
    before = traces["n"]
    x_new, y_new = _regression(2, -1.0)
    m.set_data(x=x_new, y=y_new)
    second = ts.opt(m, seed=1)
    assert traces["n"] == before  # nothing traced again
    assert abs(second.par["b"] + 1.0) < 0.4
    fitted = ts.calculate(mu, values=second)
    np.testing.assert_allclose(fitted, second.par["a"] + second.par["b"] * x_new, rtol=1e-6)


@pytest.mark.filterwarnings("ignore:MCMC diagnostics")  # short chains
def test_mcmc_after_set_data_does_not_trace(regression: dict, traces: dict[str, int]) -> None:
    m = regression["model"]
    x1, y1 = _regression(3, 0.5)
    m.set_data(x=x1, y=y1)
    settings = {"n_samples": 200, "warmup": 200, "chains": 2, "progress": False}
    draws1 = ts.mcmc(m, seed=1, **settings)
    before = traces["n"]
    x2, y2 = _regression(4, 3.0)
    m.set_data(x=x2, y=y2)
    draws2 = ts.mcmc(m, seed=1, **settings)
    assert traces["n"] == before
    # posterior sd of the slope is about 0.5 / sqrt(N) ~ 0.09: the means differ by 2.5
    assert abs(draws1["b"].mean() - 0.5) < 0.3
    assert abs(draws2["b"].mean() - 3.0) < 0.3
    # posterior predictive over the new data: replicates centre on the new means
    replicates = ts.calculate(regression["y"], values=draws2, seed=1)
    assert replicates.shape == (2, 200, N)
    assert np.corrcoef(replicates.mean(axis=(0, 1)), y2)[0, 1] > 0.9


def test_shape_change_is_an_error(regression: dict) -> None:
    m = regression["model"]
    with pytest.raises(ts.ModelError, match=r"'x' has shape \(30,\).*shape \(5,\)"):
        m.set_data(x=np.zeros(5))


def test_bad_values_change_nothing(regression: dict) -> None:
    m = regression["model"]
    x_old = m.mutable_data["x"][0].value
    bad = np.zeros(N)
    bad[3] = np.nan
    with pytest.raises(ts.ModelError, match="'x' has NaN"):
        m.set_data(y=np.ones(N), x=bad)  # y is valid, but nothing changes
    assert m.mutable_data["x"][0].value is x_old
    assert m.mutable_data["y"][0].value is not None and not np.all(
        m.mutable_data["y"][0].value == 1.0)
    with pytest.raises(KeyError, match=r"unknown names \['z'\].*\['x', 'y'\]"):
        m.set_data(z=np.ones(N))
    with pytest.raises(ts.ModelError, match="not numeric"):
        m.set_data(x=np.array(["a"] * N))


def test_fixed_data_and_kinds() -> None:
    rng = np.random.default_rng(0)
    counts = rng.poisson(3.0, size=20)
    group = ts.as_data(rng.integers(0, 3, size=20), mutable=True, name="group")
    rate = ts.gamma(2.0, 0.5, dim=3)
    fixed = ts.as_data(np.ones(20))
    ts.poisson(rate[group] * fixed, observed=ts.as_data(counts, mutable=True, name="counts"))
    m = ts.model(rate)
    with pytest.raises(ts.ModelError, match=r"\['fixed'\] is data of the model but not mutable"):
        m.set_data(fixed=np.ones(20))
    with pytest.raises(ts.ModelError, match="'group' holds int data.*float64"):
        m.set_data(group=np.zeros(20))
    with pytest.raises(ts.ModelError, match="'group' indexes an axis of length 3.*0 to 5"):
        m.set_data(group=np.r_[np.zeros(19, int), 5])
    with pytest.raises(ts.ModelError, match="poisson: observed data must be non-negative"):
        m.set_data(counts=np.r_[counts[:-1], -1])
    new_group, new_counts = np.r_[np.zeros(10, int), np.ones(10, int)], np.r_[[4] * 10, [1] * 10]
    m.set_data(group=new_group, counts=new_counts)
    fit = ts.opt(m, seed=1)
    rate = ts.gamma(2.0, 0.5, dim=3)  # the same model written with the new data
    ts.poisson(rate[new_group] * np.ones(20), observed=new_counts)
    expected = ts.opt(ts.model(rate), seed=1)
    np.testing.assert_allclose(fit.par["rate"], expected.par["rate"], rtol=1e-5)
    assert fit.par["rate"][0] > 3 * fit.par["rate"][1]


def _unnamed() -> ts.Array:
    return ts.as_data(np.ones(3), mutable=True)


def test_unnamed_and_duplicate_names() -> None:
    w = ts.normal(0, 1)
    with pytest.raises(ts.ModelError, match=r"mutable data of shape \(3,\) has no name"):
        ts.model(w=w, mean=w * _unnamed())
    a = ts.as_data(np.ones(3), mutable=True, name="d")
    b = ts.as_data(np.ones(3), mutable=True, name="d")
    with pytest.raises(ts.ModelError, match="two different mutable data arrays are named 'd'"):
        ts.model(w=w, total=w * a + b)


def test_vi_after_set_data_does_not_trace(regression: dict, traces: dict[str, int]) -> None:
    m = regression["model"]
    m.set_data(x=_regression(5, 1.0)[0], y=_regression(5, 1.0)[1])
    ts.vi(m, steps=300, seed=1, progress=False)
    before = traces["n"]
    m.set_data(x=_regression(6, -2.0)[0], y=_regression(6, -2.0)[1])
    fit = ts.vi(m, steps=300, seed=1, progress=False)
    assert traces["n"] == before
    assert abs(fit.draws(200, seed=1)["b"].mean() + 2.0) < 0.3


def test_views_of_one_mutable_array_change_together_and_pickle() -> None:
    import pickle

    z = ts.as_data(np.array([1.0, 2.0, 3.0]), mutable=True)
    a = ts.normal(0, 5)
    b = ts.normal(0, 5)
    ts.normal(a, 1, observed=z)
    ts.normal(b, 1, observed=z)  # a second likelihood on z: a view of it
    m = ts.model(a, b)
    assert len(m.mutable_data["z"]) == 2
    m.set_data(z=[5.0, 5.0, 5.0])
    fit = ts.opt(m, seed=1)
    # posterior mode of normal(0, 5) prior and three normal(., 1) observations of 5
    expected = 15.0 / (3.0 + 1.0 / 25.0)
    np.testing.assert_allclose([fit.par["a"], fit.par["b"]], expected, rtol=1e-5)
    restored = pickle.loads(pickle.dumps(m))
    restored.set_data(z=[-5.0, -5.0, -5.0])
    np.testing.assert_allclose(ts.opt(restored, seed=1).par["a"], -expected, rtol=1e-5)
    np.testing.assert_allclose(ts.opt(m, seed=1).par["a"], expected, rtol=1e-5)
