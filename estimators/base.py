"""scikit-learn plumbing shared by the estimators: parameter tables, targets, sample
weights, seeds, tags.

These helpers hold no model knowledge: they turn what users pass to ``fit`` into checked
numpy arrays, with errors that name what is wrong, and set the scikit-learn tags.

Parameters are checked from one declarative table per estimator, its class attribute
``_parameter_constraints`` (scikit-learn's name and vocabulary: each parameter maps to a
list of allowed forms, any of which will do: ``None``, a type, ``"boolean"``,
``"random_state"``, ``callable``, :class:`Interval`, :class:`Options`, :class:`ListOf`).
:func:`validate_params` checks them all at the start of ``fit`` and raises
:class:`InvalidParameterError` (a ``ValueError`` and a ``TypeError``, as scikit-learn's)
naming the parameter, the value and what is allowed. scikit-learn's own checker lives in
the private ``sklearn.utils._param_validation``, which scikit-learn may move or change
without notice; the small checker here keeps the same table format without depending on
it.

Examples
--------
>>> from numbers import Integral
>>> class Net:
...     _parameter_constraints = {"epochs": [Interval(Integral, 1, None)],
...                               "mode": [Options({"fast", "exact"}), None]}
...     def get_params(self, deep=False):
...         return {"epochs": 0, "mode": "fast"}
>>> try:
...     validate_params(Net())
... except ValueError as error:
...     print(error)
The 'epochs' parameter of Net must be an int in the range [1, inf); got 0.
"""

from __future__ import annotations

from numbers import Integral, Real
from typing import Any

import numpy as np
from sklearn.utils import check_random_state
from sklearn.utils.class_weight import compute_class_weight
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_array, column_or_1d

__all__ = [
    "InvalidParameterError", "Interval", "Options", "ListOf", "satisfies", "validate_params",
    "check_regression_target", "check_classification_target", "reject_missing_labels",
    "check_sample_weight",
    "balanced_class_weights", "class_sample_weight", "require_y", "seed_from", "set_input_tags",
]


class InvalidParameterError(ValueError, TypeError):
    """A parameter of an estimator is not allowed (both a ``ValueError`` and a
    ``TypeError``, as scikit-learn's error of the same name)."""


def _is_int(value: Any) -> bool:
    return isinstance(value, Integral) and not isinstance(value, bool | np.bool_)


def _is_real(value: Any) -> bool:
    return isinstance(value, Real) and not isinstance(value, bool | np.bool_)


class Interval:
    """Numbers of a type (``Integral`` or ``Real``) between ``left`` and ``right`` (None:
    unbounded); ``closed`` is "left", "right", "both" or "neither"."""

    def __init__(self, kind: type, left: float | None, right: float | None, *,
                 closed: str = "left") -> None:
        self.kind, self.left, self.right, self.closed = kind, left, right, closed

    def allows(self, value: Any) -> bool:
        if not (_is_int(value) if self.kind is Integral else _is_real(value)):
            return False
        if self.left is not None and not (value >= self.left if self.closed in ("left", "both")
                                          else value > self.left):
            return False
        return self.right is None or bool(value <= self.right if self.closed in
                                          ("right", "both") else value < self.right)

    def __str__(self) -> str:
        kind = "an int" if self.kind is Integral else "a float"
        low = "-inf" if self.left is None else f"{self.left:g}"
        high = "inf" if self.right is None else f"{self.right:g}"
        opening = "[" if self.closed in ("left", "both") and self.left is not None else "("
        closing = "]" if self.closed in ("right", "both") and self.right is not None else ")"
        return f"{kind} in the range {opening}{low}, {high}{closing}"


class Options:
    """One of a set of values (e.g. strings)."""

    def __init__(self, values: set) -> None:
        self.values = values

    def allows(self, value: Any) -> bool:
        try:
            return any(type(value) is type(v) and value == v for v in self.values)
        except (TypeError, ValueError):
            return False

    def __str__(self) -> str:
        return f"one of {sorted(self.values, key=str)}"


class ListOf:
    """A list or tuple whose every item satisfies ``item``."""

    def __init__(self, item: Any) -> None:
        self.item = item

    def allows(self, value: Any) -> bool:
        return isinstance(value, list | tuple) and all(satisfies(self.item, v) for v in value)

    def __str__(self) -> str:
        return f"a list or tuple of items each {_describe(self.item)}"


def satisfies(constraint: Any, value: Any) -> bool:
    """Whether ``value`` has the form one entry of a table allows."""
    if constraint is None:
        return value is None
    if constraint == "boolean":
        return isinstance(value, bool | np.bool_)
    if constraint == "random_state":
        return value is None or _is_int(value) or isinstance(value, np.random.RandomState)
    if constraint is callable:
        return callable(value)
    if isinstance(constraint, type):
        return isinstance(value, constraint)
    return constraint.allows(value)


def _describe(constraint: Any) -> str:
    named: dict[Any, str] = {None: "None", "boolean": "a bool", callable: "a callable",
                             "random_state": "an int, a numpy RandomState or None"}
    if isinstance(constraint, str | type(None)) or constraint is callable:
        return named[constraint]
    if isinstance(constraint, type):
        return f"an instance of {constraint.__module__}.{constraint.__qualname__}" if \
            constraint.__module__ != "builtins" else f"a {constraint.__name__}"
    return str(constraint)


def validate_params(estimator: Any) -> None:
    """Check every parameter of ``estimator`` against its ``_parameter_constraints``.

    Raises :class:`InvalidParameterError` naming the first parameter not allowed, its value
    and the forms allowed. A parameter missing from the table is a programming error.
    """
    table: dict[str, list[Any]] = type(estimator)._parameter_constraints
    name_of = type(estimator).__name__
    for name, value in estimator.get_params(deep=False).items():
        if name not in table:
            raise KeyError(f"{name_of} has no constraint for its parameter {name!r}")
        allowed = table[name]
        if not any(satisfies(c, value) for c in allowed):
            forms = [_describe(c) for c in allowed]
            text = forms[0] if len(forms) == 1 else ", ".join(forms[:-1]) + " or " + forms[-1]
            raise InvalidParameterError(f"The {name!r} parameter of {name_of} must be {text}; "
                                        f"got {value!r}.")


def require_y(estimator: Any, y: Any) -> None:
    if y is None:
        raise ValueError(f"{type(estimator).__name__} requires y to be passed, but the target "
                         f"y is None")


def check_regression_target(y: Any, n_samples: int) -> np.ndarray:
    """A finite float64 vector of ``n_samples`` targets (a column vector is accepted with
    scikit-learn's DataConversionWarning)."""
    y = check_array(y, ensure_2d=False, dtype=np.float64, input_name="y", ensure_all_finite=True)
    y = column_or_1d(y, warn=True)
    if y.shape[0] != n_samples:
        raise ValueError(f"X has {n_samples} samples but y has {y.shape[0]}: they must match")
    return y


def check_classification_target(y: Any, n_samples: int) -> np.ndarray:
    """Class labels as a 1-d array (any labels: strings, ints, bools), checked to be
    discrete classes and free of missing values."""
    reject_missing_labels(y)
    y = column_or_1d(check_array(y, ensure_2d=False, dtype=None, input_name="y",
                                 ensure_all_finite=True), warn=True)
    check_classification_targets(y)
    if y.shape[0] != n_samples:
        raise ValueError(f"X has {n_samples} samples but y has {y.shape[0]}: they must match")
    return y


def reject_missing_labels(y: Any) -> None:
    """Raise a ``ValueError`` when class labels hold NaN, None or ``pd.NA`` (pandas'
    nullable dtypes too), saying how many: every sample needs a class."""
    import pandas as pd

    if isinstance(y, pd.Series | pd.DataFrame):
        missing = y.isna().to_numpy()
    else:
        try:
            values = np.asarray(y)
        except (TypeError, ValueError):  # ragged input: scikit-learn's checks report it
            return
        if values.dtype.kind not in "fcO":
            return  # ints, bools, strings: nothing can be missing
        missing = pd.isna(values)
    if np.any(missing):
        raise ValueError(f"y has missing values (NaN, None or pd.NA) in {int(np.sum(missing))} "
                         f"of {np.size(missing)} labels: every sample needs a class")


def check_sample_weight(sample_weight: Any, n_samples: int) -> np.ndarray:
    """Non-negative finite weights, one per sample (ones when None)."""
    if sample_weight is None:
        return np.ones(n_samples)
    if np.isscalar(sample_weight):
        weights = np.full(n_samples, float(sample_weight))
    else:
        weights = np.asarray(sample_weight, dtype=np.float64)
    if weights.ndim != 1 or weights.shape[0] != n_samples:
        raise ValueError(f"sample_weight must have shape ({n_samples},), got {weights.shape}")
    if not np.all(np.isfinite(weights)):
        raise ValueError("sample_weight has NaN or inf values")
    if np.any(weights < 0):
        raise ValueError("sample_weight must be non-negative")
    if not np.any(weights > 0):
        raise ValueError("sample_weight is zero for every sample: nothing to fit")
    return weights


def balanced_class_weights(y: np.ndarray, classes: np.ndarray,
                           weights: np.ndarray | None = None,
                           empty_total: float = np.inf) -> np.ndarray:
    """scikit-learn's "balanced" class weights (``compute_class_weight``) with the counts
    weighted by ``weights`` (ones when None): the total weight over (the number of
    ``classes`` times each class's weight in ``y``). A class holding no weight counts as
    holding ``empty_total``: by default its weight is 0 (scikit-learn's would be inf).

    Examples
    --------
    >>> balanced_class_weights(np.array([0, 0, 1]), np.array([0, 1, 2]),
    ...                        np.array([1.0, 1.0, 4.0])).tolist()
    [1.0, 0.5, 0.0]
    """
    weights = (np.ones(len(y)) if weights is None
               else np.asarray(weights, dtype=np.float64).reshape(len(y)))
    totals = np.array([weights[y == c].sum() for c in classes])
    return weights.sum() / (len(classes) * np.where(totals > 0, totals, empty_total))


def class_sample_weight(class_weight: Any, classes: np.ndarray, y: np.ndarray,
                        codes: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """``weights`` times the weight of each sample's class, as scikit-learn's
    ``class_weight`` (None, "balanced" or a dict {label: weight}): "balanced" by
    :func:`balanced_class_weights` (counts weighted by ``weights``, as
    ``LogisticRegression`` does; a class whose samples all have zero weight gets 0, not
    inf), a dict by scikit-learn's ``compute_class_weight``.

    Examples
    --------
    >>> y = np.array(["a", "a", "b", "c"])
    >>> weights = class_sample_weight("balanced", np.array(["a", "b", "c"]), y,
    ...                               np.array([0, 0, 1, 2]), np.array([1.0, 1.0, 2.0, 0.0]))
    >>> np.round(weights, 3).tolist()
    [0.667, 0.667, 1.333, 0.0]
    """
    if class_weight is None:
        return weights
    if isinstance(class_weight, str):  # "balanced"
        per_class = balanced_class_weights(y, classes, weights)
    else:
        per_class = np.asarray(compute_class_weight(class_weight, classes=classes, y=y),
                               dtype=np.float64)
    return weights * per_class[codes]


def seed_from(random_state: Any) -> int:
    """An int seed from scikit-learn's ``random_state`` (None, int or RandomState)."""
    return int(check_random_state(random_state).randint(2**31 - 1))


def set_input_tags(tags: Any) -> Any:
    """Tags shared by the estimators: dense numeric or DataFrame input, no NaN, no sparse.

    ``string`` and ``categorical`` stay False: they describe numeric-array input for
    scikit-learn's checks (which would round X to integers or expect arbitrary objects
    to pass); DataFrames with categorical columns are supported and documented.
    """
    tags.input_tags.allow_nan = False
    tags.input_tags.sparse = False
    tags.target_tags.required = True
    return tags
