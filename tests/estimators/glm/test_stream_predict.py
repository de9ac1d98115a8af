"""GLM predictions on a csv_input stream: chunk by chunk, the in-memory answer in row order."""

import numpy as np
import pandas as pd
import pytest

from estimators import LinearClassifier, LinearRegressor
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
