"""Deep nets as scikit-learn estimators, on Keras 3.

- :class:`DNNClassifier`, :class:`DNNRegressor`: multi-layer perceptrons (tf.estimator's
  canned ``DNN*``), with the preprocessing of raw DataFrame columns inside the Keras model
  (``Normalization`` for numbers, ``StringLookup`` + one-hot or ``Embedding`` for
  categories), so ``predict`` and the exported SavedModel take raw columns.
- :class:`DNNLinearCombinedClassifier`, :class:`DNNLinearCombinedRegressor`: wide & deep,
  a linear model on ``linear_features`` plus a DNN on ``dnn_features``, added on the logit
  scale.
- :class:`KerasClassifier`, :class:`KerasRegressor`: wrap any Keras model (or a function
  building one) - CNNs, RNNs, embeddings.

All take numpy arrays, DataFrames, ``tf.data.Dataset`` and chunked files
(:func:`estimators.io.inputs.csv_input`, :func:`estimators.io.inputs.parquet_input`); record
``history_`` (a DataFrame, one row per epoch); pickle; and ``export`` a TensorFlow
SavedModel, reloaded with :func:`load`.

Examples
--------
>>> from sklearn.datasets import make_classification
>>> from estimators.neural import DNNClassifier
>>> X, y = make_classification(200, 5, random_state=0)
>>> clf = DNNClassifier(hidden_units=[16], epochs=5, random_state=0).fit(X, y)
>>> clf.predict_proba(X[:2]).shape, list(clf.history_.columns)
((2, 2), ['loss', 'accuracy'])
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import ClassifierMixin, RegressorMixin

from estimators.neural.base import ClassifierTask, NeuralEstimator, RegressorTask
from estimators.neural.dnn import DNNBase
from estimators.neural.wrappers import KerasClassifier, KerasRegressor

__all__ = [
    "DNNClassifier",
    "DNNRegressor",
    "DNNLinearCombinedClassifier",
    "DNNLinearCombinedRegressor",
    "KerasClassifier",
    "KerasRegressor",
    "load",
    "plot_history",
]


_COMMON_DOC = """
    hidden_units : sequence of int, default=(64, 32)
        Width of each hidden layer.
    activation : str, default="relu"
        Activation of the hidden layers (any Keras activation name).
    dropout : float, optional
        Dropout rate after each hidden layer.
    batch_norm : bool, default=False
        Batch normalisation before each hidden activation.
    optimizer : str or keras.optimizers.Optimizer, default="adam"
        Optimizer name or instance (copied for each fit).
    learning_rate : float, optional
        Overrides the optimizer's learning rate.
    batch_size : int, default=32
        Rows per gradient step.
    epochs : int, default=10
        Passes over the training data.
    validation_split : float, default=0.0
        Fraction of the rows (chosen at random) held out to report ``val_*`` metrics and,
        with ``early_stopping``, to stop on.
    early_stopping : int, optional
        Patience in epochs; stops when ``val_loss`` (``loss`` without validation data) has
        not improved and restores the best weights. None: off.
    callbacks : list of keras.callbacks.Callback, optional
        Extra Keras callbacks. Batch-level hooks run once per execution step, i.e. every
        ``steps_per_execution`` mini-batches.
    metrics : list, optional
        Keras metrics to record; default accuracy (classifiers) or mae (regressors).
    categorical_features : list of str, optional
        DataFrame columns to treat as categorical whatever their dtype (e.g. integer codes).
    embedding_threshold : int, default=20
        Categorical columns with more levels get an ``Embedding`` instead of one-hot.
    warm_start : bool, default=False
        Keep the model (and optimizer state) between calls to ``fit`` and train ``epochs``
        more epochs; ``history_`` grows.
    jit_compile : bool or "auto", default="auto"
        XLA-compile the train step ("auto": only where Keras deems it useful, e.g. on GPU).
    steps_per_execution : int or "auto", default="auto"
        Mini-batches run per call into the compiled graph (all within one TensorFlow
        ``while`` loop). "auto": about 131,072 rows per call for in-memory data (each step
        gathers its rows, nothing is copied), about 8,192 for streams and ``tf.data``
        input. Larger values cut per-step overhead for small networks; results are the
        same.
    random_state : int, optional
        Seeds Python, numpy and the backend (``keras.utils.set_random_seed``) at each fit
        and draws the validation split; fits are then reproducible.
    verbose : int, default=0
        0 silent, 1 Keras progress bar, 2 one line per epoch.
    strategy : tf.distribute.Strategy or keras.distribution.DataParallel, optional
        Train on several devices or machines: a ``tf.distribute.Strategy``
        (``MirroredStrategy``, ``MultiWorkerMirroredStrategy``) on the TensorFlow backend,
        a ``keras.distribution.DataParallel`` on JAX. The model is built, compiled and
        fitted under it; ``batch_size`` is the global batch (split across replicas).
        Not pickled (an unpickled estimator has ``strategy=None``); clones share it. See
        "Several devices and machines" in docs/deep_nets.md."""

_ATTRS_DOC = """
    Attributes
    ----------
    model_ : keras.Model
        The fitted network; it takes raw columns (one input per DataFrame column).
    history_ : pandas.DataFrame
        One row per epoch: ``loss``, metrics and their ``val_`` counterparts.
    schema_ : estimators.tabular.preprocessing.FeatureSchema
        Column kinds, vocabularies and normalisation statistics learnt in ``fit``.
    n_features_in_ : int
    feature_names_in_ : ndarray of str
        Only when fitted on a DataFrame with string column names."""


class DNNClassifier(ClassifierMixin, ClassifierTask, DNNBase):
    __doc__ = f"""Multi-layer perceptron classifier (sigmoid output for 2 classes, else softmax).

    Parameters
    ----------{_COMMON_DOC}
    class_weight : dict or "balanced", optional
        Weight per class label, multiplied into ``sample_weight``.
{_ATTRS_DOC}
    classes_ : ndarray
        Class labels.
    n_classes_ : int

    Examples
    --------
    >>> import pandas as pd
    >>> from estimators.neural import DNNClassifier
    >>> df = pd.DataFrame({{"x": [0.1, 0.9, 0.2, 0.8] * 10, "c": ["a", "b", "a", "b"] * 10}})
    >>> y = [0, 1, 0, 1] * 10
    >>> clf = DNNClassifier(hidden_units=[8], epochs=3, random_state=0).fit(df, y)
    >>> clf.predict(df.head(2)).shape
    (2,)
    """

    def __init__(
        self,
        hidden_units: Sequence[int] = (64, 32),
        activation: str = "relu",
        dropout: float | None = None,
        batch_norm: bool = False,
        optimizer: Any = "adam",
        learning_rate: float | None = None,
        batch_size: int = 32,
        epochs: int = 10,
        validation_split: float = 0.0,
        early_stopping: int | None = None,
        callbacks: list[Any] | None = None,
        class_weight: dict | str | None = None,
        metrics: list[Any] | None = None,
        categorical_features: Sequence[str] | None = None,
        embedding_threshold: int = 20,
        warm_start: bool = False,
        jit_compile: bool | str = "auto",
        steps_per_execution: int | str = "auto",
        random_state: int | None = None,
        verbose: int = 0,
        strategy: Any = None,
    ):
        self.hidden_units = hidden_units
        self.activation = activation
        self.dropout = dropout
        self.batch_norm = batch_norm
        self.optimizer = optimizer
        self.learning_rate = learning_rate
        self.batch_size = batch_size
        self.epochs = epochs
        self.validation_split = validation_split
        self.early_stopping = early_stopping
        self.callbacks = callbacks
        self.class_weight = class_weight
        self.metrics = metrics
        self.categorical_features = categorical_features
        self.embedding_threshold = embedding_threshold
        self.warm_start = warm_start
        self.jit_compile = jit_compile
        self.steps_per_execution = steps_per_execution
        self.random_state = random_state
        self.verbose = verbose
        self.strategy = strategy


class DNNRegressor(RegressorMixin, RegressorTask, DNNBase):
    __doc__ = f"""Multi-layer perceptron regressor (one or several outputs).

    Parameters
    ----------{_COMMON_DOC}
    loss : str or keras loss, default="mse"
    normalize_y : bool, default=True
        Train on standardised targets (predictions are mapped back); ``history_`` losses
        are then on the standardised scale.
{_ATTRS_DOC}
    n_outputs_ : int

    Examples
    --------
    >>> import numpy as np
    >>> from estimators.neural import DNNRegressor
    >>> X = np.random.RandomState(0).normal(size=(100, 3)); y = X @ [1.0, 2.0, 0.0]
    >>> reg = DNNRegressor(hidden_units=[16], epochs=5, random_state=0).fit(X, y)
    >>> reg.predict(X[:3]).shape
    (3,)
    """

    def __init__(
        self,
        hidden_units: Sequence[int] = (64, 32),
        activation: str = "relu",
        dropout: float | None = None,
        batch_norm: bool = False,
        optimizer: Any = "adam",
        learning_rate: float | None = None,
        batch_size: int = 32,
        epochs: int = 10,
        validation_split: float = 0.0,
        early_stopping: int | None = None,
        callbacks: list[Any] | None = None,
        loss: Any = "mse",
        normalize_y: bool = True,
        metrics: list[Any] | None = None,
        categorical_features: Sequence[str] | None = None,
        embedding_threshold: int = 20,
        warm_start: bool = False,
        jit_compile: bool | str = "auto",
        steps_per_execution: int | str = "auto",
        random_state: int | None = None,
        verbose: int = 0,
        strategy: Any = None,
    ):
        self.hidden_units = hidden_units
        self.activation = activation
        self.dropout = dropout
        self.batch_norm = batch_norm
        self.optimizer = optimizer
        self.learning_rate = learning_rate
        self.batch_size = batch_size
        self.epochs = epochs
        self.validation_split = validation_split
        self.early_stopping = early_stopping
        self.callbacks = callbacks
        self.loss = loss
        self.normalize_y = normalize_y
        self.metrics = metrics
        self.categorical_features = categorical_features
        self.embedding_threshold = embedding_threshold
        self.warm_start = warm_start
        self.jit_compile = jit_compile
        self.steps_per_execution = steps_per_execution
        self.random_state = random_state
        self.verbose = verbose
        self.strategy = strategy

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags


_WIDE_DOC = """
    linear_features : list of str (or int for arrays), optional
        Columns of the linear (wide) part; default all. Categorical columns are one-hot
        encoded there whatever their cardinality.
    dnn_features : list of str (or int for arrays), optional
        Columns of the deep part; default all."""


class DNNLinearCombinedClassifier(DNNClassifier):
    __doc__ = f"""Wide & deep classifier: a linear model plus a DNN, summed on the logit scale.

    As tf.estimator's ``DNNLinearCombinedClassifier``, except that one optimizer trains
    both parts.

    Parameters
    ----------{_WIDE_DOC}
    Others as :class:`DNNClassifier`.

    Examples
    --------
    >>> import pandas as pd
    >>> from estimators.neural import DNNLinearCombinedClassifier
    >>> df = pd.DataFrame({{"x": [0.1, 0.9] * 20, "c": ["a", "b"] * 20}})
    >>> clf = DNNLinearCombinedClassifier(linear_features=["c"], dnn_features=["x"],
    ...                                   hidden_units=[4], epochs=2, random_state=0)
    >>> clf.fit(df, [0, 1] * 20).predict(df.head(2)).shape
    (2,)
    """

    _wide = True

    def __init__(
        self,
        linear_features: Sequence[Any] | None = None,
        dnn_features: Sequence[Any] | None = None,
        hidden_units: Sequence[int] = (64, 32),
        activation: str = "relu",
        dropout: float | None = None,
        batch_norm: bool = False,
        optimizer: Any = "adam",
        learning_rate: float | None = None,
        batch_size: int = 32,
        epochs: int = 10,
        validation_split: float = 0.0,
        early_stopping: int | None = None,
        callbacks: list[Any] | None = None,
        class_weight: dict | str | None = None,
        metrics: list[Any] | None = None,
        categorical_features: Sequence[str] | None = None,
        embedding_threshold: int = 20,
        warm_start: bool = False,
        jit_compile: bool | str = "auto",
        steps_per_execution: int | str = "auto",
        random_state: int | None = None,
        verbose: int = 0,
        strategy: Any = None,
    ):
        self.linear_features = linear_features
        self.dnn_features = dnn_features
        super().__init__(
            hidden_units=hidden_units, activation=activation, dropout=dropout,
            batch_norm=batch_norm, optimizer=optimizer, learning_rate=learning_rate,
            batch_size=batch_size, epochs=epochs, validation_split=validation_split,
            early_stopping=early_stopping, callbacks=callbacks, class_weight=class_weight,
            metrics=metrics, categorical_features=categorical_features,
            embedding_threshold=embedding_threshold, warm_start=warm_start,
            jit_compile=jit_compile, steps_per_execution=steps_per_execution,
            random_state=random_state, verbose=verbose, strategy=strategy,
        )


class DNNLinearCombinedRegressor(DNNRegressor):
    __doc__ = f"""Wide & deep regressor: a linear model plus a DNN, summed.

    Parameters
    ----------{_WIDE_DOC}
    Others as :class:`DNNRegressor`.

    Examples
    --------
    >>> import numpy as np
    >>> from estimators.neural import DNNLinearCombinedRegressor
    >>> X = np.random.RandomState(0).normal(size=(60, 3)); y = X[:, 0] + X[:, 1] ** 2
    >>> reg = DNNLinearCombinedRegressor(linear_features=[0], dnn_features=[1, 2],
    ...                                  hidden_units=[8], epochs=2, random_state=0)
    >>> reg.fit(X, y).predict(X[:2]).shape
    (2,)
    """

    _wide = True

    def __init__(
        self,
        linear_features: Sequence[Any] | None = None,
        dnn_features: Sequence[Any] | None = None,
        hidden_units: Sequence[int] = (64, 32),
        activation: str = "relu",
        dropout: float | None = None,
        batch_norm: bool = False,
        optimizer: Any = "adam",
        learning_rate: float | None = None,
        batch_size: int = 32,
        epochs: int = 10,
        validation_split: float = 0.0,
        early_stopping: int | None = None,
        callbacks: list[Any] | None = None,
        loss: Any = "mse",
        normalize_y: bool = True,
        metrics: list[Any] | None = None,
        categorical_features: Sequence[str] | None = None,
        embedding_threshold: int = 20,
        warm_start: bool = False,
        jit_compile: bool | str = "auto",
        steps_per_execution: int | str = "auto",
        random_state: int | None = None,
        verbose: int = 0,
        strategy: Any = None,
    ):
        self.linear_features = linear_features
        self.dnn_features = dnn_features
        super().__init__(
            hidden_units=hidden_units, activation=activation, dropout=dropout,
            batch_norm=batch_norm, optimizer=optimizer, learning_rate=learning_rate,
            batch_size=batch_size, epochs=epochs, validation_split=validation_split,
            early_stopping=early_stopping, callbacks=callbacks, loss=loss,
            normalize_y=normalize_y, metrics=metrics,
            categorical_features=categorical_features,
            embedding_threshold=embedding_threshold, warm_start=warm_start,
            jit_compile=jit_compile, steps_per_execution=steps_per_execution,
            random_state=random_state, verbose=verbose, strategy=strategy,
        )


def load(path: str | os.PathLike) -> NeuralEstimator:
    """Load an estimator written by ``estimator.export(path)``.

    Parameters
    ----------
    path : str or path-like
        The SavedModel directory.

    Returns
    -------
    The fitted estimator (same predictions as the exported one).

    Examples
    --------
    >>> import numpy as np, tempfile
    >>> from estimators.neural import DNNRegressor, load
    >>> X = np.random.RandomState(0).normal(size=(50, 2)); y = X.sum(axis=1)
    >>> reg = DNNRegressor(hidden_units=[4], epochs=1, random_state=0).fit(X, y)
    >>> path = reg.export(tempfile.mkdtemp() + "/model")
    >>> np.allclose(load(path).predict(X), reg.predict(X))
    True
    """
    from estimators.export import load_estimator

    return load_estimator(path)


def plot_history(
    history: pd.DataFrame | NeuralEstimator,
    *,
    metrics: Sequence[str] | None = None,
    ax: Any = None,
) -> Any:
    """Plot training curves: one panel per metric, training and validation together.

    Parameters
    ----------
    history : DataFrame or fitted estimator
        ``estimator.history_`` (one row per epoch) or the estimator itself.
    metrics : list of str, optional
        Metrics to draw (``"loss"``, ``"accuracy"``, ...); default all training metrics.
    ax : matplotlib Axes or array of Axes, optional
        Where to draw (one per metric); default a new figure.

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> import matplotlib; matplotlib.use("Agg")
    >>> import pandas as pd
    >>> h = pd.DataFrame({"loss": [1.0, 0.5], "val_loss": [1.2, 0.8]})
    >>> fig = plot_history(h)
    >>> [a.get_title() for a in fig.axes]
    ['loss']
    """
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    frame = history.history_ if hasattr(history, "history_") else history
    if not isinstance(frame, pd.DataFrame):
        frame = pd.DataFrame(frame)
    names = list(metrics) if metrics is not None else [
        c for c in frame.columns if not str(c).startswith("val_")]
    if not names:
        raise ValueError("no metric to plot")
    if ax is None:
        fig, axes = plt.subplots(1, len(names), figsize=(4.5 * len(names), 3.5), squeeze=False)
        axes = axes[0]
    else:
        axes = np.atleast_1d(ax)
        fig = axes[0].figure
    epochs = frame.index.to_numpy()
    for a, name in zip(axes, names, strict=False):
        if name not in frame:
            raise ValueError(f"{name!r} is not in the history (columns: {list(frame.columns)})")
        a.plot(epochs, frame[name], marker="o", ms=3, label="train")
        if f"val_{name}" in frame:
            a.plot(epochs, frame[f"val_{name}"], marker="o", ms=3, label="validation")
        a.set_title(name)
        a.set_xlabel("epoch")
        a.xaxis.set_major_locator(MaxNLocator(integer=True))
        a.legend()
    fig.tight_layout()
    return fig
