"""GLM predictions on a csv_input stream: chunk by chunk, the in-memory answer in row order."""

import numpy as np
import pandas as pd
import pytest

from estimators import LinearClassifier, LinearRegressor, PoissonRegressor
from estimators.io.inputs import csv_input


@pytest.fixture(scope="module")
def frame_and_path(tmp_path_factory):
    rng = np.random.default_rng(5)
    frame = pd.DataFrame({"age": rng.normal(40, 10, 90), "region": rng.choice(["n", "s"], 90)})
    frame["y"] = 0.1 * frame["age"] + (frame["region"] == "s") + rng.normal(size=90)
    path = tmp_path_factory.mktemp("glm_predict") / "rows.csv"
    frame.to_csv(path, index=False)
    return frame, str(path)


def test_predictions_on_a_stream_equal_in_memory_ones(frame_and_path):
    frame, path = frame_and_path
    X = frame[["age", "region"]]
    reg = LinearRegressor().fit(X, frame["y"])
    mean, sd = reg.predict(csv_input(path, label="y", chunk_size=37), return_std=True)
    expected_mean, expected_sd = reg.predict(X, return_std=True)
    np.testing.assert_allclose(mean, expected_mean, rtol=1e-12)
    np.testing.assert_allclose(sd, expected_sd, rtol=1e-12)
    np.testing.assert_allclose(reg.predict_interval(csv_input(path, chunk_size=37)),
                               reg.predict_interval(X), rtol=1e-12)
    clf = LinearClassifier().fit(X, frame["y"] > 4)
    np.testing.assert_allclose(clf.predict_proba(csv_input(path, label="y", chunk_size=37)),
                               clf.predict_proba(X), rtol=1e-12)
    np.testing.assert_array_equal(clf.predict(csv_input(path, chunk_size=37)), clf.predict(X))


def test_stream_predictions_name_what_is_wrong(frame_and_path, tmp_path):
    frame, path = frame_and_path
    reg = LinearRegressor().fit(frame[["age", "region"]], frame["y"])
    other = tmp_path / "other.csv"
    frame.rename(columns={"age": "years"}).to_csv(other, index=False)
    with pytest.raises(ValueError, match=r"missing feature columns \['age'\]"):
        reg.predict(csv_input(str(other)))
    tf = pytest.importorskip("tensorflow")
    dataset = tf.data.Dataset.from_tensor_slices({"age": frame["age"].to_numpy()})
    with pytest.raises(TypeError, match="not a tf.data.Dataset"):
        reg.predict(dataset)


@pytest.mark.filterwarnings("ignore:MCMC diagnostics")  # a short chain: enough here
@pytest.mark.parametrize("family", ["normal", "poisson"])
def test_simulated_intervals_on_a_stream_equal_in_memory_ones(family, tmp_path):
    # the same 12 rows twice, read in two chunks: one random generator runs on across
    # the chunks, so the second chunk's intervals are new simulations, not the first's
    rng = np.random.default_rng(3)
    half = pd.DataFrame({"x": rng.normal(size=12)})
    frame = pd.concat([half, half], ignore_index=True)
    # counts of about 12: two simulations' interval ends (50 draws each) differ somewhere
    target = (rng.poisson(np.exp(2.5 + 0.3 * frame["x"])) if family == "poisson"
              else 1.0 + frame["x"] + rng.normal(size=24))
    path = tmp_path / "rows.csv"
    frame.to_csv(path, index=False)
    model = PoissonRegressor if family == "poisson" else LinearRegressor
    reg = model(inference="nuts", n_samples=50, warmup=50, chains=1,
                random_state=2).fit(frame, target)
    streamed = reg.predict_interval(csv_input(str(path), chunk_size=12), level=0.5)
    np.testing.assert_array_equal(streamed, reg.predict_interval(frame, level=0.5))
    assert not np.array_equal(streamed[:12], streamed[12:])
