"""Predictions of the GLM estimators on files larger than memory, chunk by chunk.

``predict_by_rows`` predicts ``X`` with a function of rows: in one call for in-memory
data, or, for a :class:`~estimators.io.inputs.StreamInput` (``csv_input`` /
``parquet_input``), once per chunk of ``chunk_size`` rows (each a DataFrame), the results
concatenated in row order, as the deep nets do. Only the predictions are held whole. A
function with state across rows (the random generator of simulated intervals) keeps it
across the chunks, so a stream's answer is the in-memory one. ``stream_predictions``
wraps a stateless prediction method (``predict``, ``predict_proba``, ...) with it.

Examples
--------
>>> import os, tempfile
>>> import numpy as np, pandas as pd
>>> from estimators import LinearRegressor
>>> from estimators.io import csv_input
>>> frame = pd.DataFrame({"x": np.arange(6.0), "y": 2.0 * np.arange(6.0)})
>>> path = os.path.join(tempfile.mkdtemp(), "rows.csv")
>>> frame.to_csv(path, index=False)
>>> reg = LinearRegressor(prior_scale=None).fit(frame[["x"]], frame["y"])
>>> np.round(reg.predict(csv_input(path, label="y", chunk_size=4)), 6).tolist()
[0.0, 2.0, 4.0, 6.0, 8.0, 10.0]
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import numpy as np
from sklearn.utils.validation import check_is_fitted

from estimators.io.inputs import StreamInput, is_tf_dataset

__all__ = ["predict_by_rows", "stream_predictions"]


def predict_by_rows(estimator: Any, X: Any, predict: Callable[[Any], Any],
                    name: str = "predict") -> Any:
    """``predict(X)``, or for a stream the concatenation of ``predict(chunk)`` over its
    chunks in row order (tuples, e.g. ``(mean, sd)``, concatenated item by item).

    ``predict`` is one function for every chunk: state it carries (a random generator)
    runs on across chunks as across the rows of one array. ``name`` names the method in
    errors.
    """
    if is_tf_dataset(X):
        raise TypeError(f"{type(estimator).__name__}.{name} takes arrays, DataFrames or "
                        "csv_input / parquet_input streams, not a tf.data.Dataset: pass its "
                        "features as a DataFrame")
    if not isinstance(X, StreamInput):
        return predict(X)
    check_is_fitted(estimator)
    names = getattr(estimator, "feature_names_in_", None)
    parts = [predict(chunk[X.feature_columns(chunk, names)]) for chunk in X.chunks()]
    if not parts:
        raise ValueError(f"{X.paths[0]!r} holds no rows")
    if isinstance(parts[0], tuple):  # predict(..., return_std=True)
        return tuple(np.concatenate(column) for column in zip(*parts, strict=True))
    return np.concatenate(parts)


def stream_predictions(method: Callable[..., Any]) -> Callable[..., Any]:
    """Let a prediction method without state across rows take a stream: predicted chunk
    by chunk (:func:`predict_by_rows`), in row order."""

    @functools.wraps(method)
    def wrapper(self: Any, X: Any, *args: Any, **kwargs: Any) -> Any:
        return predict_by_rows(self, X, lambda part: method(self, part, *args, **kwargs),
                               method.__name__)

    return wrapper
