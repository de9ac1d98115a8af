"""Model: whole models' log densities against scipy, naming, values, compiled functions."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import scipy.special as sp
import scipy.stats as st

import tfstats as ts
from tfstats.backends import get_backend

# --- whole models against scipy ------------------------------------------------------------------

SCHOOLS_Y = np.array([28.0, 8.0, -3.0, 7.0, -1.0, 1.0, 18.0, 12.0])
SCHOOLS_SIGMA = np.array([15.0, 10.0, 16.0, 11.0, 9.0, 11.0, 10.0, 18.0])


def test_eight_schools() -> None:
    mu = ts.normal(0, 5)
    tau = ts.cauchy(0, 5, truncation=(0, None))
    z = ts.normal(0, 1, dim=8)
    theta = mu + tau * z
    ts.normal(theta, SCHOOLS_SIGMA, observed=SCHOOLS_Y)
    m = ts.model(mu, tau, z, theta=theta)
    assert m.variable_names == ["mu", "tau", "z"]
    assert m.n_free == 10
    values = {"mu": 4.0, "tau": 3.5, "z": np.linspace(-1, 1, 8)}
    expected = (st.norm(0, 5).logpdf(4.0) + st.halfcauchy(scale=5).logpdf(3.5)
                + st.norm(0, 1).logpdf(values["z"]).sum()
                + st.norm(4.0 + 3.5 * values["z"], SCHOOLS_SIGMA).logpdf(SCHOOLS_Y).sum())
    np.testing.assert_allclose(m.log_prob(values), expected, rtol=1e-12)


def test_linear_regression_from_a_data_frame() -> None:
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"x1": rng.normal(size=30), "x2": rng.normal(size=30)})
    y = pd.Series(rng.normal(size=30), name="y")
    alpha = ts.normal(0, 10)
    beta = ts.normal(0, 2, dim=2)
    sigma = ts.variable(lower=0)
    ts.normal(alpha + ts.as_data(frame) @ beta, sigma, observed=y)
    m = ts.model(alpha, beta, sigma)
    a, b, s = 0.3, np.array([1.0, -0.5]), 1.3
    expected = (st.norm(0, 10).logpdf(a) + st.norm(0, 2).logpdf(b).sum()
                + st.norm(a + frame.to_numpy() @ b, s).logpdf(y).sum())
    np.testing.assert_allclose(m.log_prob({"alpha": a, "beta": b, "sigma": s}), expected,
                               rtol=1e-12)


def test_varying_intercept_logistic_regression() -> None:
    rng = np.random.default_rng(1)
    n, groups = 40, 5
    group = rng.integers(0, groups, size=n)
    x = rng.normal(size=n)
    y = rng.integers(0, 2, size=n)
    mu = ts.normal(0, 2)
    sd = ts.exponential(1)
    a = ts.normal(mu, sd, dim=groups)
    b = ts.normal(0, 1)
    ts.bernoulli(ts.ilogit(a[group] + b * x), observed=y)
    m = ts.model(mu, sd, a, b)
    av = np.linspace(-1, 1, groups)
    eta = av[group] + 0.7 * x
    expected = (st.norm(0, 2).logpdf(0.2) + st.expon().logpdf(0.8)
                + st.norm(0.2, 0.8).logpdf(av).sum() + st.norm(0, 1).logpdf(0.7)
                + st.bernoulli(sp.expit(eta)).logpmf(y).sum())
    np.testing.assert_allclose(m.log_prob({"mu": 0.2, "sd": 0.8, "a": av, "b": 0.7}), expected,
                               rtol=1e-12)


def test_poisson_regression_with_offset() -> None:
    exposure = np.array([1.0, 2.5, 0.5, 4.0, 3.0])
    x = np.array([0.1, -0.4, 1.2, 0.3, -1.0])
    counts = np.array([2, 5, 0, 9, 3])
    b = ts.normal(0, 1, dim=2)
    ts.poisson(np.exp(np.log(exposure) + b[0] + b[1] * x), observed=counts)
    m = ts.model(b=b)
    bv = np.array([0.4, 0.6])
    expected = (st.norm(0, 1).logpdf(bv).sum()
                + st.poisson(exposure * np.exp(bv[0] + bv[1] * x)).logpmf(counts).sum())
    np.testing.assert_allclose(m.log_prob({"b": bv}), expected, rtol=1e-12)


def test_negative_binomial_regression() -> None:
    counts = np.array([0, 3, 12, 7, 1, 25])
    x = np.array([-1.0, 0.0, 1.0, 0.5, -0.5, 2.0])
    size = ts.gamma(2, 0.1)
    b = ts.normal(0, 3, dim=2)
    mean = np.exp(b[0] + b[1] * x)
    ts.negative_binomial(size, size / (size + mean), observed=counts)
    m = ts.model(size=size, b=b)
    k, bv = 2.5, np.array([1.0, 0.8])
    mv = np.exp(bv[0] + bv[1] * x)
    expected = (st.gamma(2, scale=10).logpdf(k) + st.norm(0, 3).logpdf(bv).sum()
                + st.nbinom(k, k / (k + mv)).logpmf(counts).sum())
    np.testing.assert_allclose(m.log_prob({"size": k, "b": bv}), expected, rtol=1e-12)


def test_gaussian_mixture_with_ordered_means_and_dirichlet_weights() -> None:
    y = np.array([-2.1, -1.7, 0.2, 2.9, 3.3, 3.1])
    means = ts.ordered_variable(dim=3)
    w = ts.dirichlet(np.full(3, 2.0))
    s = ts.lognormal(0, 1)
    ts.mixture(*(ts.normal(means[k], s) for k in range(3)), weights=w, observed=y)
    m = ts.model(means, w, s)
    mv, wv, sv = np.array([-2.0, 0.0, 3.0]), np.array([0.3, 0.2, 0.5]), 0.6
    density = sum(wv[k] * st.norm(mv[k], sv).pdf(y) for k in range(3))
    expected = (np.log(density).sum() + st.dirichlet(np.full(3, 2.0)).logpdf(wv)
                + st.lognorm(1).logpdf(sv))
    np.testing.assert_allclose(m.log_prob({"means": mv, "w": wv, "s": sv}), expected, rtol=1e-12)


def test_multivariate_normal_with_lkj_prior() -> None:
    Y = np.array([[0.3, -1.0, 0.2], [1.2, 0.4, -0.7], [-0.5, 0.1, 0.9], [0.0, 0.8, 0.3]])
    corr = ts.lkj_correlation(3.0, 3)
    sd = ts.normal(0, 2, dim=3, truncation=(0, None))
    mu = ts.normal(0, 1, dim=3)
    sigma = corr * ts.outer(sd, sd)
    ts.multivariate_normal(mu, sigma, observed=Y)
    m = ts.model(corr=corr, sd=sd, mu=mu)
    R = np.array([[1, 0.3, -0.2], [0.3, 1, 0.4], [-0.2, 0.4, 1]])
    sdv, muv = np.array([0.8, 1.1, 1.6]), np.array([0.1, 0.0, -0.2])
    # LKJ(eta = 3) in dimension 3 from its normalising constant (Lewandowski et al. 2009)
    eta, d = 3.0, 3
    log_c = -sum((2 * eta - 2 + d - k) * (d - k) * np.log(2)
                 + (d - k) * sp.betaln(eta + (d - 1 - k) / 2, eta + (d - 1 - k) / 2)
                 for k in range(1, d))
    expected = (log_c + (eta - 1) * np.linalg.slogdet(R)[1]
                + st.halfnorm(scale=2).logpdf(sdv).sum() + st.norm(0, 1).logpdf(muv).sum()
                + st.multivariate_normal(muv, R * np.outer(sdv, sdv)).logpdf(Y).sum())
    np.testing.assert_allclose(m.log_prob({"corr": R, "sd": sdv, "mu": muv}), expected,
                               rtol=1e-12)


def test_ordered_logistic_regression() -> None:
    y = np.array([0, 1, 2, 2, 1, 0])
    x = np.array([-1.0, 0.0, 1.5, 2.0, 0.3, -0.4])
    cut = ts.ordered_variable(dim=2)
    b = ts.normal(0, 1)
    eta = b * x
    upper = ts.ilogit(cut[1] - eta)
    lower = ts.ilogit(cut[0] - eta)
    probs = ts.stack([lower, upper - lower, 1 - upper], axis=1)
    ts.categorical(probs, observed=y)
    m = ts.model(cut=cut, b=b)
    cv, bv = np.array([-0.5, 1.0]), 0.9
    c = sp.expit(cv[None, :] - bv * x[:, None])
    p = np.column_stack([c[:, 0], c[:, 1] - c[:, 0], 1 - c[:, 1]])
    expected = st.norm(0, 1).logpdf(bv) + np.log(p[np.arange(6), y]).sum()
    np.testing.assert_allclose(m.log_prob({"cut": cv, "b": bv}), expected, rtol=1e-12)


def test_beta_binomial_hierarchy_with_a_simplex() -> None:
    counts = np.array([[3, 5, 2], [0, 7, 3]])
    theta = ts.simplex_variable(3)
    concentration = ts.gamma(2, 0.2)
    ts.dirichlet_multinomial(10, theta * concentration, observed=counts)
    successes = np.array([4, 9, 1])
    p = ts.beta(1.5, 1.5, dim=3)
    ts.binomial(np.array([10, 12, 5]), p, observed=successes)
    m = ts.model(theta=theta, concentration=concentration, p=p)
    tv, kv, pv = np.array([0.2, 0.5, 0.3]), 8.0, np.array([0.4, 0.7, 0.25])
    expected = (st.gamma(2, scale=5).logpdf(kv)
                + st.dirichlet_multinomial(tv * kv, 10).logpmf(counts).sum()
                + st.beta(1.5, 1.5).logpdf(pv).sum()
                + st.binom([10, 12, 5], pv).logpmf(successes).sum())
    np.testing.assert_allclose(m.log_prob({"theta": tv, "concentration": kv, "p": pv}),
                               expected, rtol=1e-12)


# --- the Model object -----------------------------------------------------------------------------

def test_names() -> None:
    mu = ts.normal(0, 1)
    log_sigma = ts.normal(0, 1)
    sigma = np.exp(log_sigma)
    ts.normal(mu, sigma, observed=np.array([0.1, 0.5]))
    m = ts.model(mu, sigma)
    assert m.variable_names == ["mu", "log_sigma"]  # unknowns named from the caller
    assert list(m.targets) == ["mu", "sigma"]
    assert "2 unknowns" in repr(m)
    m2 = ts.model(location=mu, scale=sigma)
    assert m2.variable_names == ["location", "log_sigma"]
    assert list(m2.targets) == ["location", "scale"]
    # an unknown without a name of its own gets a generic one
    m3 = ts.model(ts.normal(0, 1) * 2)
    assert m3.variable_names == ["unknown_0"]
    assert list(m3.targets) == ["array_0"]


def test_model_collects_connected_terms_only() -> None:
    a = ts.normal(0, 1)
    b = ts.normal(0, 1)
    ts.normal(b, 1, observed=np.array([3.0]))
    m = ts.model(a=a)
    assert m.variable_names == ["a"]
    np.testing.assert_allclose(m.log_prob({"a": 0.5}), st.norm(0, 1).logpdf(0.5), rtol=1e-12)
    # an unknown reached through a likelihood or a bound is part of the model
    c = ts.uniform(0, 1)
    d = ts.variable(lower=0, upper=c)
    e = ts.normal(0, 1)
    ts.normal(d + e, 1, observed=np.array([0.2]))
    assert ts.model(e=e).variable_names == ["c", "d", "e"]


def test_values_are_checked() -> None:
    mu = ts.normal(0, 1, dim=3)
    sigma = ts.exponential(1)
    m = ts.model(mu, sigma)
    with pytest.raises(KeyError, match=r"values are missing for \['sigma'\]"):
        m.log_prob({"mu": np.zeros(3)})
    with pytest.raises(KeyError, match=r"unknown names \['nu'\]"):
        m.log_prob({"mu": np.zeros(3), "sigma": 1.0, "nu": 1.0})
    with pytest.raises(ValueError, match=r"value for 'mu' has shape \(2,\), expected \(3,\)"):
        m.log_prob({"mu": np.zeros(2), "sigma": 1.0})
    # scalars broadcast to the unknown's shape
    np.testing.assert_allclose(m.log_prob({"mu": 0.0, "sigma": 1.0}),
                               3 * st.norm.logpdf(0) + st.expon.logpdf(1), rtol=1e-12)


@pytest.mark.parametrize("make, value", [
    (lambda: ts.exponential(1), -1.0),
    (lambda: ts.dirichlet(np.ones(3)), np.array([0.5, 0.5, 0.5])),
    (lambda: ts.normal(0, 1, truncation=(0, None)), -0.5),
])
def test_log_prob_outside_the_support(make: object, value: object) -> None:
    m = ts.model(x=make())
    try:
        result = m.log_prob({"x": value})
    except ValueError:
        return
    assert result == -np.inf


def test_single_precision_log_prob() -> None:
    mu = ts.normal(0, 1)
    ts.normal(mu, 2, observed=np.array([0.3, 1.5, -0.2]))
    m = ts.model(mu, precision="single")
    assert m.precision == "single"
    expected = st.norm(0, 1).logpdf(0.4) + st.norm(0.4, 2).logpdf([0.3, 1.5, -0.2]).sum()
    np.testing.assert_allclose(m.log_prob({"mu": 0.4}), expected, rtol=1e-6)


def test_constrain_function_compiles_a_batch() -> None:
    rng = np.random.default_rng(3)
    x = rng.normal(size=40)  # large enough to enter as an argument, not a constant
    w = ts.simplex_variable(3)
    c = ts.ordered_variable(dim=2)
    s = ts.variable(lower=0)
    level = np.sum(w * np.array([1.0, 2.0, 3.0])) + c[1] * x
    ts.normal(level, s, observed=rng.normal(size=40))
    m = ts.model(w=w, c=c, s=s, level=level)
    B = get_backend()
    flats = rng.normal(size=(4, m.n_free))
    out = B.to_numpy(m.constrain_function()(B.convert(flats, m.float_dtype), *m.data_tensors()))
    assert set(out) == {"w", "c", "s", "level"}
    assert out["w"].shape == (4, 3) and out["level"].shape == (4, 40)
    np.testing.assert_allclose(out["w"].sum(axis=1), 1.0, rtol=1e-12)
    assert np.all(np.diff(out["c"], axis=1) > 0) and np.all(out["s"] > 0)
    expected = (out["w"] @ np.array([1.0, 2.0, 3.0]))[:, None] + out["c"][:, 1:] * x
    np.testing.assert_allclose(out["level"], expected, rtol=1e-12)
    # and the unconstrained vector is recovered from the constrained values
    values = {k: out[k][2] for k in ("w", "c", "s")}
    np.testing.assert_allclose(m.unconstrain(values), flats[2], rtol=1e-8, atol=1e-10)


@pytest.mark.parametrize("call, error, message", [
    (lambda: ts.model(x=ts.as_data(np.ones(3))), ts.ModelError, "the model has no unknowns"),
    (lambda: ts.model(ts.normal(0, 1, observed=np.ones(3))), ts.ModelError,
     "the model has no unknowns"),
    (lambda: ts.model(), ts.ModelError, "needs at least one array"),
    (lambda: ts.model(x=3.0), ts.ModelError, r"'x' is not a tfstats array \(got float\)$"),
    (lambda: ts.model(x=ts.normal(0, 1), precison="single"), ts.ModelError,
     r"'precison' is not a tfstats array \(got str\); did you mean precision=\?"),
    (lambda: ts.model(x=ts.poisson(3)), ts.ModelError, "poisson as an unknown is not"),
    (lambda: ts.model(x=ts.normal(0, 1), precision="half"), ValueError,
     "precision must be 'mixed', 'double' or 'single'"),
])
def test_invalid_models(call: object, error: type, message: str) -> None:
    with pytest.raises(error, match=message):
        call()


def test_a_name_given_twice() -> None:
    mu = ts.normal(0, 1)
    with pytest.raises(ts.ModelError, match="the name 'mu' is given twice"):
        ts.model(mu, mu=mu * 2)
