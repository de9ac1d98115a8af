"""Machinery shared by the Keras-backed estimators of :mod:`estimators.neural`.

``NeuralEstimator`` drives ``keras.Model.fit`` for in-memory data (arrays, DataFrames),
``tf.data.Dataset`` input and chunked files (:mod:`estimators.inputs`); it keeps the training
history as a DataFrame, supports ``warm_start`` and ``partial_fit``, and pickles the Keras
model through its ``.keras`` bytes. Subclasses supply the network (``_build_model``) and how
raw features become model inputs; ``ClassifierTask`` and ``RegressorTask`` supply the targets.

Examples
--------
>>> from estimators.neural_base import history_frame
>>> history_frame({"loss": [1.0, 0.5], "val_loss": [1.1, 0.7]}).index.tolist()
[1, 2]
"""

from __future__ import annotations

import numbers
import os
import tempfile
import warnings
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_array, check_is_fitted, column_or_1d

from estimators.inputs import StreamInput, is_stream, is_tf_dataset
from estimators.preprocessing import keras

__all__ = [
    "BACKEND",
    "supports_micro_batches",
    "micro_batch_train_function",
    "NeuralEstimator",
    "ClassifierTask",
    "RegressorTask",
    "history_frame",
    "model_to_bytes",
    "model_from_bytes",
]

BACKEND: str = keras.backend.backend()
_PREDICT_ROWS = 65_536
_AUTO_ROWS = 8_192
_MIN_PREDICT_ROWS = 16


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

    step = tf.function(steps, reduce_retracing=True, jit_compile=bool(model.jit_compile))

    def function(iterator: Any) -> Any:
        return step(next(iterator))

    function.micro_batch_size = size  # type: ignore[attr-defined]
    return function


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


def _to_keras(inputs: Any) -> Any:
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
        return tuple(_to_keras(v) for v in inputs)
    return convert(inputs)


def _to_tensors(inputs: Any) -> Any:
    """All inputs as backend tensors (an eager model call rejects a numpy / tensor mix)."""
    inputs = _to_keras(inputs)
    if isinstance(inputs, dict):
        return {k: keras.ops.convert_to_tensor(v) for k, v in inputs.items()}
    return keras.ops.convert_to_tensor(inputs)


def _n_rows(inputs: Any) -> int:
    first = next(iter(inputs.values())) if isinstance(inputs, dict) else inputs
    return int(first.shape[0])


def _take(inputs: Any, idx: Any) -> Any:
    if isinstance(inputs, dict):
        return {k: v[idx] for k, v in inputs.items()}
    return None if inputs is None else inputs[idx]


class NeuralEstimator(BaseEstimator):
    """Base of the Keras estimators; see :mod:`estimators.neural` for the public classes."""

    # Subclass hooks --------------------------------------------------------------------
    def _check_features(self, X: Any, *, reset: bool) -> Any:  # pragma: no cover
        raise NotImplementedError

    def _model_inputs(self, X: Any, *, check_unseen: bool = True) -> Any:  # pragma: no cover
        raise NotImplementedError

    def _build_model(self) -> Any:  # pragma: no cover
        raise NotImplementedError

    def _features_from_tf(self, x: Any) -> Any:
        return x

    # Common parameters ------------------------------------------------------------------
    def _steps_per_execution(self, n_rows: int | None) -> int:
        spe, bs = self.steps_per_execution, self._batch_size()
        if spe == "auto":
            k = max(1, _AUTO_ROWS // bs)
            if n_rows is not None:
                k = min(k, max(1, -(-n_rows // bs)))
            return k
        if not isinstance(spe, numbers.Integral) or spe < 1:
            raise ValueError(f"steps_per_execution must be 'auto' or a positive int, got {spe!r}")
        return int(spe)

    def _batch_size(self) -> int:
        bs = self.batch_size
        if not isinstance(bs, numbers.Integral) or bs < 1:
            raise ValueError(f"batch_size must be a positive integer, got {bs!r}")
        return int(bs)

    def _seed(self) -> int | None:
        rs = self.random_state
        if rs is None:
            return None
        if isinstance(rs, np.random.RandomState):
            return int(rs.randint(0, 2**31 - 1))
        return int(rs)

    def _make_optimizer(self) -> Any:
        opt = self.optimizer
        if isinstance(opt, str):
            opt = keras.optimizers.get(opt)
        elif not isinstance(opt, keras.optimizers.Optimizer):
            raise ValueError(f"optimizer must be a name or a keras Optimizer, got {opt!r}")
        config = opt.get_config()
        if self.learning_rate is not None:
            config["learning_rate"] = float(self.learning_rate)
        return type(opt).from_config(config)

    def _loss(self) -> Any:
        loss = getattr(self, "loss", None)
        return self._default_loss() if loss is None else loss

    def _after_build(self, model: Any) -> None:
        """Hook: inspect the freshly built model (e.g. its output width)."""

    def _compile(self, model: Any, spe: int) -> None:
        metrics = self._default_metrics() if self.metrics is None else list(self.metrics)
        model.compile(
            optimizer=self._make_optimizer(), loss=self._loss(), metrics=metrics,
            jit_compile=self.jit_compile, steps_per_execution=spe,
        )

    def _callbacks(self, has_validation: bool) -> list[Any]:
        out = list(self.callbacks or [])
        if self.early_stopping is not None:
            patience = self.early_stopping
            if not isinstance(patience, numbers.Integral) or patience < 0:
                raise ValueError(f"early_stopping must be None or a patience >= 0, got {patience!r}")
            out.append(keras.callbacks.EarlyStopping(
                monitor="val_loss" if has_validation else "loss", patience=int(patience),
                restore_best_weights=True,
            ))
        return out

    # Fitting --------------------------------------------------------------------------------
    def fit(
        self, X: Any, y: Any = None, *, validation_data: Any = None, sample_weight: Any = None
    ) -> NeuralEstimator:
        """Fit the network.

        Parameters
        ----------
        X : array-like, DataFrame, tf.data.Dataset or StreamInput
            Training features. A ``tf.data.Dataset`` yields ``(features, label)`` or
            ``(features, label, sample_weight)`` batches; a :class:`~estimators.inputs.StreamInput`
            (``csv_input``, ``parquet_input``) carries its label column.
        y : array-like, optional
            Targets (None for a dataset or a stream).
        validation_data : tuple, tf.data.Dataset or StreamInput, optional
            ``(X_val, y_val)`` or ``(X_val, y_val, sample_weight_val)``, evaluated after each
            epoch (``val_*`` columns of ``history_``). Overrides ``validation_split``.
        sample_weight : array-like of shape (n_samples,), optional
            Per-row weights (in-memory data only).

        Returns
        -------
        self
        """
        return self._fit(X, y, validation_data, sample_weight, partial=False)

    def _fit(self, X: Any, y: Any, validation_data: Any, sample_weight: Any, *,
             partial: bool, classes: Any = None) -> NeuralEstimator:
        warm = (self.warm_start or partial) and hasattr(self, "model_")
        seed = self._seed()
        if seed is not None and not (partial and warm):
            keras.utils.set_random_seed(seed)
        if is_stream(X):
            if y is not None or sample_weight is not None:
                raise ValueError("y and sample_weight must be None when X is a stream or a "
                                 "tf.data.Dataset: the labels (and weights) come from it")
            train, n_rows, epochs = self._stream_train(X, warm, classes, partial)
            val = None
        else:
            train, n_rows = self._memory_train(X, y, sample_weight, warm, classes)
            epochs = 1 if partial else self._epochs()
            train, val = self._split_validation(train, validation_data, partial)
        if validation_data is not None:
            val = self._validation(validation_data)
        model = self.model_
        micro = supports_micro_batches(model)
        bs = self._batch_size()
        rows = bs * self._steps_per_execution(n_rows) if micro else bs
        fn = getattr(model, "train_function", None)
        if micro and getattr(fn, "micro_batch_size", None) != bs:
            model.train_function = micro_batch_train_function(model, bs)
        start = len(self.history_) if warm else 0
        kwargs: dict[str, Any] = dict(
            epochs=start + epochs, initial_epoch=start, verbose=self.verbose,
            callbacks=self._callbacks(val is not None), validation_data=val,
        )
        if isinstance(train, tuple) and BACKEND == "tensorflow":
            data, steps = _epoch_dataset(train, rows, seed)
            hist = model.fit(data, steps_per_epoch=steps, shuffle=False,
                             validation_batch_size=max(rows, 1024), **kwargs)
        elif isinstance(train, tuple):
            feats, targets, weights = train
            hist = model.fit(_to_keras(feats), targets, sample_weight=weights, batch_size=rows,
                             shuffle=True, validation_batch_size=max(rows, 1024), **kwargs)
        else:
            with warnings.catch_warnings():
                # a stream of unknown length ends each epoch by running out of data
                warnings.filterwarnings("ignore", "Your input ran out of data")
                hist = model.fit(train, shuffle=False, **kwargs)
        frame = history_frame(hist.history, start + 1)
        self.history_ = frame if not warm else pd.concat([self.history_, frame])
        return self

    def _epochs(self) -> int:
        if not isinstance(self.epochs, numbers.Integral) or self.epochs < 1:
            raise ValueError(f"epochs must be a positive integer, got {self.epochs!r}")
        return int(self.epochs)

    def _setup_model(self, n_rows: int | None) -> None:
        model = self._build_model()
        self._after_build(model)
        spe = 1 if supports_micro_batches(model) else self._steps_per_execution(n_rows)
        if n_rows is not None and spe > 1:
            # in-memory data cycles through an endless dataset, `steps` batches per epoch:
            # keep whole executions inside an epoch
            steps = -(-n_rows // self._batch_size())
            spe = max(d for d in range(1, spe + 1) if steps % d == 0)
        if not getattr(model, "compiled", False):
            self._compile(model, spe)
        self.model_ = model
        self.history_ = history_frame({})

    def _memory_train(self, X: Any, y: Any, sample_weight: Any, warm: bool,
                      classes: Any) -> tuple[tuple, int]:
        if y is None:
            raise ValueError(f"{type(self).__name__} requires y to be passed, but the target "
                             "y is None.")
        y = self._check_targets(y)
        X = self._check_features(X, reset=not warm)
        n = _n_rows_any(X)
        if n != len(y):
            raise ValueError(f"X has {n} samples but y has {len(y)}")
        if n == 0:
            raise ValueError("Found array with 0 sample(s) while a minimum of 1 is required.")
        feats = self._model_inputs(X)
        if not warm:
            self._init_targets(y, classes)
            self._setup_model(n)
        targets = self._encode_targets(y)
        weights = self._row_weights(sample_weight, targets, n)
        if not warm:
            self._prebuild(feats, targets)
        return (feats, targets, weights), n

    def _prebuild(self, feats: Any, targets: np.ndarray) -> None:
        """Create the optimizer and metric variables eagerly on two rows.

        Keras otherwise creates them while tracing the train step, and TensorFlow then
        traces it a second time (about half the start-up cost of a small fit). Purely an
        optimisation: a model whose loss or metrics cannot run eagerly is left as it is.
        """
        model = self.model_
        try:
            x = _to_tensors(_take(feats, slice(0, 2)))
            y = targets[:2]
            y_pred = model(x, training=False)
            model.optimizer.build(model.trainable_variables)
            model.compute_loss(x, y, y_pred)
            model.compute_metrics(x, y, y_pred, None)
            model.reset_metrics()
        except Exception:  # noqa: BLE001 - optional speed-up, Keras builds them in fit
            return

    def _row_weights(self, sample_weight: Any, targets: np.ndarray, n: int) -> Any:
        weights = None
        if sample_weight is not None:
            weights = np.asarray(sample_weight, dtype=np.float64)
            if weights.ndim == 0:
                weights = np.full(n, float(weights))
            if weights.shape != (n,):
                raise ValueError(f"sample_weight has shape {weights.shape}, expected ({n},)")
            if not np.isfinite(weights).all() or (weights < 0).any():
                raise ValueError("sample_weight must be finite and non-negative")
            if not weights.any():
                raise ValueError("All sample weights are zero; at least one must be positive.")
        cw = self._class_weight_rows(targets)
        if cw is not None:
            weights = cw if weights is None else weights * cw
        return None if weights is None else weights.astype(np.float32)

    def _class_weight_rows(self, targets: np.ndarray) -> np.ndarray | None:
        return None

    def _split_validation(self, train: tuple, validation_data: Any, partial: bool
                          ) -> tuple[tuple, Any]:
        frac = self.validation_split
        if validation_data is not None or partial or not frac:
            return train, None
        if not 0.0 < frac < 1.0:
            raise ValueError(f"validation_split must be in [0, 1), got {frac!r}")
        feats, targets, weights = train
        n = len(targets)
        n_val = int(round(n * frac))
        if n_val < 1 or n_val >= n:
            return train, None
        perm = np.random.RandomState(self._seed()).permutation(n)
        tr, va = np.sort(perm[n_val:]), np.sort(perm[:n_val])
        val = (_to_keras(_take(feats, va)), targets[va])
        if weights is not None:
            val = (*val, weights[va])
        return (_take(feats, tr), targets[tr], _take(weights, tr)), val

    def _validation(self, data: Any) -> Any:
        if is_stream(data):
            return self._stream_dataset(data, shuffle=False, with_targets=True)
        if not isinstance(data, tuple | list) or len(data) not in (2, 3):
            raise ValueError("validation_data must be (X, y), (X, y, sample_weight), a "
                             "tf.data.Dataset or a StreamInput")
        X, y = data[0], self._check_targets(data[1])
        feats = _to_keras(self._model_inputs(self._check_features(X, reset=False)))
        targets = self._encode_targets(y)
        if len(data) == 3 and data[2] is not None:
            return feats, targets, np.asarray(data[2], dtype=np.float32)
        return feats, targets

    # Streams ----------------------------------------------------------------------------------
    def _stream_train(self, X: Any, warm: bool, classes: Any, partial: bool
                      ) -> tuple[Any, int | None, int]:
        if is_tf_dataset(X):
            if not warm:
                feats, y = _dataset_sample(X, self._stream_sample_size())
                self._check_features(feats, reset=True)
                self._init_targets(self._check_targets(y), classes)
                self._setup_model(None)
            return self._map_tf_dataset(X), None, 1 if partial else self._epochs()
        if not X.label_columns:
            raise ValueError("the stream has no label column: pass label=... to csv_input / "
                             "parquet_input to fit from it")
        if not warm:
            sample = X.sample()
            feats = sample[X.feature_columns(sample)]
            self._check_features(feats, reset=True)
            y = sample[X.label_columns[0]] if len(X.label_columns) == 1 else \
                sample[X.label_columns]
            self._init_targets(self._check_targets(y), classes)
            self._setup_model(None)
            head = sample.head(2)
            self._prebuild(self._model_inputs(head[feats.columns], check_unseen=False),
                           self._encode_targets(self._check_targets(y[:2])))
        epochs = 1 if partial else (X.epochs or self._epochs())
        return self._stream_dataset(X, shuffle=True, with_targets=True), None, epochs

    def _stream_sample_size(self) -> int:
        return 100_000

    def _stream_dataset(self, stream: Any, *, shuffle: bool, with_targets: bool) -> Any:
        if is_tf_dataset(stream):
            return self._map_tf_dataset(stream)
        bs = stream.batch_size or self._batch_size()
        k = self._steps_per_execution(None) if supports_micro_batches(self.model_) else 1
        labels = stream.label_columns

        def encode(chunk: pd.DataFrame) -> dict[str, np.ndarray]:
            feats = self._model_inputs(chunk[self._stream_features(stream, chunk)],
                                       check_unseen=False)
            table = ({f"x:{k}": v for k, v in feats.items()} if isinstance(feats, dict)
                     else {"x": feats})
            if with_targets:
                y = chunk[labels[0]] if len(labels) == 1 else chunk[labels]
                table["y"] = self._encode_targets(self._check_targets(y))
                w = self._class_weight_rows(table["y"])
                if w is not None:
                    table["w"] = w.astype(np.float32)
            return table

        def structure(t: dict[str, Any]) -> Any:
            feats = t["x"] if "x" in t else {k[2:]: v for k, v in t.items() if k[:2] == "x:"}
            if not with_targets:
                return (feats,)
            return (feats, t["y"], t["w"]) if "w" in t else (feats, t["y"])

        return stream.to_dataset(encode, structure, rows=bs * k, shuffle=shuffle)

    def _stream_features(self, stream: StreamInput, chunk: pd.DataFrame) -> list[str]:
        names = getattr(self, "feature_names_in_", None)
        if names is not None:
            missing = [c for c in names if c not in chunk.columns]
            if missing:
                raise ValueError(f"missing feature columns: {missing}")
            return list(names)
        return stream.feature_columns(chunk)

    def _map_tf_dataset(self, ds: Any) -> Any:
        def fn(*element: Any) -> Any:
            x = self._features_from_tf(element[0])
            if len(element) == 1:
                return (x,)
            y = self._encode_targets_tf(element[1])
            return (x, y, *element[2:])

        return ds.map(fn)

    # Prediction ----------------------------------------------------------------------------
    def _predict_raw(self, X: Any) -> np.ndarray:
        check_is_fitted(self, "model_")
        if is_stream(X):
            return self._predict_stream(X)
        feats = self._model_inputs(self._check_features(X, reset=False))
        return self._call_model(feats)

    def _call_model(self, feats: Any) -> np.ndarray:
        n = _n_rows(feats)
        if 0 < n < _MIN_PREDICT_ROWS:
            # A lone row goes through a different matmul kernel (gemv) than a batch and may
            # differ in the last bit; padding makes predictions independent of the batch.
            pad = np.concatenate([np.arange(n), np.full(_MIN_PREDICT_ROWS - n, n - 1)])
            return self._call_model(_take(feats, pad))[:n]
        outs = []
        for start in range(0, max(n, 1), _PREDICT_ROWS):
            part = _to_tensors(_take(feats, slice(start, start + _PREDICT_ROWS)))
            outs.append(keras.ops.convert_to_numpy(self.model_(part, training=False)))
        return np.concatenate(outs) if len(outs) > 1 else outs[0]

    def _predict_stream(self, X: Any) -> np.ndarray:
        if is_tf_dataset(X):
            return np.asarray(self.model_.predict(self._map_tf_dataset(X), verbose=0))
        outs = []
        for chunk in X.chunks():
            feats = self._model_inputs(self._check_features(
                chunk[self._stream_features(X, chunk)], reset=False))
            outs.append(self._call_model(feats))
        return np.concatenate(outs)

    # Persistence ---------------------------------------------------------------------------
    def __getstate__(self) -> dict[str, Any]:
        state = super().__getstate__()
        state = dict(state)
        model = state.pop("model_", None)
        if model is not None:
            state["_model_keras_bytes"] = model_to_bytes(model)
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        state = dict(state)
        data = state.pop("_model_keras_bytes", None)
        super().__setstate__(state)
        if data is not None:
            self.model_ = model_from_bytes(data)

    def export(self, path: str | os.PathLike) -> str:
        """Write a TensorFlow SavedModel whose ``serving_default`` takes the raw columns.

        See :func:`estimators.export.export_saved_model`; reload the estimator with
        :func:`estimators.neural.load`, or the bare model with ``tf.saved_model.load``.
        """
        from estimators.export import export_saved_model

        return export_saved_model(self, path)

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = False
        return tags


def _epoch_dataset(train: tuple, rows: int, seed: int | None) -> tuple[Any, int]:
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
    tensors = keras.tree.map_structure(tf.convert_to_tensor, _to_keras(data))
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


def _n_rows_any(X: Any) -> int:
    if isinstance(X, dict):
        return _n_rows(X)
    return int(X.shape[0]) if hasattr(X, "shape") else len(X)


def _dataset_sample(ds: Any, n: int) -> tuple[Any, Any]:
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


class ClassifierTask:
    """Targets of a classifier: label encoding, sigmoid / softmax head, class weights."""

    def _check_targets(self, y: Any) -> np.ndarray:
        y = column_or_1d(y, warn=True)
        check_classification_targets(y)
        return y

    def _init_targets(self, y: np.ndarray, classes: Any = None) -> None:
        self.classes_ = np.unique(y if classes is None else np.asarray(classes))
        self.n_classes_ = len(self.classes_)
        if self.n_classes_ < 2:
            raise ValueError(
                f"{type(self).__name__} needs samples of at least 2 classes in the data, but "
                f"the data contains only one class: {self.classes_[0]!r}"
            )
        self._class_weights = self._class_weight_vector(y)
        self._head = "sigmoid" if self.n_classes_ == 2 else "softmax"

    def _class_weight_vector(self, y: np.ndarray) -> np.ndarray | None:
        cw = self.class_weight
        if cw is None:
            return None
        if isinstance(cw, str):
            if cw != "balanced":
                raise ValueError(f"class_weight must be a dict, 'balanced' or None, got {cw!r}")
            counts = np.array([(y == c).sum() for c in self.classes_], dtype=float)
            return len(y) / (self.n_classes_ * np.maximum(counts, 1.0))
        return np.array([float(cw.get(c, 1.0)) for c in self.classes_])

    def _class_weight_rows(self, targets: np.ndarray) -> np.ndarray | None:
        if self._class_weights is None:
            return None
        return self._class_weights[np.asarray(targets).reshape(len(targets)).astype(int)]

    def _encode_targets(self, y: np.ndarray) -> np.ndarray:
        idx = np.searchsorted(self.classes_, y)
        bad = (idx >= self.n_classes_) | (self.classes_[np.minimum(idx, self.n_classes_ - 1)]
                                          != y)
        if bad.any():
            raise ValueError(f"y contains labels not seen in fit: {sorted(set(y[bad]))[:5]} "
                             f"(classes_ = {self.classes_.tolist()})")
        if self._head == "sigmoid":
            return idx.astype(np.float32)[:, None]
        if self._head == "onehot":
            return np.eye(self.n_classes_, dtype=np.float32)[idx]
        return idx.astype(np.int32)

    def _encode_targets_tf(self, y: Any) -> Any:
        import tensorflow as tf

        classes = self.classes_
        if classes.dtype.kind in "OUS":
            keys = tf.constant(classes.astype(str))
            y = tf.strings.as_string(y) if y.dtype != tf.string else y
        else:
            keys = tf.constant(classes.astype(np.int64))
            y = tf.cast(y, tf.int64)
        table = tf.lookup.StaticHashTable(
            tf.lookup.KeyValueTensorInitializer(keys, tf.range(len(classes), dtype=tf.int64)),
            default_value=-1,
        )
        idx = table.lookup(tf.reshape(y, [-1]))
        check = tf.debugging.assert_non_negative(
            idx, message=f"a label is not among the classes seen in fit: {self.classes_.tolist()}")
        with tf.control_dependencies([check]):
            idx = tf.identity(idx)
        if self._head == "sigmoid":
            return tf.cast(idx, tf.float32)[:, None]
        if self._head == "onehot":
            return tf.one_hot(idx, self.n_classes_)
        return tf.cast(idx, tf.int32)

    def _n_outputs(self) -> int:
        return 1 if self.n_classes_ == 2 else self.n_classes_

    def _output_activation(self) -> str:
        return "sigmoid" if self.n_classes_ == 2 else "softmax"

    def _default_loss(self) -> str:
        if self._head == "sigmoid":
            return "binary_crossentropy"
        return "categorical_crossentropy" if self._head == "onehot" else \
            "sparse_categorical_crossentropy"

    def _default_metrics(self) -> list[Any]:
        return ["accuracy"]

    def _proba_from_raw(self, raw: np.ndarray) -> np.ndarray:
        raw = np.asarray(raw, dtype=np.float64)
        if raw.ndim == 1:
            raw = raw[:, None]
        if raw.shape[1] == 1:
            return np.hstack([1.0 - raw, raw])
        return raw / raw.sum(axis=1, keepdims=True)

    def predict_proba(self, X: Any) -> np.ndarray:
        """Class probabilities, shape (n_samples, n_classes), columns in ``classes_`` order.

        Parameters
        ----------
        X : array-like, DataFrame, tf.data.Dataset or StreamInput
        """
        return self._proba_from_raw(self._predict_raw(X))

    def predict(self, X: Any) -> np.ndarray:
        """Most probable class of each row (labels from ``classes_``).

        Parameters
        ----------
        X : array-like, DataFrame, tf.data.Dataset or StreamInput
        """
        proba = self.predict_proba(X)
        return self.classes_[np.argmax(proba, axis=1)]

    def partial_fit(self, X: Any, y: Any = None, classes: Sequence[Any] | None = None,
                    sample_weight: Any = None) -> Any:
        """One epoch over ``X``; the first call builds the model.

        Parameters
        ----------
        X, y, sample_weight
            As in :meth:`fit`.
        classes : array-like, optional
            All the classes; needed on the first call when ``y`` may miss some.
        """
        return self._fit(X, y, None, sample_weight, partial=True, classes=classes)


class RegressorTask:
    """Targets of a regressor: optional standardisation, linear head, multi-output."""

    def _check_targets(self, y: Any) -> np.ndarray:
        y = check_array(y, ensure_2d=False, dtype="numeric", input_name="y")
        if y.ndim > 2:
            raise ValueError(f"y must be 1-D or 2-D, got shape {y.shape}")
        return y

    def _init_targets(self, y: np.ndarray, classes: Any = None) -> None:
        self.n_outputs_ = 1 if y.ndim == 1 else y.shape[1]
        y2 = y.reshape(len(y), self.n_outputs_).astype(np.float64)
        self._target_1d = y.ndim == 1
        if self.normalize_y:
            scale = y2.std(axis=0)
            self._target_mean = y2.mean(axis=0)
            self._target_scale = np.where(scale > 0, scale, 1.0)
        else:
            self._target_mean = np.zeros(self.n_outputs_)
            self._target_scale = np.ones(self.n_outputs_)

    def _encode_targets(self, y: np.ndarray) -> np.ndarray:
        y2 = np.asarray(y, dtype=np.float64).reshape(len(y), -1)
        if y2.shape[1] != self.n_outputs_:
            raise ValueError(f"y has {y2.shape[1]} outputs, expected {self.n_outputs_}")
        return ((y2 - self._target_mean) / self._target_scale).astype(np.float32)

    def _encode_targets_tf(self, y: Any) -> Any:
        import tensorflow as tf

        y = tf.reshape(tf.cast(y, tf.float32), [-1, self.n_outputs_])
        return (y - self._target_mean.astype(np.float32)) / self._target_scale.astype(np.float32)

    def _n_outputs(self) -> int:
        return self.n_outputs_

    def _output_activation(self) -> str:
        return "linear"

    def _default_loss(self) -> str:
        return "mse"

    def _default_metrics(self) -> list[Any]:
        return ["mae"]

    def _from_raw(self, raw: np.ndarray) -> np.ndarray:
        raw = np.asarray(raw, dtype=np.float64).reshape(len(raw), -1)
        out = raw * self._target_scale + self._target_mean
        return out[:, 0] if self._target_1d else out

    def predict(self, X: Any) -> np.ndarray:
        """Predicted targets, shape (n_samples,) or (n_samples, n_outputs).

        Parameters
        ----------
        X : array-like, DataFrame, tf.data.Dataset or StreamInput
        """
        return self._from_raw(self._predict_raw(X))

    def partial_fit(self, X: Any, y: Any = None, sample_weight: Any = None) -> Any:
        """One epoch over ``X``; the first call builds the model.

        Parameters
        ----------
        X, y, sample_weight
            As in :meth:`fit`.
        """
        return self._fit(X, y, None, sample_weight, partial=True)


def call_with_meta(fn: Callable[..., Any], meta: dict[str, Any]) -> Any:
    """Call ``fn`` with the entries of ``meta`` it accepts (all of them with ``**kwargs``)."""
    import inspect

    try:
        params = inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return fn()
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()):
        return fn(**meta)
    return fn(**{k: v for k, v in meta.items() if k in params})
