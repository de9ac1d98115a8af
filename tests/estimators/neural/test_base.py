"""NeuralEstimator's stream and tf.data inputs: string labels from a dataset; a label
column the files lack, and a dataset of single rows, named in the error."""

import numpy as np
import pandas as pd
import pytest

from estimators.io.inputs import csv_input
from estimators.neural import DNNClassifier

tf = pytest.importorskip("tensorflow")


@pytest.fixture(scope="module")
def frame():
    rng = np.random.default_rng(1)
    X = pd.DataFrame({"age": rng.normal(size=64), "region": rng.choice(["n", "s"], 64)})
    return X, np.where(X["age"] > 0, "yes", "no")


def test_dataset_with_string_labels_trains(frame):
    # tf.data yields text as bytes: they used to reach scikit-learn's label checks undecoded
    X, y = frame
    features = {"age": X["age"].to_numpy(), "region": X["region"].to_numpy()}
    dataset = tf.data.Dataset.from_tensor_slices((features, y)).batch(16)
    clf = DNNClassifier(hidden_units=[4], epochs=1, random_state=0).fit(dataset)
    assert clf.classes_.tolist() == ["no", "yes"]
    assert set(clf.predict(X)) <= {"no", "yes"}


def test_stream_without_its_label_column_names_it(frame, tmp_path):
    X, y = frame
    path = tmp_path / "rows.csv"
    X.assign(bought=y).to_csv(path, index=False)
    with pytest.raises(ValueError, match=r"label column\(s\) \['sold'\] are not in .*"
                                         r"its columns are \['age', 'region', 'bought'\]"):
        DNNClassifier(epochs=1).fit(csv_input(str(path), label="sold"))


def test_unbatched_dataset_is_a_clear_error(frame):
    X, y = frame
    rows = tf.data.Dataset.from_tensor_slices(({"age": X["age"].to_numpy()}, y))
    with pytest.raises(ValueError, match=r"one row at a time .* dataset.batch\(32\)"):
        DNNClassifier(epochs=1).fit(rows)
