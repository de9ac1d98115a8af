"""Machinery shared by the Keras-backed estimators of :mod:`estimators.neural`.

``NeuralEstimator`` drives ``keras.Model.fit`` for in-memory data (arrays, DataFrames),
``tf.data.Dataset`` input and chunked files (:mod:`estimators.io.inputs`); it keeps the training
history as a DataFrame, supports ``warm_start`` and ``partial_fit``, and pickles the Keras
model through its ``.keras`` bytes. Subclasses supply the network (``_build_model``) and how
raw features become model inputs; ``ClassifierTask`` and ``RegressorTask`` supply the targets.

Examples
--------
>>> from estimators.neural import DNNRegressor
>>> from estimators.neural.base import NeuralEstimator
>>> issubclass(DNNRegressor, NeuralEstimator)
True
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator
from sklearn.utils.validation import check_is_fitted

from estimators.base import check_sample_weight, seed_from, validate_params
from estimators.io.errors import stream_errors_raised
from estimators.io.inputs import StreamInput, is_stream, is_tf_dataset
from estimators.neural.distribute import (
    check_strategy,
    distribute_stream,
    is_multi_worker,
    is_tf_strategy,
    strategy_scope,
)
from estimators.neural.internals import custom_train_functions, local_symbolic_build
from estimators.neural.steps import (
    memory_train_function,
    micro_batch_train_function,
    replica_step_functions,
    supports_micro_batches,
)
from estimators.neural.targets import ClassifierTask, RegressorTask
from estimators.neural.train import (
    BACKEND,
    dataset_sample,
    epoch_dataset,
    gc_paused,
    history_frame,
    model_from_bytes,
    model_to_bytes,
    n_rows,
    take_rows,
    to_keras,
    to_tensors,
)
from estimators.tabular.preprocessing import keras
from estimators.tracking import tracked_fit

__all__ = [
    "BACKEND",
    "NeuralEstimator",
    "ClassifierTask",
    "RegressorTask",
    "call_with_meta",
    "model_from_bytes",
    "model_to_bytes",
]

_PREDICT_ROWS = 65_536
_AUTO_ROWS = 8_192  # rows per call when each call's rows are copied (streams)
_AUTO_ROWS_MEMORY = 131_072  # in-memory data: a call gathers its rows, nothing is copied
_PREDICT_TILE = 64  # rows: predictions are made on whole tiles of this many rows


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
    def _steps_per_execution(self, n_rows: int | None, auto_rows: int = _AUTO_ROWS) -> int:
        spe, bs = self.steps_per_execution, self._batch_size()
        if spe == "auto":
            k = max(1, auto_rows // bs)
            if n_rows is not None:
                k = min(k, max(1, -(-n_rows // bs)))
            return k
        return int(spe)

    def _batch_size(self) -> int:
        return int(self.batch_size)

    def _strategy(self) -> Any:
        return check_strategy(getattr(self, "strategy", None))

    def _seed(self) -> int | None:
        """None leaves Keras unseeded; otherwise the seed every estimator derives."""
        return None if self.random_state is None else seed_from(self.random_state)

    def _make_optimizer(self) -> Any:
        opt = self.optimizer
        if isinstance(opt, str):
            opt = keras.optimizers.get(opt)
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
            out.append(keras.callbacks.EarlyStopping(
                monitor="val_loss" if has_validation else "loss",
                patience=int(self.early_stopping),
                restore_best_weights=True,
            ))
        return out

    # Fitting --------------------------------------------------------------------------------
    @tracked_fit
    def fit(
        self, X: Any, y: Any = None, *, validation_data: Any = None, sample_weight: Any = None
    ) -> NeuralEstimator:
        """Fit the network.

        Parameters
        ----------
        X : array-like, DataFrame, tf.data.Dataset or StreamInput
            Training features. A ``tf.data.Dataset`` yields ``(features, label)`` or
            ``(features, label, sample_weight)`` batches; a :class:`~estimators.io.StreamInput`
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
        validate_params(self)
        warm = (self.warm_start or partial) and hasattr(self, "model_")
        seed = self._seed()
        strategy = self._strategy()
        custom_train_functions()  # probed once, before the seed is set
        if seed is not None and not (partial and warm):
            keras.utils.set_random_seed(seed)
        with strategy_scope(strategy):  # build, compile and fit under the strategy
            with gc_paused():  # model construction and tracing: see gc_paused
                data, fit_kwargs, start = self._prepare_fit(
                    X, y, validation_data, sample_weight, warm, partial, classes, seed)
            with warnings.catch_warnings():
                if fit_kwargs.pop("_stream"):
                    # a stream of unknown length ends each epoch by running out of data
                    warnings.filterwarnings("ignore", "Your input ran out of data")
                with stream_errors_raised():  # a chunk's error, not tf.data's wrapper
                    hist = self.model_.fit(data, **fit_kwargs)
        frame = history_frame(hist.history, start + 1)
        self.history_ = frame if not warm else pd.concat([self.history_, frame])
        return self

    def _prepare_fit(self, X: Any, y: Any, validation_data: Any, sample_weight: Any,
                     warm: bool, partial: bool, classes: Any, seed: int | None
                     ) -> tuple[Any, dict[str, Any], int]:
        """Validate, build the model (unless warm), and return the data and ``fit`` kwargs."""
        stream = is_stream(X)
        if stream:
            if y is not None or sample_weight is not None:
                raise ValueError("y and sample_weight must be None when X is a stream or a "
                                 "tf.data.Dataset: the labels (and weights) come from it")
            if self.validation_split and validation_data is None:
                raise ValueError("validation_split needs in-memory data; with a stream or a "
                                 "tf.data.Dataset pass validation_data=...")
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
        bs = getattr(X, "batch_size", None) if isinstance(X, StreamInput) else None
        bs = bs or self._batch_size()
        start = len(self.history_) if warm else 0
        val_rows = max(bs * self._steps_per_execution(None), 1024)
        kwargs: dict[str, Any] = dict(
            epochs=start + epochs, initial_epoch=start, verbose=self.verbose,
            callbacks=self._callbacks(val is not None), validation_data=val, _stream=stream,
        )
        if isinstance(train, tuple) and micro:
            feats, targets, weights = train
            columns = (to_keras(feats), targets) if weights is None else \
                (to_keras(feats), targets, weights)
            # traced now, while the collector is paused
            model.train_function, calls = memory_train_function(
                model, columns, size=bs, seed=seed, first_epoch=start,
                steps_per_call=self._steps_per_execution(n_rows, _AUTO_ROWS_MEMORY))
            data = model.train_function.call_indices()
            kwargs.update(steps_per_epoch=calls, shuffle=False, validation_batch_size=val_rows)
        elif isinstance(train, tuple) and BACKEND == "tensorflow":
            data, steps = epoch_dataset(train, bs, seed)
            kwargs.update(steps_per_epoch=steps, shuffle=False, validation_batch_size=val_rows)
        elif isinstance(train, tuple):
            feats, targets, weights = train
            data = to_keras(feats)
            kwargs.update(y=targets, sample_weight=weights, batch_size=bs, shuffle=True,
                          validation_batch_size=val_rows)
        else:
            data = train
            kwargs.update(shuffle=False)
            fn = getattr(model, "train_function", None)
            if micro and getattr(fn, "micro_batch_size", None) != bs:
                model.train_function = fn = micro_batch_train_function(model, bs)
            if micro and hasattr(data, "element_spec"):
                fn.prepare(data.element_spec)  # trace now, while the collector is paused
        return data, kwargs, start

    def _epochs(self) -> int:
        return int(self.epochs)

    def _setup_model(self, n_rows: int | None) -> None:
        model = self._build_model()
        self._after_build(model)
        spe = 1 if supports_micro_batches(model) else self._steps_per_execution(n_rows)
        if is_tf_strategy(self._strategy()):
            # Keras' multi-step loop fails under tf.distribute (keras-team/keras#19246)
            spe = 1
        if n_rows is not None and spe > 1:
            # in-memory data cycles through an endless dataset, `steps` batches per epoch:
            # keep whole executions inside an epoch
            steps = -(-n_rows // self._batch_size())
            spe = max(d for d in range(1, spe + 1) if steps % d == 0)
        if not getattr(model, "compiled", False):
            self._compile(model, spe)
        strategy = self._strategy()
        if is_tf_strategy(strategy):
            # Keras 3's fit reduces a first batch across replicas to learn its shapes, which
            # fails for string columns and across workers (keras-team/keras#20585)
            local_symbolic_build(model, strategy)
        if is_multi_worker(strategy) and custom_train_functions():
            # ... and reduces each scalar log along axis 0 across workers: one step per
            # call, the logs reduced across replicas
            replica_step_functions(model, strategy)
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
        weights = None if sample_weight is None else check_sample_weight(sample_weight, n)
        if not warm:
            self._init_targets(y, classes, weights)
            self._setup_model(n)
        targets = self._encode_targets(y)
        weights = self._row_weights(weights, targets)
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
        if self._strategy() is not None:
            return  # Keras builds them under the strategy (replicated)
        try:
            x = to_tensors(take_rows(feats, slice(0, 2)))
            y = targets[:2]
            y_pred = model(x, training=False)
            model.optimizer.build(model.trainable_variables)
            model.compute_loss(x, y, y_pred)
            model.compute_metrics(x, y, y_pred, None)
            model.reset_metrics()
        except Exception:  # noqa: BLE001 - optional speed-up, Keras builds them in fit
            return

    def _row_weights(self, weights: np.ndarray | None, targets: np.ndarray) -> Any:
        """Checked sample weights (None: none) times the class weights, as float32."""
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
        feats, targets, weights = train
        n = len(targets)
        n_val = int(round(n * frac))
        if n_val < 1 or n_val >= n:
            return train, None
        perm = np.random.RandomState(self._seed()).permutation(n)
        tr, va = np.sort(perm[n_val:]), np.sort(perm[:n_val])
        val = (to_keras(take_rows(feats, va)), targets[va])
        if weights is not None:
            val = (*val, weights[va])
        return (take_rows(feats, tr), targets[tr], take_rows(weights, tr)), val

    def _validation(self, data: Any) -> Any:
        if is_stream(data):
            return self._stream_dataset(data, shuffle=False, with_targets=True,
                                        class_weights=False)
        if not isinstance(data, tuple | list) or len(data) not in (2, 3):
            raise ValueError("validation_data must be (X, y), (X, y, sample_weight), a "
                             "tf.data.Dataset or a StreamInput")
        X, y = data[0], self._check_targets(data[1])
        feats = to_keras(self._model_inputs(self._check_features(X, reset=False)))
        targets = self._encode_targets(y)
        if len(data) == 3 and data[2] is not None:
            return feats, targets, np.asarray(data[2], dtype=np.float32)
        return feats, targets

    # Streams ----------------------------------------------------------------------------------
    def _stream_train(self, X: Any, warm: bool, classes: Any, partial: bool
                      ) -> tuple[Any, int | None, int]:
        if is_tf_dataset(X):
            if not warm:
                feats, y, w = dataset_sample(X, self._stream_sample_size())
                self._check_features(feats, reset=True)
                self._init_targets(self._check_targets(y), classes, w)
                self._setup_model(None)
                mapped = self._map_tf_dataset(X)
                first = next(iter(mapped.take(1)))
                self._prebuild(first[0], first[1])
                return mapped, None, 1 if partial else self._epochs()
            return self._map_tf_dataset(X), None, 1 if partial else self._epochs()
        if not X.label_columns:
            raise ValueError("the stream has no label column: pass label=... to csv_input / "
                             "parquet_input to fit from it")
        if not warm:
            sample = X.sample()
            missing = [c for c in X.label_columns if c not in sample.columns]
            if missing:
                raise ValueError(f"the label column(s) {missing} are not in {X.paths[0]!r}; "
                                 f"its columns are {list(sample.columns)}")
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

    def _stream_dataset(self, stream: Any, *, shuffle: bool, with_targets: bool,
                        class_weights: bool = True) -> Any:
        if is_tf_dataset(stream):
            return self._map_tf_dataset(stream, class_weights=class_weights)
        bs = stream.batch_size or self._batch_size()
        k = self._steps_per_execution(None) if supports_micro_batches(self.model_) else 1
        labels = stream.label_columns

        fitted = getattr(self, "feature_names_in_", None)

        def encode(chunk: pd.DataFrame) -> dict[str, np.ndarray]:
            feats = self._model_inputs(chunk[stream.feature_columns(chunk, fitted)],
                                       check_unseen=False)
            table = ({f"x:{k}": v for k, v in feats.items()} if isinstance(feats, dict)
                     else {"x": feats})
            if with_targets:
                y = chunk[labels[0]] if len(labels) == 1 else chunk[labels]
                table["y"] = self._encode_targets(self._check_targets(y))
                w = self._class_weight_rows(table["y"]) if class_weights else None
                if w is not None:
                    table["w"] = w.astype(np.float32)
            return table

        def structure(t: dict[str, Any]) -> Any:
            feats = t["x"] if "x" in t else {k[2:]: v for k, v in t.items() if k[:2] == "x:"}
            if not with_targets:
                return (feats,)
            return (feats, t["y"], t["w"]) if "w" in t else (feats, t["y"])

        def make(rows: int, shard: tuple[int, int] | None) -> Any:
            return stream.to_dataset(encode, structure, rows=rows, shuffle=shuffle, shard=shard)

        return distribute_stream(self._strategy(), make, bs * k)

    def _map_tf_dataset(self, ds: Any, *, class_weights: bool = True) -> Any:
        import tensorflow as tf

        def fn(*element: Any) -> Any:
            x = self._features_from_tf(element[0])
            if len(element) == 1:
                return (x,)
            y, weights = self._encode_targets_tf(element[1])
            if weights is None or not class_weights:
                return (x, y, *element[2:])
            if len(element) > 2:
                weights = weights * tf.cast(tf.reshape(element[2], [-1]), weights.dtype)
            return (x, y, weights)

        return ds.map(fn)

    # Prediction ----------------------------------------------------------------------------
    def _predict_raw(self, X: Any) -> np.ndarray:
        check_is_fitted(self, "model_")
        if is_stream(X):
            return self._predict_stream(X)
        feats = self._model_inputs(self._check_features(X, reset=False))
        return self._call_model(feats)

    def _call_model(self, feats: Any) -> np.ndarray:
        n, outs = n_rows(feats), []
        for start in range(0, max(n, 1), _PREDICT_ROWS):
            stop = min(start + _PREDICT_ROWS, n)
            rows: Any = slice(start, stop)
            if (stop - start) % _PREDICT_TILE:
                # A lone row goes through another matmul kernel (gemv) than a batch, and the
                # rows of a last partial tile through another microkernel (seen on AVX2):
                # each may differ in the last bit. Whole tiles (the last row repeated) make
                # a row's prediction independent of its batch and its place in it.
                rows = np.concatenate([np.arange(start, stop),
                                       np.full(-(stop - start) % _PREDICT_TILE, stop - 1)])
            out = self.model_(to_tensors(take_rows(feats, rows)), training=False)
            outs.append(keras.ops.convert_to_numpy(out)[:stop - start])
        return np.concatenate(outs) if len(outs) > 1 else outs[0]

    def _predict_stream(self, X: Any) -> np.ndarray:
        if is_tf_dataset(X):
            return np.asarray(self.model_.predict(self._map_tf_dataset(X), verbose=0))
        fitted, outs = getattr(self, "feature_names_in_", None), []
        for chunk in X.chunks():
            feats = self._model_inputs(self._check_features(
                chunk[X.feature_columns(chunk, fitted)], reset=False))
            outs.append(self._call_model(feats))
        return np.concatenate(outs)

    # Persistence ---------------------------------------------------------------------------
    def __getstate__(self) -> dict[str, Any]:
        state = super().__getstate__()
        state = dict(state)
        if state.get("strategy") is not None:
            # a strategy holds devices and, across machines, open connections: it does not
            # pickle; the unpickled estimator predicts on one device (strategy=None)
            state["strategy"] = None
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

    def __sklearn_clone__(self) -> Any:
        # a clone shares the strategy (a handle on the same devices), never copies it
        strategy = getattr(self, "strategy", None)
        if strategy is None:
            return super().__sklearn_clone__()
        self.strategy = None
        try:
            new = super().__sklearn_clone__()
        finally:
            self.strategy = strategy
        new.strategy = strategy
        return new

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


def _n_rows_any(X: Any) -> int:
    if isinstance(X, dict):
        return n_rows(X)
    return int(X.shape[0]) if hasattr(X, "shape") else len(X)


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
