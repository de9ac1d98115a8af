"""A ``tf.data.Dataset`` of ``(features dict, label)`` batches as a GLM stream.

``LinearRegressor``, ``LinearClassifier`` and ``PoissonRegressor`` fit a stream through the
interface of :class:`estimators.io.StreamInput` (``chunks``, ``sample``, the label column);
``DatasetStream`` gives that interface to a dataset, read by ``tfstats``' dataset reader
(re-batched to ``chunk_size`` rows, never held whole) at every pass.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pandas as pd

from estimators.io.inputs import StreamInput, is_tf_dataset
from tfstats.arrays import ModelError
from tfstats.dataset_frames import LABEL, dataset_frames

__all__ = ["DatasetStream", "as_glm_stream"]


class DatasetStream:
    """The GLM stream interface over a ``tf.data.Dataset`` of (features dict, label)."""

    chunk_size = 10_000  # rows of the compiled objective's calls, and of VI's minibatches
    sample_size = 100_000
    batch_size = None  # VI's minibatch: chunk_size rows
    columns = None
    label = LABEL
    label_columns = [LABEL]
    paths = ("tf.data.Dataset",)  # what the stream errors name

    def __init__(self, dataset: Any, where: str) -> None:
        try:  # checks the dataset's structure and builds its pipeline, once
            self._frames = dataset_frames(dataset, self.chunk_size, where)
        except ModelError as error:
            raise ValueError(str(error)) from None
        if not isinstance(dataset.element_spec, tuple):
            raise ValueError(f"{where}: a tf.data.Dataset given to fit must yield (features "
                             f"dict, label) pairs, the label one value per row; it yields "
                             f"dicts of columns only")
        self.dataset, self.where = dataset, where

    def chunks(self) -> Iterator[pd.DataFrame]:
        """The rows as DataFrames of ``chunk_size`` rows, the label as column "label"."""
        return self._frames()

    def feature_columns(self, frame: pd.DataFrame) -> list[str]:
        return [c for c in frame.columns if c != LABEL]

    def sample(self, n: int | None = None) -> pd.DataFrame:
        """The first ``n`` rows (default ``sample_size``)."""
        n = self.sample_size if n is None else int(n)
        parts, total = [], 0
        for chunk in self.chunks():
            parts.append(chunk.iloc[:n - total])
            total += len(parts[-1])
            if total >= n:
                break
        if not parts:
            raise ValueError(f"{self.where}: the tf.data.Dataset holds no rows")
        return pd.concat(parts, ignore_index=True)


def as_glm_stream(X: Any, estimator: Any) -> StreamInput | DatasetStream | None:
    """The stream behind ``X`` (a ``StreamInput`` or a ``tf.data.Dataset``), else None."""
    if isinstance(X, StreamInput):
        return X
    if is_tf_dataset(X):
        return DatasetStream(X, f"{type(estimator).__name__}.fit")
    return None
