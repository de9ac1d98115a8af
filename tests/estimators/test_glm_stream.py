"""LinearRegressor fitted from a chunked CSV: the Gram matrix accumulated over chunks gives
the in-memory answer."""

import numpy as np
import pandas as pd
import pytest

from estimators import LinearClassifier, LinearRegressor
from estimators.inputs import csv_input


@pytest.fixture(scope="module")
def frame_and_path(tmp_path_factory):
    rng = np.random.default_rng(3)
    n = 3000
    frame = pd.DataFrame({"age": rng.normal(40, 10, n), "income": rng.lognormal(3, 0.5, n),
                          "region": rng.choice(["north", "south", "east"], n)})
    effect = frame["region"].map({"north": 0.0, "south": 1.5, "east": -0.5})
    frame["y"] = 2.0 + 0.1 * frame["age"] - 0.05 * frame["income"] + effect + rng.normal(
        size=n)
    path = tmp_path_factory.mktemp("glm") / "rows.csv"
    frame.to_csv(path, index=False)
    return frame, str(path)


@pytest.mark.parametrize("prior_scale", [1.0, None])
def test_chunked_csv_map_equals_in_memory_map(frame_and_path, prior_scale):
    frame, path = frame_and_path
    memory = LinearRegressor(prior_scale=prior_scale).fit(frame.drop(columns="y"), frame["y"])
    stream = csv_input(path, label="y", chunk_size=500, sample_size=400)
    chunked = LinearRegressor(prior_scale=prior_scale).fit(stream)
    np.testing.assert_allclose(chunked.coef_, memory.coef_, rtol=1e-4)
    np.testing.assert_allclose(chunked.intercept_, memory.intercept_, rtol=1e-4)
    np.testing.assert_allclose(chunked.sigma_, memory.sigma_, rtol=1e-4)
    np.testing.assert_allclose(chunked.predict(frame.drop(columns="y")[:5]),
                               memory.predict(frame.drop(columns="y")[:5]), rtol=1e-6)


def test_chunked_csv_vi(frame_and_path):
    frame, path = frame_and_path
    reg = LinearRegressor(inference="vi", n_samples=500, random_state=1).fit(
        csv_input(path, label="y", chunk_size=1000))
    memory = LinearRegressor().fit(frame.drop(columns="y"), frame["y"])
    coef = reg.posterior_["coef"][0]
    assert np.all(np.abs(coef.mean(axis=0) - memory.coef_) < 0.3 * coef.std(axis=0))


def test_stream_errors_are_named(frame_and_path):
    _, path = frame_and_path
    with pytest.raises(TypeError, match="LinearClassifier.fit does not take a stream"):
        LinearClassifier().fit(csv_input(path, label="y"))
    with pytest.raises(ValueError, match="pass y=None"):
        LinearRegressor().fit(csv_input(path, label="y"), np.ones(3))
    with pytest.raises(ValueError, match="needs one label column"):
        LinearRegressor().fit(csv_input(path))
    with pytest.raises(ValueError, match=r"does not have the columns asked for.*'nope'"):
        LinearRegressor().fit(csv_input(path, label="y", columns=["age", "nope"]))
