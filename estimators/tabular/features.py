"""Table columns -> a numeric design matrix, with the encoding learnt in ``fit``.

Numeric columns are used as they are. Categorical columns (pandas ``object``, ``string``,
``category`` and ``bool`` columns; numpy string, bool or object arrays of strings) are
one-hot encoded against a reference level: the first level is dropped. Levels are sorted,
except for pandas ``category`` columns, whose declared order is kept (so
``pd.Categorical(values, categories=["low", "mid", "high"])`` makes "low" the reference).

Errors name the column: missing values (NaN, None) in any column, infinite values in
numeric columns, and categories unseen in ``fit``. Columns of numpy input are named
``x0``, ``x1``, ... as scikit-learn does.

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

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp
from sklearn.utils.validation import check_array

__all__ = ["Column", "FeatureEncoder", "as_table"]


@dataclass(frozen=True)
class Column:
    """One input column: its name, kind ("numeric" or "categorical") and, for a
    categorical column, its levels in ``fit`` (the first is the reference)."""

    name: str
    kind: str
    levels: tuple = ()

    @property
    def width(self) -> int:
        """How many columns of the design matrix it makes."""
        return 1 if self.kind == "numeric" else max(len(self.levels) - 1, 0)

    def output_names(self) -> list[str]:
        if self.kind == "numeric":
            return [self.name]
        return [f"{self.name}_{level}" for level in self.levels[1:]]


class _Table:
    """A 2-d input seen column by column: a DataFrame or a 2-d numpy array."""

    def __init__(self, data: Any, names: list[str]) -> None:
        self.data = data
        self.names = names
        self.shape = (data.shape[0], len(names))

    @property
    def is_frame(self) -> bool:
        return isinstance(self.data, pd.DataFrame)

    def column(self, j: int) -> Any:
        return self.data.iloc[:, j] if self.is_frame else self.data[:, j]


def as_table(X: Any) -> _Table:
    """Check that ``X`` is a non-empty 2-d table (DataFrame, array or nested lists)."""
    if sp.issparse(X):
        raise TypeError("sparse input is not supported: these estimators take dense arrays "
                        "or DataFrames (convert with X.toarray())")
    if isinstance(X, pd.DataFrame):
        n, d = X.shape
        if n == 0:
            raise ValueError(f"Found array with 0 sample(s) (shape={X.shape}) while a minimum "
                             f"of 1 is required.")
        if d == 0:
            raise ValueError(f"Found array with 0 feature(s) (shape={X.shape}) while a "
                             f"minimum of 1 is required.")
        return _Table(X, [str(c) for c in X.columns])
    if isinstance(X, pd.Series):
        raise ValueError("Expected a 2D table, got a Series: pass a DataFrame, e.g. "
                         "series.to_frame()")
    array = check_array(X, dtype=None, ensure_all_finite=False, ensure_2d=True)
    return _Table(array, [f"x{j}" for j in range(array.shape[1])])


def _is_numeric_dtype(dtype: Any) -> bool:
    if isinstance(dtype, pd.CategoricalDtype) or pd.api.types.is_bool_dtype(dtype):
        return False
    return pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_complex_dtype(dtype)


def _column_kind(values: Any, name: str) -> str:
    dtype = values.dtype
    if isinstance(dtype, pd.CategoricalDtype) or pd.api.types.is_bool_dtype(dtype):
        return "categorical"
    if pd.api.types.is_complex_dtype(dtype):
        raise ValueError(f"Complex data not supported (column {name!r})")
    if _is_numeric_dtype(dtype):
        return "numeric"
    if pd.api.types.is_datetime64_any_dtype(dtype) or pd.api.types.is_timedelta64_dtype(dtype):
        raise TypeError(f"column {name!r} has dtype {dtype}: dates and times are not "
                        f"supported; convert them to numbers first")
    if pd.api.types.is_string_dtype(dtype) and not pd.api.types.is_object_dtype(dtype):
        return "categorical"
    # object: strings (or bools) make a categorical column; anything else must be numbers
    present = [v for v in np.asarray(values, dtype=object) if not _is_missing(v)]
    if present and any(isinstance(v, str | bool | np.bool_) for v in present):
        return "categorical"
    return "numeric"


def _is_missing(value: Any) -> bool:
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def _sort_levels(values: list) -> tuple:
    try:
        return tuple(sorted(values))
    except TypeError:  # mixed types: order by type name, then text
        return tuple(sorted(values, key=lambda v: (type(v).__name__, str(v))))


def _clean_level(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value


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

    # --- fit -----------------------------------------------------------------------------------
    def fit(self, X: Any) -> FeatureEncoder:
        table = X if isinstance(X, _Table) else as_table(X)
        columns = []
        if not table.is_frame and _is_numeric_dtype(table.data.dtype):
            columns = [Column(name, "numeric") for name in table.names]
        else:
            for j, name in enumerate(table.names):
                values = table.column(j)
                kind = _column_kind(values, name)
                if kind == "categorical":
                    columns.append(Column(name, kind, self._levels(values, name)))
                else:
                    columns.append(Column(name, kind))
        self.columns = columns
        return self

    @staticmethod
    def _levels(values: Any, name: str) -> tuple:
        missing = pd.isna(values)
        if np.any(missing):
            raise ValueError(f"column {name!r} has missing values (NaN or None): impute or "
                             f"drop them before fitting")
        present = [_clean_level(v) for v in pd.unique(np.asarray(values, dtype=object))]
        if isinstance(values.dtype, pd.CategoricalDtype):  # declared order; levels present
            seen = set(present)
            return tuple(_clean_level(v) for v in values.dtype.categories if
                         _clean_level(v) in seen)
        return _sort_levels(present)

    # --- transform -----------------------------------------------------------------------------
    @property
    def n_features_out(self) -> int:
        return sum(c.width for c in self.columns)

    @property
    def feature_names_out(self) -> np.ndarray:
        return np.asarray([n for c in self.columns for n in c.output_names()], dtype=object)

    @property
    def numeric_mask(self) -> np.ndarray:
        return np.asarray([c.kind == "numeric" for c in self.columns for _ in range(c.width)],
                          dtype=bool)

    def transform(self, X: Any) -> np.ndarray:
        """The design matrix (float64, one row per sample). A numeric float64 array is
        returned as it is (no copy) when every column is numeric."""
        table = X if isinstance(X, _Table) else as_table(X)
        if table.shape[1] != len(self.columns):
            raise ValueError(f"X has {table.shape[1]} features, but the encoder is expecting "
                             f"{len(self.columns)} features as input")
        if not table.is_frame and all(c.kind == "numeric" for c in self.columns) \
                and table.data.dtype != object:
            design = np.asarray(table.data, dtype=np.float64)
            self._check_finite(design, [c.name for c in self.columns])
            return design
        design = np.zeros((table.shape[0], self.n_features_out))
        offset = 0
        for j, column in enumerate(self.columns):
            values = table.column(j)
            if column.kind == "numeric":
                design[:, offset] = self._numeric(values, column.name)
            else:
                self._one_hot(values, column, design[:, offset:offset + column.width])
            offset += column.width
        return design

    def fit_transform(self, X: Any) -> np.ndarray:
        table = as_table(X)
        return self.fit(table).transform(table)

    @staticmethod
    def _check_finite(design: np.ndarray, names: list[str]) -> None:
        with np.errstate(over="ignore", invalid="ignore"):
            if np.isfinite(design.sum()):  # a finite sum has only finite terms
                return
        if np.isfinite(design).all():  # the sum overflowed
            return
        bad = ~np.isfinite(design)
        j = int(np.flatnonzero(bad.any(axis=0))[0])
        if np.isnan(design[:, j]).any():
            raise ValueError(f"column {names[j]!r} has missing values (NaN): impute or drop "
                             f"them before fitting or predicting")
        raise ValueError(f"column {names[j]!r} has infinite values (inf)")

    @classmethod
    def _numeric(cls, values: Any, name: str) -> np.ndarray:
        if isinstance(values, pd.Series):
            if not _is_numeric_dtype(values.dtype) and values.dtype != object:
                raise ValueError(f"column {name!r} was numeric in fit but has dtype "
                                 f"{values.dtype} now")
            out = values.to_numpy(dtype=np.float64, na_value=np.nan) if _is_numeric_dtype(
                values.dtype) else np.asarray(values.to_numpy(), dtype=np.float64)
        else:
            out = np.asarray(values, dtype=np.float64)
        cls._check_finite(out[:, None], [name])
        return out

    @staticmethod
    def _one_hot(values: Any, column: Column, out: np.ndarray) -> None:
        missing = np.asarray(pd.isna(values))
        if missing.any():
            raise ValueError(f"column {column.name!r} has missing values (NaN or None): impute "
                             f"or drop them before fitting or predicting")
        raw = np.asarray(values, dtype=object) if not isinstance(values, pd.Series) else \
            values.astype(object).to_numpy()
        codes = pd.Index(list(column.levels), dtype=object).get_indexer(raw)
        unseen = codes < 0
        if unseen.any():
            value = _clean_level(raw[np.flatnonzero(unseen)[0]])
            raise ValueError(f"column {column.name!r} has the category {value!r}, which was not "
                             f"seen in fit (known: {list(column.levels)})")
        rows = np.flatnonzero(codes > 0)
        out[rows, codes[rows] - 1] = 1.0
