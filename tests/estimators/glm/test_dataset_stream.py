"""GLMs fitted from a tf.data.Dataset of (features dict, label) batches give the in-memory
answer (MAP; VI for the Gram-matrix family), and a dataset that cannot work is named."""

import numpy as np
import pandas as pd
import pytest
import tensorflow as tf

from estimators import LinearClassifier, LinearRegressor, PoissonRegressor


@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    rng = np.random.default_rng(11)
    n = 2000
    frame = pd.DataFrame({"age": rng.normal(40, 10, n), "income": rng.lognormal(3, 0.5, n),
                          "region": rng.choice(["north", "south", "east"], n)})
    effect = frame["region"].map({"north": 0.0, "south": 0.8, "east": -0.4})
    eta = -1.0 + 0.03 * frame["age"] - 0.02 * frame["income"] + effect
    frame["y"] = 2.0 + eta + rng.normal(size=n)
    frame["count"] = rng.poisson(np.exp(eta))
    frame["label"] = np.where(eta + rng.logistic(size=n) > 0.2, "yes", "no")
    return frame


FEATURES = ["age", "income", "region"]


def _dataset(frame: pd.DataFrame, label: str, batch: int | None = 300) -> tf.data.Dataset:
    dataset = tf.data.Dataset.from_tensor_slices(
        ({c: frame[c].to_numpy() for c in FEATURES}, frame[label].to_numpy()))
    return dataset if batch is None else dataset.batch(batch)


@pytest.mark.parametrize("estimator, label, batch", [
    (LinearRegressor, "y", 300), (LinearClassifier, "label", 300),
    (PoissonRegressor, "count", None)])
def test_dataset_map_equals_in_memory_map(frame, estimator, label, batch):
    memory = estimator().fit(frame[FEATURES], frame[label])
    streamed = estimator().fit(_dataset(frame, label, batch))
    np.testing.assert_allclose(streamed.coef_, memory.coef_, rtol=1e-4, atol=1e-8)
    np.testing.assert_allclose(streamed.intercept_, memory.intercept_, rtol=1e-4, atol=1e-8)


def test_dataset_vi_of_linear_regressor(frame):
    reg = LinearRegressor(inference="vi", n_samples=500, random_state=1).fit(
        _dataset(frame, "y"))
    memory = LinearRegressor().fit(frame[FEATURES], frame["y"])
    coef = reg.posterior_["coef"][0]
    assert np.all(np.abs(coef.mean(axis=0) - memory.coef_) < 0.3 * coef.std(axis=0))


def test_datasets_that_cannot_be_fitted_are_named(frame):
    columns = {c: frame[c].to_numpy() for c in ["age", "income"]}
    y = frame["y"].to_numpy()
    with pytest.raises(ValueError, match=r"LinearRegressor.fit: .*\(features dict, label\) "
                                         r"pairs.*dicts of columns only"):
        LinearRegressor().fit(tf.data.Dataset.from_tensor_slices(columns).batch(100))
    with pytest.raises(ValueError, match="repeats forever"):
        LinearRegressor().fit(tf.data.Dataset.from_tensor_slices((columns, y)).repeat())
    with pytest.raises(ValueError, match="sample weights are not supported"):
        LinearRegressor().fit(tf.data.Dataset.from_tensor_slices((columns, y, y)))
    matrix = tf.data.Dataset.from_tensor_slices(({"x": np.ones((10, 2))}, np.ones(10)))
    with pytest.raises(ValueError, match=r"column 'x' of the tf.data.Dataset has shape "
                                         r"\(None, 2\)"):
        LinearClassifier().fit(matrix.batch(5))
    with pytest.raises(ValueError, match="LinearClassifier.fit: .*must yield a dict"):
        LinearClassifier().fit(tf.data.Dataset.from_tensor_slices((np.ones((10, 2)), y[:10])))
