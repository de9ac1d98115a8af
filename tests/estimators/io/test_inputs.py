"""Streaming inputs: chunked CSV / Parquet and tf.data, against in-memory fits."""

import numpy as np
import pandas as pd
import pytest
import tensorflow as tf
from sklearn.metrics import r2_score

from estimators.io.inputs import csv_input, is_stream, parquet_input, shuffled_tables
from estimators.neural import DNNClassifier, DNNRegressor


def make_table(n: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    df = pd.DataFrame({
        "x1": rng.normal(size=n),
        "x2": rng.normal(5, 2, size=n),
        "group": rng.choice(["a", "b", "c"], n),
    })
    score = df["x1"] + 0.5 * (df["x2"] - 5) + df["group"].map({"a": -1.0, "b": 0.0, "c": 1.0})
    df["label"] = np.where(score + rng.normal(0, 0.5, n) > 0, "pos", "neg")
    df["target"] = 3 * score + rng.normal(0, 0.3, n)
    return df.sort_values("x1", ignore_index=True)  # sorted: shuffling matters


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("stream")
    train, test = make_table(5000, 0), make_table(1000, 1)
    train.to_csv(tmp / "train.csv", index=False)
    train.iloc[:2500].to_parquet(tmp / "train_0.parquet")
    train.iloc[2500:].to_parquet(tmp / "train_1.parquet")
    return tmp, train, test


FEATURES = ["x1", "x2", "group"]


def test_chunks_sample_and_shuffle(files):
    tmp, train, _ = files
    stream = csv_input(tmp / "train.csv", label="label", chunk_size=500)
    assert is_stream(stream) and stream.label_columns == ["label"]
    assert [len(c) for c in stream.chunks()] == [500] * 10
    assert stream.sample(700)["x1"].tolist() == train["x1"].head(700).tolist()
    uniform = csv_input(tmp / "train.csv", label="label", chunk_size=500, sample="uniform",
                        seed=0).sample(700)
    assert len(uniform) == 700 and uniform["x1"].max() > train["x1"].iloc[3000]
    pq = parquet_input(str(tmp / "train_*.parquet"), label="label", chunk_size=1000)
    assert sum(len(c) for c in pq.chunks()) == 5000 and len(pq.paths) == 2

    rng = np.random.default_rng(0)
    parts = iter([{"a": np.arange(i, i + 300)} for i in range(0, 3000, 300)])
    out = list(shuffled_tables(parts, rows=128, buffer=1000, rng=rng))
    seen = np.concatenate([t["a"] for t in out])
    assert sorted(seen.tolist()) == list(range(3000))  # every row once
    assert all(len(t["a"]) == 128 for t in out[:-1])
    assert np.abs(np.diff(seen[:128])).mean() > 10  # mixed across chunks


def test_stream_fit_matches_in_memory_fit(files):
    tmp, train, test = files
    settings = dict(hidden_units=[16], epochs=4, batch_size=64, learning_rate=0.01,
                    random_state=0)
    memory = DNNClassifier(**settings).fit(train[FEATURES], train["label"])
    stream = csv_input(tmp / "train.csv", label="label", columns=FEATURES, chunk_size=500,
                       shuffle_buffer=2000, sample_size=1000, seed=0)
    streamed = DNNClassifier(**settings).fit(stream)
    assert list(streamed.feature_names_in_) == FEATURES
    assert streamed.classes_.tolist() == ["neg", "pos"]
    acc_memory = memory.score(test[FEATURES], test["label"])
    acc_stream = streamed.score(test[FEATURES], test["label"])
    assert acc_memory > 0.85 and acc_stream > acc_memory - 0.03, (acc_memory, acc_stream)
    assert len(streamed.history_) == 4
    # predicting from a stream equals predicting the same rows in memory
    test.to_csv(tmp / "test.csv", index=False)
    np.testing.assert_allclose(
        streamed.predict_proba(csv_input(tmp / "test.csv", chunk_size=300)),
        streamed.predict_proba(test[FEATURES]), atol=1e-6)


def test_parquet_regression_and_stream_epochs(files):
    tmp, train, test = files
    stream = parquet_input(sorted(tmp.glob("train_*.parquet")), label="target",
                           columns=FEATURES, chunk_size=500, epochs=3, seed=0)
    reg = DNNRegressor(hidden_units=[16], epochs=99, batch_size=64, learning_rate=0.01,
                       random_state=0).fit(stream)
    assert len(reg.history_) == 3  # the stream's epochs win
    assert r2_score(test["target"], reg.predict(test[FEATURES])) > 0.9


def test_tf_data_input():
    df = make_table(2000, 2)
    ds = tf.data.Dataset.from_tensor_slices(
        ({c: df[c].to_numpy() for c in FEATURES}, (df["label"] == "pos").to_numpy().astype(int))
    ).shuffle(2000, seed=0).batch(64)
    clf = DNNClassifier(hidden_units=[16], epochs=3, learning_rate=0.01, random_state=0)
    clf.fit(ds, validation_data=ds.take(5))
    assert clf.schema_.column("group").kind == "categorical"
    assert "val_accuracy" in clf.history_
    test = make_table(500, 3)
    assert clf.score(test[FEATURES], (test["label"] == "pos").astype(int)) > 0.85
    assert clf.predict_proba(ds.take(2)).shape == (128, 2)


def test_stream_errors(files, tmp_path):
    tmp, _, _ = files
    with pytest.raises(FileNotFoundError, match="no such file"):
        csv_input(tmp_path / "absent.csv", label="y")
    with pytest.raises(ValueError, match="chunk_size"):
        csv_input(tmp / "train.csv", label="label", chunk_size=0)
    with pytest.raises(ValueError, match="no label column"):
        DNNClassifier(epochs=1).fit(csv_input(tmp / "train.csv"))
    with pytest.raises(ValueError, match="validation_split needs in-memory data"):
        DNNClassifier(validation_split=0.2).fit(csv_input(tmp / "train.csv", label="label"))
    with pytest.raises(ValueError, match="y and sample_weight must be None"):
        DNNClassifier(epochs=1).fit(csv_input(tmp / "train.csv", label="label"), [0, 1])
