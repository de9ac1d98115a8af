"""Table columns -> a numeric design matrix, with the encoding learnt in ``fit``.

Column kinds, levels and their order, and the errors (missing values, unseen levels) come
from :mod:`estimators.tabular.schema`, the rules the deep nets use too. Numeric columns are
used as they are; categorical columns are one-hot encoded against a reference level: the
first level is dropped (so ``pd.Categorical(values, categories=["low", "mid", "high"])``
makes "low" the reference). Columns of numpy input are named ``x0``, ``x1``, ... as
scikit-learn does.

Examples
--------
>>> import pandas as pd
>>> from estimators.tabular.features import FeatureEncoder
>>> df = pd.DataFrame({"age": [30.0, 41.0, 52.0], "region": ["north", "south", "east"]})
>>> enc = FeatureEncoder().fit(df)
>>> enc.feature_names_out.tolist()
['age', 'region_north', 'region_south']
>>> enc.transform(df)
array([[30.,  1.,  0.],
       [41.,  0.,  1.],
       [52.,  0.,  0.]])
"""

from __future__ import annotations

from typing import Any

import numpy as np

from estimators.tabular.schema import (
    NUMERIC,
    Column,
    as_table,
    check_finite,
    check_missing,
    learn_schema,
    level_codes,
    numeric_values,
)

__all__ = ["Column", "FeatureEncoder", "as_table", "width", "output_names"]


def width(column: Column) -> int:
    """How many columns of the design matrix ``column`` makes."""
    return 1 if column.kind == NUMERIC else max(len(column.levels) - 1, 0)


def output_names(column: Column) -> list[str]:
    """Names of those design-matrix columns: the name, or ``name_level`` per level but
    the first."""
    if column.kind == NUMERIC:
        return [column.name]
    return [f"{column.name}_{level}" for level in column.levels[1:]]


class FeatureEncoder:
    """Learns which columns are numeric and which categorical (with their levels) in
    :meth:`fit`; :meth:`transform` makes the float64 design matrix.

    Attributes
    ----------
    columns : list of Column
        The input columns, learnt in ``fit``.
    feature_names_out : numpy.ndarray of str
        Names of the design-matrix columns ("age", "region_north", ...).
    numeric_mask : numpy.ndarray of bool
        Which design-matrix columns are numeric inputs (not one-hot indicators).
    """

    def __init__(self) -> None:
        self.columns: list[Column] = []

    def fit(self, X: Any) -> FeatureEncoder:
        self.columns = list(learn_schema(X).columns)
        return self

    @property
    def n_features_out(self) -> int:
        return sum(width(c) for c in self.columns)

    @property
    def feature_names_out(self) -> np.ndarray:
        return np.asarray([n for c in self.columns for n in output_names(c)], dtype=object)

    @property
    def numeric_mask(self) -> np.ndarray:
        return np.asarray([c.kind == NUMERIC for c in self.columns for _ in range(width(c))],
                          dtype=bool)

    def transform(self, X: Any) -> np.ndarray:
        """The design matrix (float64, one row per sample). A numeric float64 array is
        returned as it is (no copy) when every column is numeric."""
        table = as_table(X)
        if table.shape[1] != len(self.columns):
            raise ValueError(f"X has {table.shape[1]} features, but the encoder is expecting "
                             f"{len(self.columns)} features as input")
        names = [c.name for c in self.columns]
        if not table.is_frame and all(c.kind == NUMERIC for c in self.columns) \
                and table.data.dtype != object:
            design = np.asarray(table.data, dtype=np.float64)
            check_finite(design, names)
            return design
        check_missing((name, table.column(j)) for j, name in enumerate(names))
        design = np.zeros((table.shape[0], self.n_features_out))
        offset = 0
        for j, column in enumerate(self.columns):
            values = table.column(j)
            if column.kind == NUMERIC:
                design[:, offset] = numeric_values(values, column)
            else:
                codes = level_codes(values, column)
                rows = np.flatnonzero(codes > 0)
                design[rows, offset + codes[rows] - 1] = 1.0
            offset += width(column)
        return design

    def fit_transform(self, X: Any) -> np.ndarray:
        table = as_table(X)
        return self.fit(table).transform(table)
