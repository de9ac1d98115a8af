"""``KerasClassifier`` / ``KerasRegressor``: any Keras model as a scikit-learn estimator.

The successor of scikeras, re-exported by :mod:`estimators.neural`. ``model`` is a Keras
model (copied, weights included, at each fit) or a function that builds one; the function
receives the fitted meta-data it names among ``n_features_in_``, ``X_shape_``,
``feature_names_in_``, ``n_classes_``, ``classes_`` and ``n_outputs_``, plus
``model_kwargs``. An uncompiled model is compiled with ``optimizer``, ``loss`` and
``metrics``; a compiled one is used as compiled.

Examples
--------
>>> import keras
>>> from sklearn.datasets import make_classification
>>> from estimators.neural import KerasClassifier
>>> def build(n_features_in_, n_classes_):
...     return keras.Sequential([keras.Input((n_features_in_,)),
...                              keras.layers.Dense(n_classes_, activation="softmax")])
>>> X, y = make_classification(100, 4, n_classes=3, n_informative=3, n_redundant=0,
...                            random_state=0)
>>> clf = KerasClassifier(build, epochs=2, random_state=0).fit(X, y)
>>> clf.predict_proba(X[:2]).shape
(2, 3)
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp
from sklearn.base import ClassifierMixin, RegressorMixin
from sklearn.utils.validation import validate_data

from estimators.neural.base import (
    BACKEND,
    ClassifierTask,
    NeuralEstimator,
    RegressorTask,
    call_with_meta,
    model_from_bytes,
    model_to_bytes,
)
from estimators.neural.params import CLASSIFIER, REGRESSOR, TRAINING, WRAPPER
from estimators.tabular.preprocessing import (
    build_inputs,
    has_categorical,
    infer_schema,
    keras,
    to_model_inputs,
)

__all__ = ["KerasClassifier", "KerasRegressor"]


class _KerasBase(NeuralEstimator):
    """Input handling and model construction for user-supplied Keras models."""

    def _check_features(self, X: Any, *, reset: bool) -> Any:
        if isinstance(X, dict) and not sp.issparse(X):
            X = {k: np.asarray(v) for k, v in X.items()}
            if reset:
                self.n_features_in_ = len(X)
                self.schema_ = None
                self.X_shape_ = {k: v.shape[1:] for k, v in X.items()}
            elif not isinstance(self.X_shape_, dict) or set(X) != set(self.X_shape_):
                raise ValueError(f"expected inputs {sorted(self.X_shape_)}, got {sorted(X)}")
            return X
        if isinstance(X, pd.DataFrame) and (has_categorical(X) if reset else
                                            self.schema_ is not None):
            validate_data(self, X, reset=reset, skip_check_array=True)
            if reset:
                self.schema_ = infer_schema(X, string_inputs=BACKEND == "tensorflow")
                self.X_shape_ = (X.shape[1],)
            return X
        X = validate_data(self, X, reset=reset, allow_nd=True, dtype="numeric")
        if reset:
            self.schema_ = None
            self.X_shape_ = tuple(X.shape[1:])
        elif tuple(X.shape[1:]) != tuple(self.X_shape_):
            raise ValueError(f"X has shape {X.shape[1:]} per sample, expected {self.X_shape_}")
        return X

    def _model_inputs(self, X: Any, *, check_unseen: bool = True) -> Any:
        def cast(v: np.ndarray) -> np.ndarray:
            return v.astype(np.float32) if v.dtype == np.float64 else v

        if isinstance(X, dict):
            return {k: cast(np.asarray(v)) for k, v in X.items()}
        if self.schema_ is not None:
            # raw strings go to the model's own layers (a StringLookup, a
            # TextVectorization), which decide what an unseen value means
            raw = self.schema_.string_inputs
            return to_model_inputs(self.schema_, X, check_unseen=check_unseen and not raw)
        return cast(np.asarray(X))

    def _meta(self) -> dict[str, Any]:
        meta: dict[str, Any] = {
            "n_features_in_": self.n_features_in_,
            "X_shape_": self.X_shape_,
            "feature_names_in_": getattr(self, "feature_names_in_", None),
        }
        for name in ("n_classes_", "classes_", "n_outputs_"):
            if hasattr(self, name):
                meta[name] = getattr(self, name)
        if hasattr(self, "classes_"):
            meta["n_outputs_"] = 1 if self.n_classes_ == 2 else self.n_classes_
        return meta

    def _build_model(self) -> Any:
        spec = self.model
        if isinstance(spec, keras.Model):
            try:
                model = model_from_bytes(model_to_bytes(spec))
            except Exception as exc:  # noqa: BLE001 - re-raised with advice
                raise ValueError(
                    "could not copy the Keras model (it must be serialisable to .keras); "
                    "pass a function that builds it instead"
                ) from exc
            self._check_frame_inputs(model)
            return model
        model = call_with_meta(spec, {**self._meta(), **(self.model_kwargs or {})})
        if not isinstance(model, keras.Model):
            raise ValueError(f"the model function returned {type(model).__name__}, "
                             "not a keras.Model")
        self._check_frame_inputs(model)
        return model

    def _check_frame_inputs(self, model: Any) -> None:
        """A DataFrame with categorical columns reaches the model as one named input per
        column: say so, naming both sides, when the model's inputs are named otherwise."""
        schema = getattr(self, "schema_", None)
        inputs = getattr(model, "inputs", None) if getattr(model, "built", False) else None
        if schema is None or not inputs:
            return  # arrays, dicts, or a model without symbolic inputs: Keras checks
        wanted = [spec.input_name for spec in schema.columns]
        names = [getattr(tensor, "name", None) for tensor in inputs]
        if sorted(map(str, names)) == sorted(wanted):
            return
        categorical = [spec.name for spec in schema.columns if spec.kind != "numeric"]
        kind = "string" if schema.string_inputs else "int32 code (0: unseen)"
        raise ValueError(
            f"X is a DataFrame with categorical columns {categorical}: the model gets one "
            f"input of shape (1,) per column, named {wanted} (float32 for numeric columns, "
            f"{kind} for categorical ones), but its inputs are named {names}. Build it "
            f"with keras.Input((1,), name=column, dtype=...) per column, or encode the "
            f"columns first (a ColumnTransformer in a Pipeline), or use DNNClassifier / "
            f"DNNRegressor, which preprocess DataFrames themselves")

    def _output_width(self, model: Any) -> int:
        outputs = model.outputs if getattr(model, "outputs", None) else None
        if outputs:
            return int(outputs[0].shape[-1] or 1)
        if self.schema_ is not None:  # a DataFrame: one named input per column
            inputs: Any = build_inputs(self.schema_)
        elif isinstance(self.X_shape_, dict):
            inputs = {k: keras.KerasTensor((None, *v)) for k, v in self.X_shape_.items()}
        else:
            try:
                return int(model.compute_output_shape((None, *self.X_shape_))[-1])
            except NotImplementedError:  # a subclassed model: trace its call symbolically
                inputs = keras.KerasTensor((None, *self.X_shape_))
        return int(model.compute_output_spec(inputs).shape[-1] or 1)

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.input_tags.three_d_array = True
        tags.input_tags.dict = True
        return tags


_WRAPPER_DOC = """
    model : keras.Model or callable
        The network, or a function building it (see the module docstring for the
        arguments it may take). Its output: class probabilities (1 sigmoid unit for two
        classes, or one softmax unit per class) for the classifier; one unit per target for
        the regressor.
    model_kwargs : dict, optional
        Extra keyword arguments for the model function.
    optimizer : str or keras.optimizers.Optimizer, default="adam"
    loss : str or keras loss, optional
        Default: binary / sparse categorical cross-entropy (classifier), mse (regressor).
        ``"categorical_crossentropy"`` makes the classifier one-hot encode its targets.
    metrics : list, optional
        Default accuracy (classifier) or mae (regressor).
    learning_rate : float, optional
    batch_size : int, default=32
    epochs : int, default=10
    validation_split : float, default=0.0
    early_stopping : int, optional
        Patience in epochs on ``val_loss`` (or ``loss``); restores the best weights.
    callbacks : list of keras.callbacks.Callback, optional
    warm_start : bool, default=False
    jit_compile : bool or "auto", default="auto"
    steps_per_execution : int or "auto", default="auto"
        Mini-batches per call into the compiled graph, as for ``DNNClassifier`` ("auto":
        about 131,072 rows in memory, 8,192 from streams); a model with its own
        ``train_step`` gets it as Keras' ``compile(steps_per_execution=...)``.
    random_state : int, optional
    verbose : int, default=0
    strategy : tf.distribute.Strategy or keras.distribution.DataParallel, optional
        Train on several devices or machines (as for ``DNNClassifier``): the model (or the
        model function) is built, compiled and fitted under it. Not pickled; clones share
        it."""


class KerasClassifier(ClassifierMixin, ClassifierTask, _KerasBase):
    __doc__ = f"""Wrap a Keras classification model as a scikit-learn classifier.

    Accepts arrays of any rank (images, sequences), DataFrames, dicts of arrays (multi-input
    models), ``tf.data.Dataset`` and :mod:`estimators.io.inputs` streams; ``fit`` takes
    ``validation_data=`` and ``sample_weight=``; fitted estimators pickle (the model travels
    as its ``.keras`` bytes) and export to a SavedModel.

    Parameters
    ----------{_WRAPPER_DOC}
    class_weight : dict or "balanced", optional

    Attributes
    ----------
    model_ : keras.Model
    history_ : pandas.DataFrame
    classes_ : ndarray
    n_classes_ : int
    n_features_in_ : int
    X_shape_ : tuple
        Shape of one sample.

    Examples
    --------
    >>> import keras, numpy as np
    >>> from estimators.neural import KerasClassifier
    >>> def cnn(n_classes_):
    ...     return keras.Sequential([keras.Input((8, 8, 1)), keras.layers.Conv2D(4, 3),
    ...                              keras.layers.Flatten(),
    ...                              keras.layers.Dense(n_classes_, activation="softmax")])
    >>> X = np.random.RandomState(0).rand(40, 8, 8, 1); y = np.arange(40) % 3
    >>> KerasClassifier(cnn, epochs=1, random_state=0).fit(X, y).predict(X[:2]).shape
    (2,)
    """

    _parameter_constraints: dict = {**TRAINING, **WRAPPER, **CLASSIFIER}

    def __init__(
        self,
        model: Any = None,
        *,
        model_kwargs: dict[str, Any] | None = None,
        optimizer: Any = "adam",
        loss: Any = None,
        metrics: list[Any] | None = None,
        learning_rate: float | None = None,
        batch_size: int = 32,
        epochs: int = 10,
        validation_split: float = 0.0,
        early_stopping: int | None = None,
        callbacks: list[Any] | None = None,
        class_weight: dict | str | None = None,
        warm_start: bool = False,
        jit_compile: bool | str = "auto",
        steps_per_execution: int | str = "auto",
        random_state: int | None = None,
        verbose: int = 0,
        strategy: Any = None,
    ):
        self.model = model
        self.model_kwargs = model_kwargs
        self.optimizer = optimizer
        self.loss = loss
        self.metrics = metrics
        self.learning_rate = learning_rate
        self.batch_size = batch_size
        self.epochs = epochs
        self.validation_split = validation_split
        self.early_stopping = early_stopping
        self.callbacks = callbacks
        self.class_weight = class_weight
        self.warm_start = warm_start
        self.jit_compile = jit_compile
        self.steps_per_execution = steps_per_execution
        self.random_state = random_state
        self.verbose = verbose
        self.strategy = strategy

    def _after_build(self, model: Any) -> None:
        width = self._output_width(model)
        loss = model.loss if getattr(model, "compiled", False) else self.loss
        name = loss if isinstance(loss, str) else type(loss).__name__
        one_hot = str(name).lower() in ("categorical_crossentropy", "categoricalcrossentropy")
        if width == 1 and self.n_classes_ == 2:
            self.head_ = "sigmoid"
        elif width == self.n_classes_:
            self.head_ = "onehot" if one_hot else "softmax"
        else:
            raise ValueError(f"the model has {width} output units but there are "
                             f"{self.n_classes_} classes (use n_classes_ units, or 1 sigmoid "
                             "unit for two classes)")


class KerasRegressor(RegressorMixin, RegressorTask, _KerasBase):
    __doc__ = f"""Wrap a Keras regression model as a scikit-learn regressor.

    Parameters
    ----------{_WRAPPER_DOC}
    normalize_y : bool, default=False
        Train on standardised targets and map predictions back.

    Attributes
    ----------
    model_ : keras.Model
    history_ : pandas.DataFrame
    n_outputs_ : int
    n_features_in_ : int
    X_shape_ : tuple

    Examples
    --------
    >>> import keras, numpy as np
    >>> from estimators.neural import KerasRegressor
    >>> def rnn(X_shape_):
    ...     return keras.Sequential([keras.Input(X_shape_), keras.layers.SimpleRNN(4),
    ...                              keras.layers.Dense(1)])
    >>> X = np.random.RandomState(0).rand(30, 5, 2); y = X.sum(axis=(1, 2))
    >>> KerasRegressor(rnn, epochs=1, random_state=0).fit(X, y).predict(X[:2]).shape
    (2,)
    """

    _parameter_constraints: dict = {**TRAINING, **REGRESSOR, **WRAPPER}

    def __init__(
        self,
        model: Any = None,
        *,
        model_kwargs: dict[str, Any] | None = None,
        optimizer: Any = "adam",
        loss: Any = None,
        metrics: list[Any] | None = None,
        learning_rate: float | None = None,
        batch_size: int = 32,
        epochs: int = 10,
        validation_split: float = 0.0,
        early_stopping: int | None = None,
        callbacks: list[Any] | None = None,
        normalize_y: bool = False,
        warm_start: bool = False,
        jit_compile: bool | str = "auto",
        steps_per_execution: int | str = "auto",
        random_state: int | None = None,
        verbose: int = 0,
        strategy: Any = None,
    ):
        self.model = model
        self.model_kwargs = model_kwargs
        self.optimizer = optimizer
        self.loss = loss
        self.metrics = metrics
        self.learning_rate = learning_rate
        self.batch_size = batch_size
        self.epochs = epochs
        self.validation_split = validation_split
        self.early_stopping = early_stopping
        self.callbacks = callbacks
        self.normalize_y = normalize_y
        self.warm_start = warm_start
        self.jit_compile = jit_compile
        self.steps_per_execution = steps_per_execution
        self.random_state = random_state
        self.verbose = verbose
        self.strategy = strategy

    def _after_build(self, model: Any) -> None:
        width = self._output_width(model)
        if width != self.n_outputs_:
            raise ValueError(f"the model has {width} output units but y has "
                             f"{self.n_outputs_} column(s)")

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags
