"""Predictions of the GLM estimators on files larger than memory, chunk by chunk.

``stream_predictions`` wraps a prediction method (``predict``, ``predict_proba``, ...) so
that a :class:`~estimators.io.inputs.StreamInput` (``csv_input`` / ``parquet_input``) is
read in chunks of ``chunk_size`` rows, each predicted as a DataFrame, and the results
concatenated in row order, as the deep nets do. Only the predictions are held whole.

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

__all__ = ["stream_predictions"]


def stream_predictions(method: Callable[..., Any]) -> Callable[..., Any]:
    """Let a prediction method take a stream: predicted chunk by chunk, in row order."""

    @functools.wraps(method)
    def wrapper(self: Any, X: Any, *args: Any, **kwargs: Any) -> Any:
        if is_tf_dataset(X):
            raise TypeError(f"{type(self).__name__}.{method.__name__} takes arrays, "
                            "DataFrames or csv_input / parquet_input streams, not a "
                            "tf.data.Dataset: pass its features as a DataFrame")
        if not isinstance(X, StreamInput):
            return method(self, X, *args, **kwargs)
        check_is_fitted(self)
        names = getattr(self, "feature_names_in_", None)
        parts = [method(self, chunk[X.feature_columns(chunk, names)], *args, **kwargs)
                 for chunk in X.chunks()]
        if not parts:
            raise ValueError(f"{X.paths[0]!r} holds no rows")
        if isinstance(parts[0], tuple):  # predict(..., return_std=True)
            return tuple(np.concatenate(column) for column in zip(*parts, strict=True))
        return np.concatenate(parts)

    return wrapper
