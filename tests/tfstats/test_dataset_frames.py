"""tfstats/dataset_frames.py: a tf.data.Dataset read as DataFrames, one pass per call."""

import numpy as np
import pytest
import tensorflow as tf

from tfstats.arrays import ModelError
from tfstats.dataset_frames import LABEL, dataset_frames


def test_batched_elements_are_rebatched_and_each_call_is_a_pass() -> None:
    x = np.arange(1000.0)
    words = np.array([f"w{i % 3}" for i in range(1000)])
    dataset = tf.data.Dataset.from_tensor_slices(({"x": x, "word": words}, x % 2)).batch(37)
    frames = dataset_frames(dataset, 300)
    first, second = list(frames()), list(frames())
    assert [len(f) for f in first] == [300, 300, 300, 100]
    for a, b in zip(first, second, strict=True):
        assert a.equals(b)
    whole = np.concatenate([f["x"].to_numpy() for f in first])
    np.testing.assert_array_equal(whole, x)
    assert list(first[0].columns) == ["x", "word", LABEL]
    assert first[0]["word"].iloc[4] == "w1"  # bytes decoded to str


def test_scalar_elements_are_batched() -> None:
    dataset = tf.data.Dataset.from_tensor_slices({"x": np.arange(7.0)})
    assert [len(f) for f in dataset_frames(dataset, 3)()] == [3, 3, 1]


def test_an_endless_dataset_is_refused_when_the_reader_is_made() -> None:
    dataset = tf.data.Dataset.from_tensor_slices({"x": np.arange(7.0)}).repeat()
    with pytest.raises(ModelError, match="repeats forever"):
        dataset_frames(dataset, 3)
