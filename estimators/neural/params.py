"""The parameter tables of the Keras estimators (``_parameter_constraints``).

Each estimator class of :mod:`estimators.neural` sets its table from the pieces here;
``estimators.base.validate_params`` checks it at the start of every ``fit`` and
``partial_fit``, so a bad parameter gives the same kind of error (an
``InvalidParameterError``, both ``ValueError`` and ``TypeError``) naming the parameter, the
value and what is allowed.

Examples
--------
>>> from estimators.neural import DNNClassifier
>>> DNNClassifier._parameter_constraints["dropout"][0].allows(0.5)
True
"""

from __future__ import annotations

from numbers import Integral, Real
from typing import Any

from estimators.base import Interval, ListOf, Options
from estimators.neural.distribute import check_strategy
from estimators.tabular.preprocessing import keras

__all__ = ["TRAINING", "DNN", "WIDE", "CLASSIFIER", "REGRESSOR", "WRAPPER"]

_POSITIVE_INT = Interval(Integral, 1, None)


class _Strategy:
    """A distribution the Keras backend can use (``distribute.check_strategy``)."""

    def allows(self, value: Any) -> bool:
        try:
            check_strategy(value)
        except ValueError:
            return False
        return True

    def __str__(self) -> str:
        return ("a tf.distribute.Strategy (TensorFlow backend) or a "
                "keras.distribution.DataParallel (JAX backend)")


_COLUMNS = [ListOf(str), ListOf(Interval(Integral, 0, None)), str, Interval(Integral, 0, None),
            None]

#: Parameters of every Keras estimator: the optimizer and the training loop.
TRAINING: dict[str, list[Any]] = {
    "optimizer": [str, keras.optimizers.Optimizer],
    "learning_rate": [Interval(Real, 0, None, closed="neither"), None],
    "batch_size": [_POSITIVE_INT],
    "epochs": [_POSITIVE_INT],
    "validation_split": [Interval(Real, 0, 1, closed="left")],
    "early_stopping": [Interval(Integral, 0, None), None],
    "callbacks": [ListOf(keras.callbacks.Callback), None],
    "metrics": [list, tuple, None],
    "warm_start": ["boolean"],
    "jit_compile": ["boolean", Options({"auto"})],
    "steps_per_execution": [_POSITIVE_INT, Options({"auto"})],
    "random_state": ["random_state"],
    "verbose": [Interval(Integral, 0, 2, closed="both"), Options({"auto"})],
    "strategy": [_Strategy(), None],
}

#: The network of ``DNNClassifier`` / ``DNNRegressor`` and their column handling.
DNN: dict[str, list[Any]] = {
    "hidden_units": [ListOf(_POSITIVE_INT), _POSITIVE_INT, None],
    "activation": [str, callable],
    "dropout": [Interval(Real, 0, 1, closed="left"), None],
    "batch_norm": ["boolean"],
    "categorical_features": [ListOf(str), None],
    "embedding_threshold": [Interval(Integral, 0, None)],
}

#: Wide & deep: the columns of each part (names, or indices for arrays).
WIDE: dict[str, list[Any]] = {"linear_features": _COLUMNS, "dnn_features": _COLUMNS}

#: Classifiers' own parameters.
CLASSIFIER: dict[str, list[Any]] = {"class_weight": [dict, Options({"balanced"}), None]}

#: Regressors' own parameters (``loss`` may be None for the wrappers: their default).
REGRESSOR: dict[str, list[Any]] = {"loss": [str, callable, None], "normalize_y": ["boolean"]}

#: The Keras wrappers: the model (or a function building it) and its keyword arguments.
WRAPPER: dict[str, list[Any]] = {
    "model": [keras.Model, callable],
    "model_kwargs": [dict, None],
    "loss": [str, callable, None],
}
