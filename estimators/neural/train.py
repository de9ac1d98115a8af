"""Training plumbing for the Keras estimators: data to ``tf.data``, ``.keras`` bytes,
history frames (the compiled train functions are in :mod:`estimators.neural.steps`).

Examples
--------
>>> from estimators.neural.train import history_frame
>>> history_frame({"loss": [1.0, 0.5], "val_loss": [1.1, 0.7]}).index.tolist()
[1, 2]
"""

from __future__ import annotations

import contextlib
import gc
import os
import tempfile
from collections.abc import Iterator
from typing import Any

import numpy as np
import pandas as pd

from estimators.io.inputs import fixed_pipeline
from estimators.tabular.preprocessing import keras

__all__ = [
    "BACKEND",
    "epoch_dataset",
    "dataset_sample",
    "history_frame",
    "model_to_bytes",
    "model_from_bytes",
    "to_keras",
    "to_tensors",
    "n_rows",
    "take_rows",
    "gc_paused",
]

BACKEND: str = keras.backend.backend()


@contextlib.contextmanager
def gc_paused() -> Iterator[None]:
    """Pause Python's cyclic garbage collector (building and tracing a Keras model).

    Tracing allocates tens of thousands of short-lived objects, which trigger full
    collections; each scans every object TensorFlow and Keras hold (about 0.3 s here).
    Used only around model construction and tracing, never while data streams.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def model_to_bytes(model: Any) -> bytes:
    """The ``.keras`` archive of a model (architecture, weights, optimizer state) as bytes."""
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "model.keras")
        model.save(path)
        with open(path, "rb") as fh:
            return fh.read()


def model_from_bytes(data: bytes) -> Any:
    """Inverse of :func:`model_to_bytes`.

    Custom layers of user models must be registered with
    ``keras.saving.register_keras_serializable`` (as for any ``.keras`` file).
    """
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "model.keras")
        with open(path, "wb") as fh:
            fh.write(data)
        return keras.saving.load_model(path, safe_mode=False)


def history_frame(history: dict[str, list[float]], start: int = 1) -> pd.DataFrame:
    """Keras ``History.history`` -> DataFrame with one row per epoch (index ``epoch``).

    Columns: ``loss`` then the training metrics, then their ``val_`` counterparts.
    """
    train = sorted((k for k in history if not k.startswith("val_")), key=lambda k: k != "loss")
    val = [f"val_{k}" for k in train if f"val_{k}" in history]
    val += sorted(k for k in history if k.startswith("val_") and k not in val)
    frame = pd.DataFrame({k: np.asarray(history[k], dtype=float) for k in train + val})
    frame.index = pd.RangeIndex(start, start + len(frame), name="epoch")
    return frame


def to_keras(inputs: Any) -> Any:
    """Object arrays of str -> string tensors (Keras rejects object arrays)."""
    def convert(v: Any) -> Any:
        if isinstance(v, tuple):
            return tuple(convert(x) for x in v)
        if isinstance(v, np.ndarray) and v.dtype == object:
            import tensorflow as tf

            return tf.constant(v.astype(str))
        return v

    if isinstance(inputs, dict):
        return {k: convert(v) for k, v in inputs.items()}
    if isinstance(inputs, tuple):
        return tuple(to_keras(v) for v in inputs)
    return convert(inputs)


def to_tensors(inputs: Any) -> Any:
    """All inputs as backend tensors (an eager model call rejects a numpy / tensor mix)."""
    inputs = to_keras(inputs)
    if isinstance(inputs, dict):
        return {k: keras.ops.convert_to_tensor(v) for k, v in inputs.items()}
    return keras.ops.convert_to_tensor(inputs)


def n_rows(inputs: Any) -> int:
    first = next(iter(inputs.values())) if isinstance(inputs, dict) else inputs
    return int(first.shape[0])


def take_rows(inputs: Any, idx: Any) -> Any:
    if isinstance(inputs, dict):
        return {k: v[idx] for k, v in inputs.items()}
    return None if inputs is None else inputs[idx]


def epoch_dataset(train: tuple, rows: int, seed: int | None) -> tuple[Any, int]:
    """An endless ``tf.data.Dataset`` of shuffled batches of in-memory data, and the number
    of batches per epoch.

    Epoch ``e`` cuts a fresh permutation (a stateless shuffle seeded by ``seed`` and ``e``)
    into ``steps`` batches, so each epoch sees every row once. One iterator serves all
    epochs (Keras re-creates it per epoch for arrays, which costs tens of milliseconds each
    time).
    """
    import tensorflow as tf

    feats, targets, weights = train
    n = len(targets)
    steps = -(-n // rows)
    data = (feats, targets) if weights is None else (feats, targets, weights)
    tensors = keras.tree.map_structure(tf.convert_to_tensor, to_keras(data))
    if seed is None:
        seed = int(np.random.SeedSequence().entropy % (2**31))

    def permutation(epoch: Any) -> Any:
        key = tf.stack([tf.constant(seed, tf.int64), epoch])
        return tf.random.experimental.stateless_shuffle(tf.range(n), seed=key)

    def gather(index: Any) -> Any:
        return keras.tree.map_structure(lambda t: tf.gather(t, index), tensors)

    plain = tf.autograph.experimental.do_not_convert  # plain TF code: skip the conversion
    epochs = tf.data.Dataset.range(2**62)
    if steps == 1:
        return fixed_pipeline(epochs.map(plain(lambda e: gather(permutation(e))))), steps
    index = epochs.map(plain(permutation)).flat_map(plain(
        lambda p: tf.data.Dataset.range(steps).map(plain(lambda i: p[i * rows : (i + 1) * rows]))))
    return fixed_pipeline(index.map(plain(gather))), steps


def dataset_sample(ds: Any, n: int) -> tuple[Any, Any, Any]:
    """Concatenate the first batches of a ``(features, label[, sample_weight])`` dataset up
    to ``n`` rows.

    Returns numpy features (a dict of arrays, bytes decoded to str, or an array), labels
    (bytes decoded to str) and the sample weights as float64 (None when the dataset
    yields none).
    """
    feats: list[Any] = []
    labels: list[np.ndarray] = []
    weights: list[np.ndarray] = []
    total = 0
    for element in ds:
        if not isinstance(element, tuple) or len(element) < 2:
            raise ValueError("a tf.data.Dataset for fit must yield (features, label) or "
                             "(features, label, sample_weight) batches")
        x, y = element[0], _decode(np.asarray(element[1]))
        if y.ndim == 0:
            raise ValueError("the tf.data.Dataset yields one row at a time (its label is a "
                             "scalar): batch it first, e.g. dataset.batch(32)")
        if isinstance(x, dict):
            x = {k: _decode(np.asarray(v)) for k, v in x.items()}
        else:
            x = np.asarray(x)
        feats.append(x)
        labels.append(y)
        if len(element) > 2 and element[2] is not None:
            w = np.asarray(element[2], dtype=np.float64)
            if w.size != len(y):
                raise ValueError(f"the tf.data.Dataset's sample weights have shape {w.shape} "
                                 f"for a batch of {len(y)} labels: give one weight a row")
            weights.append(w.reshape(len(y)))
        total += len(y)
        if total >= n:
            break
    if not feats:
        raise ValueError("the tf.data.Dataset is empty")
    y = np.concatenate(labels)
    w = np.concatenate(weights) if len(weights) == len(labels) else None
    if isinstance(feats[0], dict):
        return {k: np.concatenate([f[k] for f in feats]) for k in feats[0]}, y, w
    return np.concatenate(feats), y, w


def _decode(v: np.ndarray) -> np.ndarray:
    if v.dtype == object:
        return np.array([s.decode() if isinstance(s, bytes) else s for s in v.ravel()],
                        dtype=object).reshape(v.shape)
    return v
