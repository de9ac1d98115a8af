"""GLM estimators: equivalence with scikit-learn, calibrated NUTS intervals, DataFrames,
bad inputs, pickling and scikit-learn meta-estimators.

The MAP fits share a few compiled tfstats models (one per family at the padded shape of
small data); each NUTS fit of a new shape compiles once, so there are only two.
"""

import pickle
import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn import linear_model
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from estimators import LinearClassifier, LinearRegressor, PoissonRegressor
from tfstats import Draws

EXAMPLES = Path(__file__).resolve().parents[3] / "examples"


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(7)
    n = 300
    X = rng.normal(size=(n, 4)) * [1.0, 10.0, 0.1, 3.0] + [0.0, 50.0, 1.0, -2.0]
    eta = 0.8 * X[:, 0] - 0.05 * (X[:, 1] - 50) + 4.0 * (X[:, 2] - 1) + 0.2 * (X[:, 3] + 2)
    return {
        "X": X,
        "binary": (rng.uniform(size=n) < 1 / (1 + np.exp(-eta))).astype(int),
        "three": np.digitize(eta + rng.logistic(size=n), [-0.7, 0.7]),
        "y": 3.0 + eta + rng.normal(size=n),
        "counts": rng.poisson(np.exp(0.5 + 0.4 * eta)),
        "weights": rng.uniform(0.2, 2.0, size=n),
    }


# --- MAP equals scikit-learn -------------------------------------------------------------------

@pytest.mark.parametrize("standardize", [True, False])
def test_logistic_map_equals_sklearn(data, standardize):
    X, y, s = data["X"], data["binary"], 0.3
    ours = LinearClassifier(prior_scale=s, standardize=standardize).fit(X, y)
    ref = linear_model.LogisticRegression(C=s**2, tol=1e-10, max_iter=10_000).fit(X, y)
    np.testing.assert_allclose(ours.coef_, ref.coef_, atol=1e-3)
    np.testing.assert_allclose(ours.intercept_, ref.intercept_, atol=1e-3)
    np.testing.assert_allclose(ours.predict_proba(X), ref.predict_proba(X), atol=1e-4)


def test_multinomial_and_class_weight_equal_sklearn(data):
    X, y, w = data["X"], data["three"], data["weights"]
    labels = np.array(["low", "mid", "high"])[y]
    ours = LinearClassifier(prior_scale=0.5, class_weight="balanced").fit(
        X, labels, sample_weight=w)
    ref = linear_model.LogisticRegression(C=0.25, class_weight="balanced", tol=1e-10,
                                          max_iter=10_000).fit(X, labels, sample_weight=w)
    assert ours.classes_.tolist() == ["high", "low", "mid"]
    assert ours.coef_.shape == (3, 4) and ours.predict_proba(X).shape == (300, 3)
    np.testing.assert_allclose(ours.coef_, ref.coef_, atol=1e-3)
    np.testing.assert_allclose(ours.intercept_, ref.intercept_, atol=1e-3)
    assert np.mean(ours.predict(X) == ref.predict(X)) > 0.99


def test_linear_regression_flat_prior_is_least_squares(data):
    X, y, w = data["X"], data["y"], data["weights"]
    ours = LinearRegressor(prior_scale=None).fit(X, y, sample_weight=w)
    ref = linear_model.LinearRegression().fit(X, y, sample_weight=w)
    np.testing.assert_allclose(ours.coef_, ref.coef_, atol=1e-6)
    np.testing.assert_allclose(ours.intercept_, ref.intercept_, atol=1e-5)
    # the prior sd is prior_scale * sigma: the mode is ridge regression
    ridge = linear_model.Ridge(alpha=1 / 0.05**2).fit(X, y)
    np.testing.assert_allclose(LinearRegressor(prior_scale=0.05).fit(X, y).coef_,
                               ridge.coef_, atol=1e-6)


def test_poisson_map_equals_sklearn(data):
    X, y, s = data["X"], data["counts"], 0.2
    ours = PoissonRegressor(prior_scale=s).fit(X, y)
    ref = linear_model.PoissonRegressor(alpha=1 / (len(y) * s**2), tol=1e-12,
                                        max_iter=10_000).fit(X, y)
    np.testing.assert_allclose(ours.coef_, ref.coef_, atol=1e-3)
    np.testing.assert_allclose(ours.intercept_, ref.intercept_, atol=1e-3)
    assert ours.score(X, y) == pytest.approx(ref.score(X, y), abs=1e-6)


# --- NUTS ----------------------------------------------------------------------------------------

def test_nuts_predictive_intervals_are_calibrated():
    rng = np.random.default_rng(2024)
    coef = np.array([1.0, -0.5, 0.25])

    def simulate(n):
        X = rng.normal(size=(n, 3))
        return X, 1.0 + X @ coef + rng.normal(scale=0.7, size=n)

    X, y = simulate(500)
    X_new, y_new = simulate(2000)
    reg = LinearRegressor(inference="nuts", n_samples=500, warmup=500, chains=4,
                          random_state=0).fit(X, y)
    assert isinstance(reg.posterior_, Draws) and reg.posterior_.divergences == 0
    assert reg.posterior_["coef"].shape == (4, 500, 3)
    table = reg.summary()
    assert list(table.index) == ["intercept", "coef[x0]", "coef[x1]", "coef[x2]", "sigma"]
    assert table["r_hat"].max() < 1.02
    interval = reg.predict_interval(X_new, level=0.9)
    inside = (y_new >= interval[:, 0]) & (y_new <= interval[:, 1])
    assert 0.86 <= inside.mean() <= 0.94
    mean, sd = reg.predict(X_new, return_std=True)
    np.testing.assert_allclose(sd, 0.7, rtol=0.15)  # noise plus a little uncertainty
    np.testing.assert_allclose(interval.mean(axis=1), mean, atol=0.1)


@pytest.mark.filterwarnings("ignore:MCMC diagnostics")  # tiny settings
def test_nuts_classifier_averages_over_the_posterior(data):
    X, y = data["X"][:200, :2], np.array(["a", "b"])[data["binary"][:200]]
    clf = LinearClassifier(inference="nuts", n_samples=200, warmup=200, chains=2,
                           random_state=1).fit(X, y)
    coef = clf.posterior_["coef"].reshape(-1, 2)
    intercept = clf.posterior_["intercept"].reshape(-1)
    p = 1 / (1 + np.exp(-(X[:5] @ coef.T + intercept)))
    np.testing.assert_allclose(clf.predict_proba(X[:5])[:, 1], p.mean(axis=1))
    assert clf.predict(X[:5]).tolist() == np.where(p.mean(axis=1) > 0.5, "b", "a").tolist()
    restored = pickle.loads(pickle.dumps(clf))
    np.testing.assert_array_equal(restored.predict_proba(X), clf.predict_proba(X))


# --- DataFrames and bad inputs -----------------------------------------------------------------

@pytest.fixture(scope="module")
def frame():
    rng = np.random.default_rng(3)
    n = 200
    df = pd.DataFrame({
        "age": rng.uniform(20, 70, n),
        "region": rng.choice(["east", "north", "south"], n),
        "member": rng.uniform(size=n) < 0.4,
    })
    df["spend"] = 10 + 0.3 * df["age"] + 5 * (df["region"] == "north") + 3 * df["member"] \
        + rng.normal(size=n)
    return df


def test_dataframe_columns_are_encoded(frame):
    X, y = frame[["age", "region", "member"]], frame["spend"]
    reg = LinearRegressor(prior_scale=None).fit(X, y)
    assert reg.n_features_in_ == 3
    assert reg.feature_names_in_.tolist() == ["age", "region", "member"]
    names = ["age", "region_north", "region_south", "member_True"]
    assert reg.get_feature_names_out().tolist() == names
    dummies = np.column_stack([X["age"], X["region"] == "north", X["region"] == "south",
                               X["member"]]).astype(float)
    ref = linear_model.LinearRegression().fit(dummies, y)
    np.testing.assert_allclose(reg.coef_, ref.coef_, atol=1e-6)
    np.testing.assert_allclose(reg.predict(X), ref.predict(dummies), atol=1e-6)


@pytest.mark.filterwarnings("ignore:X does not have valid feature names")
def test_bad_inputs_raise_errors_that_name_them(frame):
    X, y = frame[["age", "region", "member"]], frame["spend"]
    reg = LinearRegressor().fit(X, y)
    new = X.iloc[:5].copy()
    new.loc[new.index[0], "region"] = "west"
    with pytest.raises(ValueError, match=r"column 'region' has the category 'west'"):
        reg.predict(new)
    missing = X.iloc[:5].copy()
    missing.loc[missing.index[1], "age"] = np.nan
    with pytest.raises(ValueError, match=r"column 'age' has missing values"):
        reg.predict(missing)
    with pytest.raises(ValueError, match=r"column 'age' has missing values"):
        LinearRegressor().fit(missing, y.iloc[:5])
    missing_category = X.iloc[:5].copy()
    missing_category.loc[missing_category.index[2], "region"] = None
    with pytest.raises(ValueError, match=r"column 'region' has missing values"):
        reg.predict(missing_category)
    with pytest.raises(ValueError, match="X has 2 features, but LinearRegressor is expecting 3"):
        reg.predict(X.to_numpy()[:, :2])
    with pytest.raises(ValueError, match="inference must be 'map', 'nuts' or 'vi'"):
        LinearRegressor(inference="advi").fit(X, y)
    with pytest.raises(ValueError, match="needs non-negative targets"):
        PoissonRegressor().fit(X, -y)


# --- scikit-learn citizenship --------------------------------------------------------------------

def test_pickle_clone_pipeline_and_grid_search(data):
    X, y = data["X"], data["binary"]
    clf = LinearClassifier(prior_scale=0.5).fit(X, y)
    restored = pickle.loads(pickle.dumps(clf))
    np.testing.assert_array_equal(restored.predict_proba(X), clf.predict_proba(X))
    assert clone(clf).get_params() == clf.get_params()
    assert not hasattr(clone(clf), "coef_")
    pipe = make_pipeline(StandardScaler(), LinearRegressor()).fit(X, data["y"])
    mean, sd = pipe.predict(X[:4], return_std=True)
    assert mean.shape == sd.shape == (4,)
    search = GridSearchCV(LinearClassifier(), {"prior_scale": [0.01, 1.0]}, cv=3).fit(X, y)
    assert search.best_params_ == {"prior_scale": 1.0}


@pytest.mark.filterwarnings("ignore:MCMC diagnostics")  # tiny settings
def test_example_runs_with_tiny_settings():
    sys.path.insert(0, str(EXAMPLES))
    try:
        import glm_dataframe
    finally:
        sys.path.remove(str(EXAMPLES))
    out = glm_dataframe.main(n=400, n_samples=150, warmup=150, chains=2)
    assert out["proba"].shape == (100, 2)
    assert 0.7 <= out["coverage"] <= 1.0


def test_nuts_warnings_name_features_as_the_summary_does():
    rng = np.random.default_rng(5)
    X = pd.DataFrame({"age": rng.normal(size=60), "income": rng.normal(size=60),
                      "height": rng.normal(size=60)})
    y = 1.0 + X["age"] - X["income"] + rng.normal(size=60)
    with warnings.catch_warnings(record=True) as caught:  # the shapes of the fit above:
        warnings.simplefilter("always")                     # compiled once
        reg = LinearRegressor(inference="nuts", n_samples=20, warmup=20, chains=4,
                              random_state=0).fit(X, y)
    (message,) = [str(w.message) for w in caught if "MCMC diagnostics" in str(w.message)]
    assert "coef[age]" in message and "coef[0]" not in message
    assert "coef[income]" in reg.summary().index
