"""Training plumbing for the Keras estimators: data to ``tf.data``, the micro-batch train
function, ``.keras`` bytes, history frames.

Examples
--------
>>> from estimators.neural_train import history_frame
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

from estimators.preprocessing import keras

__all__ = [
    "BACKEND",
    "supports_micro_batches",
    "micro_batch_train_function",
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


def supports_micro_batches(model: Any) -> bool:
    """Whether :func:`micro_batch_train_function` can drive ``model``.

    It needs the TensorFlow backend, graph execution, no distribution strategy and Keras'
    own ``train_step`` (a custom ``train_step`` keeps Keras' ``steps_per_execution``).
    """
    if BACKEND != "tensorflow" or model.run_eagerly:
        return False
    import tensorflow as tf

    return (not tf.distribute.has_strategy() and getattr(model, "steps_per_execution", 1) == 1
            and type(model).train_step is keras.Model.train_step)


def micro_batch_train_function(model: Any, size: int) -> Any:
    """A Keras ``train_function`` running several mini-batches per call (TensorFlow).

    Each element of the data holds up to ``k * size`` rows; one compiled call applies the
    ``k`` updates of ``size`` rows in a ``tf.while_loop`` (``model.train_step`` on each
    slice), so small networks no longer pay Keras' per-step Python and ``tf.data``
    overhead. The updates are exactly those of plain mini-batch training on the same rows.
    It also wraps the step in a single ``tf.function`` fed from Python, where Keras nests a
    second one that pulls from the iterator in the graph (a second trace, ~0.1 s per fit).

    Examples
    --------
    >>> import keras, numpy as np
    >>> inp = keras.Input((2,)); model = keras.Model(inp, keras.layers.Dense(1)(inp))
    >>> model.compile("sgd", "mse")
    >>> model.train_function = micro_batch_train_function(model, 8)
    >>> _ = model.fit(np.ones((32, 2)), np.ones(32), batch_size=32, verbose=0)
    """
    import tensorflow as tf

    def steps(data: Any) -> Any:
        x, y, sw = keras.utils.unpack_x_y_sample_weight(data)
        n = tf.shape(keras.tree.flatten(x)[0])[0]
        n_steps = (n + size - 1) // size

        def body(i: Any) -> tuple:
            def cut(t: Any) -> Any:
                return None if t is None else t[i * size : (i + 1) * size]

            model.train_step(keras.tree.map_structure(cut, (x, y, sw)))
            return (i + 1,)

        tf.while_loop(lambda i: i < n_steps, body, (tf.constant(0),))
        return model.get_metrics_result()

    compiled: dict[str, Any] = {}

    def prepare(element_spec: Any) -> Any:
        """The compiled step for data of this structure, traced now (once for any batch
        size: the last batch of an epoch is usually smaller)."""
        spec = None
        if element_spec is not None:
            spec = keras.tree.map_structure(
                lambda s: tf.TensorSpec((None, *s.shape[1:]), s.dtype), element_spec)
        key = repr(spec)
        if key not in compiled:
            compiled[key] = tf.function(
                steps, input_signature=None if spec is None else [spec], autograph=False,
                reduce_retracing=True, jit_compile=bool(model.jit_compile))
            if spec is not None:
                compiled[key].get_concrete_function(spec)
        return compiled[key]

    def function(iterator: Any) -> Any:
        return prepare(getattr(iterator, "element_spec", None))(next(iterator))

    function.micro_batch_size = size  # type: ignore[attr-defined]
    function.prepare = prepare  # type: ignore[attr-defined]
    return function


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

    epochs = tf.data.Dataset.range(2**62)
    if steps == 1:
        return epochs.map(lambda e: gather(permutation(e))).prefetch(2), steps
    index = epochs.map(permutation).flat_map(lambda p: tf.data.Dataset.range(steps).map(
        lambda i: p[i * rows : (i + 1) * rows]))
    return index.map(gather).prefetch(2), steps


def dataset_sample(ds: Any, n: int) -> tuple[Any, Any]:
    """Concatenate the first batches of a ``(features, label, ...)`` dataset up to ``n`` rows.

    Returns numpy features (a dict of arrays, bytes decoded to str, or an array) and labels.
    """
    feats: list[Any] = []
    labels: list[np.ndarray] = []
    total = 0
    for element in ds:
        if not isinstance(element, tuple) or len(element) < 2:
            raise ValueError("a tf.data.Dataset for fit must yield (features, label) or "
                             "(features, label, sample_weight) batches")
        x, y = element[0], np.asarray(element[1])
        if isinstance(x, dict):
            x = {k: _decode(np.asarray(v)) for k, v in x.items()}
        else:
            x = np.asarray(x)
        feats.append(x)
        labels.append(y)
        total += len(y)
        if total >= n:
            break
    if not feats:
        raise ValueError("the tf.data.Dataset is empty")
    y = np.concatenate(labels)
    if isinstance(feats[0], dict):
        return {k: np.concatenate([f[k] for f in feats]) for k in feats[0]}, y
    return np.concatenate(feats), y


def _decode(v: np.ndarray) -> np.ndarray:
    if v.dtype == object:
        return np.array([s.decode() if isinstance(s, bytes) else s for s in v.ravel()],
                        dtype=object).reshape(v.shape)
    return v
