"""GLM fits on a stream (CSV / Parquet files, ``estimators.io.inputs``): the checks and the
chunk readers; for LinearRegressor, the Gram matrix accumulated over chunks
(``glm_stream_fit`` fits the other families).

The normal family's model sees only the Gram matrix of ``[standardised X, 1, standardised
y]`` (``glm_models.gram``), so the files are read once, chunk by chunk, and never held
whole: MAP and VI (and NUTS) then cost O(d^2) per step as in memory. The column encoding
and the standardisation come from the stream's sample (``sample_size`` rows); the
standardisation only conditions the fit, so the answer is the in-memory one up to
rounding.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from estimators.glm.models import gram
from estimators.tabular.features import as_table

__all__ = ["stream_sample", "stream_fit_sample", "stream_gram", "stream_chunks",
           "stream_labels"]


def stream_sample(stream: Any) -> tuple[pd.DataFrame, np.ndarray, list[str]]:
    """The stream's sample: (features, target, feature column names), checked."""
    labels = stream.label_columns
    if len(labels) != 1:
        raise ValueError(f"fitting on a stream needs one label column (label='name'), got "
                         f"label={stream.label!r}")
    try:
        sample = stream.sample()
    except ValueError as error:  # pandas: "Usecols do not match columns ..."
        raise ValueError(f"the stream {list(stream.paths)} does not have the columns asked "
                         f"for (columns={stream.columns}, label={stream.label!r}): "
                         f"{error}") from error
    if labels[0] not in sample.columns:
        raise ValueError(f"the label column {labels[0]!r} is not in {stream.paths[0]!r}; its "
                         f"columns are {list(sample.columns)}")
    features = stream.feature_columns(sample)
    return sample[features], sample[labels[0]].to_numpy(), features


def stream_gram(stream: Any, encode: Callable[[Any], np.ndarray], features: list[str]
                ) -> Callable[[dict, int], tuple[np.ndarray, float]]:
    """``(back, d_pad) -> (Gram matrix, total weight)`` over every chunk of ``stream``,
    standardised with the sample's ``back`` (loc, scale, y_loc, y_scale)."""
    label = stream.label_columns[0]

    def accumulate(back: dict, d_pad: int) -> tuple[np.ndarray, float]:
        G = np.zeros((d_pad + 2, d_pad + 2))
        for chunk in stream.chunks():
            missing = [c for c in [*features, label] if c not in chunk.columns]
            if missing:
                raise ValueError(f"a chunk of {list(stream.paths)} lacks the column(s) "
                                 f"{missing}")
            X = encode(as_table(chunk[features]))
            y = chunk[label].to_numpy(np.float64)
            if not np.all(np.isfinite(y)):
                raise ValueError(f"the label column {label!r} has missing or infinite values")
            y = (y - back["y_loc"]) / back["y_scale"]
            G += gram(X, y, np.ones(len(y)), back["loc"], back["scale"], d_pad)
        return G, float(G[d_pad, d_pad])

    return accumulate


def stream_chunks(stream: Any, encode: Callable[[Any], np.ndarray], features: list[str],
                  target: Callable[[np.ndarray], np.ndarray]
                  ) -> Callable[[], Any]:
    """``() -> iterator of (design, target)`` over every chunk of ``stream``: the columns
    checked, the features encoded by ``encode`` (an unseen category raises, naming its
    column), the label mapped by ``target``."""
    label = stream.label_columns[0]

    def chunks() -> Any:
        for chunk in stream.chunks():
            missing = [c for c in [*features, label] if c not in chunk.columns]
            if missing:
                raise ValueError(f"a chunk of {list(stream.paths)} lacks the column(s) "
                                 f"{missing}")
            yield encode(as_table(chunk[features])), target(chunk[label].to_numpy())

    return chunks


def stream_labels(stream: Any) -> tuple[np.ndarray, int]:
    """The sorted distinct values of the label column over the whole stream, and the
    number of rows (one pass)."""
    label = stream.label_columns[0]
    seen: set = set()
    rows = 0
    for chunk in stream.chunks():
        if label not in chunk.columns:
            raise ValueError(f"a chunk of {list(stream.paths)} lacks the label column "
                             f"{label!r}")
        values = chunk[label]
        if values.isna().any():
            raise ValueError(f"the label column {label!r} has missing values")
        seen.update(values.unique().tolist())
        rows += len(chunk)
    return np.array(sorted(seen)), rows


def stream_fit_sample(estimator: Any, stream: Any, y: Any, sample_weight: Any) -> tuple:
    """The sample (features, target, feature names) of a stream given to ``fit``, which
    sets the column encoding (categories: those of the sample) and the internal scaling."""
    if y is not None or sample_weight is not None:
        raise ValueError("with a stream, the target is its label column: pass y=None and "
                         "no sample_weight")
    name = type(estimator).__name__
    if estimator._family != "normal" and estimator.inference == "nuts":
        raise ValueError(f"{name}.fit on a stream supports inference='map' and 'vi', not "
                         f"'nuts' (every NUTS step would read the files many times); "
                         f"LinearRegressor takes streams for every inference")
    return stream_sample(stream)
