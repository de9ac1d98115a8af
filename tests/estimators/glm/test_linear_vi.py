"""GLM estimators with inference="vi": full-rank ADVI draws used as NUTS draws are."""

import numpy as np
import pytest

from estimators import LinearClassifier, LinearRegressor, PoissonRegressor
from tfstats import Draws


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(11)
    n = 400
    X = rng.normal(size=(n, 3)) * [1.0, 5.0, 0.2]
    eta = X @ np.array([0.8, -0.1, 2.0])
    return {"X": X, "y": 1.0 + eta + rng.normal(scale=0.7, size=n),
            "binary": (rng.uniform(size=n) < 1 / (1 + np.exp(-eta))).astype(int),
            "counts": rng.poisson(np.exp(0.3 + 0.5 * eta))}


def test_vi_regressor_matches_the_exact_posterior(data):
    X, y = data["X"], data["y"]
    reg = LinearRegressor(inference="vi", prior_scale=None, random_state=1).fit(X, y)
    assert isinstance(reg.posterior_, Draws) and reg.posterior_["coef"].shape == (1, 1000, 3)
    # flat priors: the coefficients' posterior is centred at least squares with
    # covariance sigma^2 (Z'Z)^-1 (a Student t, close to normal at n = 400)
    Z = np.column_stack([np.ones(len(y)), X])
    ls, residuals = np.linalg.lstsq(Z, y, rcond=None)[:2]
    sd = np.sqrt(residuals[0] / (len(y) - 4) * np.diag(np.linalg.inv(Z.T @ Z)))
    draws = np.column_stack([reg.posterior_["intercept"][0], reg.posterior_["coef"][0]])
    assert np.all(np.abs(draws.mean(axis=0) - ls) < 0.15 * sd)  # 1000 draws: MCSE 0.03 sd
    np.testing.assert_allclose(draws.std(axis=0), sd, rtol=0.15)
    mean, std = reg.predict(X[:50], return_std=True)
    np.testing.assert_allclose(std, 0.7, rtol=0.15)
    interval = reg.predict_interval(X[:50], level=0.9)
    assert np.all(interval[:, 0] < mean) and np.all(mean < interval[:, 1])
    assert reg.summary().loc["sigma", "mean"] == pytest.approx(0.7, rel=0.1)


def test_vi_classifier_averages_over_the_approximation(data):
    X, y = data["X"], data["binary"]
    clf = LinearClassifier(inference="vi", random_state=1).fit(X, y)
    coef = clf.posterior_["coef"].reshape(-1, 3)
    intercept = clf.posterior_["intercept"].reshape(-1)
    p = 1 / (1 + np.exp(-(X[:5] @ coef.T + intercept)))
    np.testing.assert_allclose(clf.predict_proba(X[:5])[:, 1], p.mean(axis=1))
    # decision_function: the log-odds of those averaged probabilities (sklearn's check
    # that scores rank rows as predict_proba does failed on the mean linear predictor)
    scores = clf.decision_function(X)
    np.testing.assert_allclose(1 / (1 + np.exp(-scores)), clf.predict_proba(X)[:, 1],
                               rtol=1e-10)
    np.testing.assert_array_equal(scores > 0, clf.predict(X) == clf.classes_[1])
    map_fit = LinearClassifier(random_state=1).fit(X, y)
    spread = coef.std(axis=0)
    assert np.all(np.abs(coef.mean(axis=0) - map_fit.coef_[0]) < 0.5 * spread)


def test_vi_poisson_regressor(data):
    X, y = data["X"], data["counts"]
    reg = PoissonRegressor(inference="vi", n_samples=500, random_state=1).fit(X, y)
    map_fit = PoissonRegressor().fit(X, y)
    coef = reg.posterior_["coef"][0]
    assert coef.shape == (500, 3)
    assert np.all(np.abs(coef.mean(axis=0) - map_fit.coef_) < 0.5 * coef.std(axis=0))
    mean, std = reg.predict(X[:5], return_std=True)
    assert np.all(std > 0) and np.all(mean > 0)


def test_vi_draws_raise_no_mcmc_diagnostics_warning(data):
    # 50 independent draws have a bulk ESS near 50, under the MCMC threshold of 100: the
    # sampler diagnostics do not apply to VI, so nothing is warned
    import warnings

    with warnings.catch_warnings():
        warnings.filterwarnings("error", message="MCMC diagnostics")
        reg = LinearRegressor(inference="vi", n_samples=50, random_state=1).fit(
            data["X"], data["y"])
    assert reg.posterior_["coef"].shape == (1, 50, 3)
