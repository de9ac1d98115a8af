"""scikit-learn plumbing shared by the estimators: targets, sample weights, seeds, tags.

These helpers hold no model knowledge: they turn what users pass to ``fit`` into checked
numpy arrays, with errors that name what is wrong, and set the scikit-learn tags.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.utils import check_random_state
from sklearn.utils.class_weight import compute_class_weight
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_array, column_or_1d

__all__ = [
    "INFERENCES", "check_inference", "check_positive", "check_regression_target",
    "check_classification_target", "check_sample_weight", "class_sample_weight",
    "require_y", "seed_from", "set_input_tags",
]

INFERENCES = ("map", "nuts", "vi")


def check_inference(inference: Any) -> str:
    """The inference method, checked: "map", "nuts" or "vi"."""
    if inference not in INFERENCES:
        raise ValueError(f"inference must be 'map', 'nuts' or 'vi', got {inference!r}")
    return str(inference)


def check_positive(name: str, value: Any, *, allow_none: bool = False,
                   integer: bool = False, minimum: float = 0.0) -> Any:
    """``value`` if it is a number above ``minimum`` (an int when ``integer``)."""
    if value is None and allow_none:
        return None
    kinds = (int, np.integer) if integer else (int, float, np.integer, np.floating)
    if isinstance(value, bool) or not isinstance(value, kinds) or not np.isfinite(value) \
            or value <= minimum:
        need = "an int" if integer else "a finite number"
        extra = " or None" if allow_none else ""
        raise ValueError(f"{name} must be {need} > {minimum:g}{extra}, got {value!r}")
    return value


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
    y = column_or_1d(check_array(y, ensure_2d=False, dtype=None, input_name="y",
                                 ensure_all_finite=True), warn=True)
    if y.dtype == object:
        import pandas as pd

        if pd.isna(y).any():
            raise ValueError("y has missing values (NaN or None): every sample needs a class")
    check_classification_targets(y)
    if y.shape[0] != n_samples:
        raise ValueError(f"X has {n_samples} samples but y has {y.shape[0]}: they must match")
    return y


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


def class_sample_weight(class_weight: Any, classes: np.ndarray, y: np.ndarray,
                        codes: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """``weights`` times the weight of each sample's class, as scikit-learn's
    ``class_weight`` (None, "balanced" or a dict {label: weight}); computed by
    scikit-learn's ``compute_class_weight``, with "balanced" counts weighted by
    ``weights`` as ``LogisticRegression`` does."""
    if class_weight is None:
        return weights
    if not (isinstance(class_weight, dict) or class_weight == "balanced"):
        raise ValueError(f"class_weight must be 'balanced', a dict or None, got "
                         f"{class_weight!r}")
    per_class = compute_class_weight(class_weight, classes=classes, y=y,
                                     sample_weight=weights)
    return weights * np.asarray(per_class, dtype=np.float64)[codes]


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
