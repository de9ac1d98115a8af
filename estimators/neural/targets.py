"""Targets of the Keras estimators: classification (labels, sigmoid / softmax heads, class
weights) and regression (optional standardisation, several outputs).

Examples
--------
>>> import numpy as np
>>> from estimators.neural import DNNClassifier
>>> clf = DNNClassifier()
>>> clf._init_targets(np.array(["b", "a", "b"]))
>>> clf.classes_.tolist(), clf._encode_targets(np.array(["a", "b"])).ravel().tolist()
(['a', 'b'], [0.0, 1.0])
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_array, column_or_1d

from estimators.base import balanced_class_weights, reject_missing_labels

__all__ = ["ClassifierTask", "RegressorTask"]


class ClassifierTask:
    """Targets of a classifier: label encoding, sigmoid / softmax head, class weights."""

    def _check_targets(self, y: Any) -> np.ndarray:
        reject_missing_labels(y)
        y = column_or_1d(y, warn=True)
        check_classification_targets(y)
        return y

    def _init_targets(self, y: np.ndarray, classes: Any = None,
                      sample_weight: np.ndarray | None = None) -> None:
        self.classes_ = np.unique(y if classes is None else np.asarray(classes))
        self.n_classes_ = len(self.classes_)
        if self.n_classes_ < 2:
            raise ValueError(
                f"{type(self).__name__} needs samples of at least 2 classes in the data, but "
                f"the data contains only one class: {self.classes_[0]!r}"
            )
        self.class_weights_ = self._class_weight_vector(y, sample_weight)
        self.head_ = "sigmoid" if self.n_classes_ == 2 else "softmax"

    def _class_weight_vector(self, y: np.ndarray,
                             sample_weight: np.ndarray | None = None) -> np.ndarray | None:
        """Weights per class in ``classes_`` order. "balanced": total weight /
        (n_classes * weight of the class), the weights being ``sample_weight`` (ones when
        None; ``estimators.base.balanced_class_weights``); a class with no weight in ``y``
        (absent, e.g. known from ``partial_fit``'s ``classes``) counts as holding one unit.

        Examples
        --------
        >>> from estimators.neural import DNNClassifier
        >>> clf = DNNClassifier(class_weight="balanced")
        >>> clf.classes_, clf.n_classes_ = np.array([0, 1]), 2
        >>> clf._class_weight_vector(np.array([0, 0, 1]), np.array([1.0, 1.0, 4.0])).tolist()
        [1.5, 0.75]
        """
        cw = self.class_weight
        if cw is None:
            return None
        if cw == "balanced":
            return balanced_class_weights(y, self.classes_, sample_weight, empty_total=1.0)
        return np.array([float(cw.get(c, 1.0)) for c in self.classes_])

    def _class_weight_rows(self, targets: np.ndarray) -> np.ndarray | None:
        if self.class_weights_ is None:
            return None
        return self.class_weights_[np.asarray(targets).reshape(len(targets)).astype(int)]

    def _encode_targets(self, y: np.ndarray) -> np.ndarray:
        idx = np.searchsorted(self.classes_, y)
        bad = (idx >= self.n_classes_) | (self.classes_[np.minimum(idx, self.n_classes_ - 1)]
                                          != y)
        if bad.any():
            raise ValueError(f"y contains labels not seen in fit: {sorted(set(y[bad]))[:5]} "
                             f"(classes_ = {self.classes_.tolist()})")
        if self.head_ == "sigmoid":
            return idx.astype(np.float32)[:, None]
        if self.head_ == "onehot":
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
        weights = None
        if self.class_weights_ is not None:
            weights = tf.gather(tf.constant(self.class_weights_, tf.float32), idx)
        if self.head_ == "sigmoid":
            return tf.cast(idx, tf.float32)[:, None], weights
        if self.head_ == "onehot":
            return tf.one_hot(idx, self.n_classes_), weights
        return tf.cast(idx, tf.int32), weights

    def _n_outputs(self) -> int:
        return 1 if self.n_classes_ == 2 else self.n_classes_

    def _output_activation(self) -> str:
        return "sigmoid" if self.n_classes_ == 2 else "softmax"

    def _default_loss(self) -> str:
        if self.head_ == "sigmoid":
            return "binary_crossentropy"
        return "categorical_crossentropy" if self.head_ == "onehot" else \
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

    def _init_targets(self, y: np.ndarray, classes: Any = None,
                      sample_weight: np.ndarray | None = None) -> None:
        self.n_outputs_ = 1 if y.ndim == 1 else y.shape[1]
        y2 = y.reshape(len(y), self.n_outputs_).astype(np.float64)
        self.target_1d_ = y.ndim == 1
        if self.normalize_y:
            scale = y2.std(axis=0)
            self.target_mean_ = y2.mean(axis=0)
            self.target_scale_ = np.where(scale > 0, scale, 1.0)
        else:
            self.target_mean_ = np.zeros(self.n_outputs_)
            self.target_scale_ = np.ones(self.n_outputs_)

    def _encode_targets(self, y: np.ndarray) -> np.ndarray:
        y2 = np.asarray(y, dtype=np.float64).reshape(len(y), -1)
        if y2.shape[1] != self.n_outputs_:
            raise ValueError(f"y has {y2.shape[1]} outputs, expected {self.n_outputs_}")
        return ((y2 - self.target_mean_) / self.target_scale_).astype(np.float32)

    def _encode_targets_tf(self, y: Any) -> Any:
        import tensorflow as tf

        y = tf.reshape(tf.cast(y, tf.float32), [-1, self.n_outputs_])
        mean, scale = self.target_mean_.astype(np.float32), self.target_scale_.astype(np.float32)
        return (y - mean) / scale, None

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
        out = raw * self.target_scale_ + self.target_mean_
        return out[:, 0] if self.target_1d_ else out

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
