"""A ``tf.data.Dataset`` of columns read as DataFrames of ``rows`` rows (for streams).

The elements may be dicts of columns, or ``(features, label)`` pairs with a dict of
columns as features (the Keras convention), whose label becomes the column ``"label"``.
Columns are scalars (one row per element) or 1-D batches (strings become ``str``); the
dataset is re-batched to ``rows`` rows per DataFrame by tf.data itself (``rebatch``), so
small or unbatched elements do not cost a DataFrame each.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import pandas as pd

from tfstats.arrays import ModelError

__all__ = ["LABEL", "dataset_frames", "check_dataset"]

LABEL = "label"  # the column name of the label of (features, label) elements


def check_dataset(dataset: Any, where: str = "minibatch()") -> tuple[bool, bool]:
    """``(pairs, batched)`` from the dataset's ``element_spec``, or a ``ModelError`` that
    names what is wrong (structure, a column's shape, an endless dataset)."""
    import tensorflow as tf

    spec = dataset.element_spec
    pairs = isinstance(spec, tuple)
    if pairs and (len(spec) != 2 or not isinstance(spec[0], dict)):
        kinds = ", ".join(type(s).__name__ for s in spec)
        raise ModelError(f"{where}: a tf.data.Dataset must yield a dict of columns or "
                         f"(features dict, label) pairs, got a tuple of ({kinds})"
                         + (": sample weights are not supported with a stream"
                            if len(spec) == 3 else ""))
    if not pairs and not isinstance(spec, dict):
        raise ModelError(f"{where}: a tf.data.Dataset must yield a dict of columns (name -> "
                         f"values) or (features dict, label) pairs, got {type(spec).__name__}")
    columns = {**spec[0], LABEL: spec[1]} if pairs else dict(spec)
    if pairs and LABEL in spec[0]:
        raise ModelError(f"{where}: the features of a (features, label) tf.data.Dataset have "
                         f"a column named {LABEL!r}, the name its label takes: rename it")
    ranks = {}
    for name, column in columns.items():
        if not isinstance(column, tf.TensorSpec) or column.shape.rank not in (0, 1):
            raise ModelError(f"{where}: column {name!r} of the tf.data.Dataset has shape "
                             f"{getattr(column, 'shape', column)}: each column must be one "
                             f"value per row (a scalar, or a 1-D batch)")
        ranks[name] = column.shape.rank
    if len(set(ranks.values())) > 1:
        raise ModelError(f"{where}: the columns of the tf.data.Dataset mix scalars and "
                         f"batches (ranks {ranks}): batch them all or none")
    if int(dataset.cardinality()) == int(tf.data.INFINITE_CARDINALITY):
        raise ModelError(f"{where}: the tf.data.Dataset repeats forever (.repeat() without a "
                         f"count): pass one pass over the data")
    return pairs, set(ranks.values()) == {1}


def dataset_frames(dataset: Any, rows: int, where: str = "minibatch()"
                   ) -> Callable[[], Iterator[pd.DataFrame]]:
    """A function that reads the dataset once more, as DataFrames of ``rows`` rows (the last
    one shorter), in order. The re-batched pipeline is built here, once: each call is one
    pass over it (building it cost about 30 ms a pass)."""
    pairs, batched = check_dataset(dataset, where)
    if pairs:
        dataset = dataset.map(lambda features, label: {**features, LABEL: label})
    dataset = dataset.rebatch(rows) if batched else dataset.batch(rows)

    def frames() -> Iterator[pd.DataFrame]:
        for element in dataset.as_numpy_iterator():
            yield pd.DataFrame({name: _decoded(np.asarray(values))
                                for name, values in element.items()})

    return frames


def _decoded(values: np.ndarray) -> np.ndarray:
    """String columns arrive as bytes: make them str, as a DataFrame's would be."""
    if values.dtype.kind in "OS" and values.size and isinstance(values.flat[0], bytes):
        return np.array([v.decode("utf-8") for v in values.tolist()], dtype=object)
    return values
