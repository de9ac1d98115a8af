"""One schema for tabular input: each column's kind, missing values and levels, decided once.

Both estimator families read their input through this module: the GLMs
(:mod:`estimators.tabular.features`, design matrices) and the deep nets
(:mod:`estimators.tabular.preprocessing`, Keras layers). So the same DataFrame gets the
same column kinds, the same levels in the same order and the same errors in a
``LinearClassifier`` and a ``DNNClassifier``. The rules (also in docs/estimators.md,
"Column rules"):

1. **Kind.** A DataFrame column is *categorical* when its dtype is ``bool``, pandas
   ``category`` or pandas ``string``; *numeric* when it is an int or float dtype (numpy or
   nullable). An ``object`` column is numeric when every value present is a number (int,
   float, ``Decimal``; not bool), which is what pandas' ``infer_objects`` would make
   numeric; otherwise categorical when every value is a str, bool or number (so text, and
   codes such as ``"02139"``, stay categorical); anything else (dicts, dates) is a
   ``TypeError`` naming the column. Dates, times and complex numbers are errors too. The
   deep nets' ``categorical_features=[...]`` forces columns to be categorical. A numpy
   array of a numeric or bool dtype is a numeric matrix (bools as 0 / 1, as scikit-learn's
   ``check_array``); an ``object`` array is typed column by column, as object columns.
2. **Missing values** (NaN, None, ``pd.NA``) are an error in any column, numeric or
   categorical, at ``fit`` and at ``predict``; the error names every column at fault and
   how many rows: impute or drop them first (``df[col].fillna("missing")`` makes a level
   of them). This is scikit-learn's default (``allow_nan`` is False for every estimator).
3. **Levels** are the values present in ``fit``: in the declared order for a ``category``
   column, else sorted (numbers by value, text alphabetically; in a mixed column bools,
   then numbers, then text). The first level is the GLM's reference (it gets no indicator column).
4. **Unseen levels** at ``predict`` are a ``ValueError`` naming the column, the values and
   the known levels. (Training a deep net from a stream is the one exception: levels
   outside the stream's sample go to Keras' out-of-vocabulary slot.)

Examples
--------
>>> import pandas as pd
>>> from estimators.tabular.schema import learn_schema
>>> df = pd.DataFrame({"age": [30.0, 41.0], "code": [7, "x"], "n": pd.Series([1, 2], dtype=object)})
>>> [(c.name, c.kind, c.levels) for c in learn_schema(df).columns]
[('age', 'numeric', ()), ('code', 'categorical', (7, 'x')), ('n', 'numeric', ())]
"""

from __future__ import annotations

import numbers
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Literal

import numpy as np
import pandas as pd
import scipy.sparse as sp
from sklearn.utils.validation import check_array

__all__ = [
    "Column", "Table", "TableSchema", "as_table", "learn_schema", "column_kind",
    "column_levels", "check_missing", "check_finite", "numeric_values", "level_codes",
]

NUMERIC: Literal["numeric"] = "numeric"
CATEGORICAL: Literal["categorical"] = "categorical"
_NUMBER_TYPES = {"integer", "floating", "mixed-integer-float", "decimal"}


@dataclass(frozen=True)
class Column:
    """One input column: its name, kind and, when categorical, its levels learnt in ``fit``
    (the first is the GLM's reference level)."""

    name: str
    kind: Literal["numeric", "categorical"]
    levels: tuple = ()

    @property
    def vocabulary(self) -> list[str]:
        """The levels as text, in order (what Keras' ``StringLookup`` holds)."""
        return [str(v) for v in self.levels]


@dataclass(frozen=True)
class TableSchema:
    """The columns of a table as learnt in ``fit``.

    Attributes
    ----------
    columns : tuple of Column
    layout : {"frame", "array"}
        Whether ``fit`` saw a DataFrame or a 2-d array (columns named ``x0``, ``x1``, ...).
    labels : tuple
        The DataFrame's column labels as they were (not turned into str).
    """

    columns: tuple[Column, ...]
    layout: Literal["frame", "array"]
    labels: tuple = ()

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.columns]


class Table:
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


def as_table(X: Any) -> Table:
    """Check that ``X`` is a non-empty 2-d table (DataFrame, array or nested lists)."""
    if sp.issparse(X):
        raise TypeError("sparse input is not supported: these estimators take dense arrays "
                        "or DataFrames (convert with X.toarray())")
    if isinstance(X, Table):
        return X
    if isinstance(X, pd.DataFrame):
        n, d = X.shape
        if n == 0:
            raise ValueError(f"Found array with 0 sample(s) (shape={X.shape}) while a minimum "
                             f"of 1 is required.")
        if d == 0:
            raise ValueError(f"Found array with 0 feature(s) (shape={X.shape}) while a "
                             f"minimum of 1 is required.")
        return Table(X, [str(c) for c in X.columns])
    if isinstance(X, pd.Series):
        raise ValueError("Expected a 2D table, got a Series: pass a DataFrame, e.g. "
                         "series.to_frame()")
    array = check_array(X, dtype=None, ensure_all_finite=False, ensure_2d=True)
    return Table(array, [f"x{j}" for j in range(array.shape[1])])


# --- kinds and levels ----------------------------------------------------------------------
def is_numeric_matrix(dtype: Any) -> bool:
    """Whether a numpy array of this dtype is a numeric matrix (bools as 0 / 1)."""
    return np.dtype(dtype).kind in "biuf"


def _is_number(value: Any) -> bool:
    return isinstance(value, numbers.Number | Decimal) and not isinstance(value, bool | np.bool_)


def column_kind(values: Any, name: str) -> Literal["numeric", "categorical"]:
    """The kind of one column (a Series or a 1-d array), by the rules of the module."""
    dtype = values.dtype
    if isinstance(dtype, pd.CategoricalDtype) or pd.api.types.is_bool_dtype(dtype):
        return CATEGORICAL
    if pd.api.types.is_complex_dtype(dtype):
        raise ValueError(f"Complex data not supported (column {name!r})")
    if pd.api.types.is_numeric_dtype(dtype):
        return NUMERIC
    if pd.api.types.is_datetime64_any_dtype(dtype) or pd.api.types.is_timedelta64_dtype(dtype):
        raise TypeError(f"column {name!r} has dtype {dtype}: dates and times are not "
                        f"supported; convert them to numbers first")
    if not pd.api.types.is_object_dtype(dtype):
        if pd.api.types.is_string_dtype(dtype):
            return CATEGORICAL
        raise TypeError(f"column {name!r} has dtype {dtype}, which is neither numeric nor "
                        f"categorical (object, string, category, bool); convert it first")
    objects = np.asarray(values, dtype=object)
    inferred = pd.api.types.infer_dtype(objects, skipna=True)
    if inferred in _NUMBER_TYPES or inferred == "empty":
        return NUMERIC
    if inferred == "complex":
        raise ValueError(f"Complex data not supported (column {name!r})")
    bad = [v for v in objects if not (_is_missing(v) or isinstance(v, str | bool | np.bool_)
                                      or _is_number(v))]
    if bad:
        raise TypeError(f"column {name!r} holds {type(bad[0]).__name__} values ({bad[0]!r}): "
                        f"argument must be a string or a number (a column holds numbers, "
                        f"or text / bool / number levels)")
    return CATEGORICAL


def _is_missing(value: Any) -> bool:
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def _clean(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value


def _mixed_key(value: Any) -> tuple:
    if isinstance(value, bool | np.bool_):
        return (0, int(value), "")
    if _is_number(value):
        return (1, value, "")
    return (2, 0, str(value))


def _sort_levels(values: list) -> tuple:
    try:
        return tuple(sorted(values))
    except TypeError:  # mixed types: bools, then numbers by value, then text
        return tuple(sorted(values, key=_mixed_key))


def column_levels(values: Any, name: str) -> tuple:
    """The levels present in a categorical column, in the order of the rules (declared
    order for a ``category`` dtype, else sorted). Missing values are left out."""
    objects = np.asarray(values, dtype=object)
    present = [_clean(v) for v in pd.unique(objects) if not _is_missing(v)]
    if isinstance(values.dtype, pd.CategoricalDtype):
        seen = set(present)
        levels = tuple(_clean(v) for v in values.dtype.categories if _clean(v) in seen)
    else:
        levels = _sort_levels(present)
    texts = [str(v) for v in levels]
    if len(set(texts)) < len(texts):
        twins = sorted({t for t in texts if texts.count(t) > 1})
        raise ValueError(f"column {name!r} has different levels that read the same as text "
                         f"({twins}): convert the column to one type (e.g. all str)")
    return levels


def learn_schema(X: Any, *, categorical: Iterable[Any] | None = None) -> TableSchema:
    """The :class:`TableSchema` of a table: kinds and levels, missing values checked.

    Parameters
    ----------
    X : DataFrame, 2-d array or :class:`Table`
    categorical : iterable of column names, optional
        Columns made categorical whatever their dtype (DataFrames only).
    """
    table = as_table(X)
    forced = {str(c) for c in (categorical or ())}
    if forced and not table.is_frame:
        raise ValueError("categorical_features names DataFrame columns; X is not a DataFrame")
    unknown = sorted(forced - set(table.names))
    if unknown:
        raise ValueError(f"categorical columns not in the data: {unknown}")
    if not table.is_frame and is_numeric_matrix(table.data.dtype):
        check_finite(table.data, table.names)
        return TableSchema(tuple(Column(n, NUMERIC) for n in table.names), "array")
    check_missing((name, table.column(j)) for j, name in enumerate(table.names))
    columns = []
    for j, name in enumerate(table.names):
        values = table.column(j)
        kind = CATEGORICAL if name in forced else column_kind(values, name)
        if kind == NUMERIC:
            numeric_values(values, Column(name, NUMERIC))  # checks inf
            columns.append(Column(name, NUMERIC))
        else:
            columns.append(Column(name, CATEGORICAL, column_levels(values, name)))
    labels = tuple(table.data.columns) if table.is_frame else ()
    return TableSchema(tuple(columns), "frame" if table.is_frame else "array", labels)


# --- values at fit and predict time --------------------------------------------------------
def _missing_error(counts: dict[str, int], n_rows: int) -> ValueError:
    parts = [f"{name!r} ({k} of {n_rows} rows)" for name, k in counts.items()]
    if len(parts) == 1:
        name, k = next(iter(counts.items()))
        where = f"column {name!r} has missing values (NaN or None) in {k} of {n_rows} rows"
    else:
        where = f"columns {', '.join(parts)} have missing values (NaN or None)"
    return ValueError(f"{where}: impute or drop them before fitting or predicting (for a "
                      f"categorical column, fillna('missing') makes them a level)")


def check_missing(columns: Iterable[tuple[str, Any]]) -> None:
    """Raise one ``ValueError`` naming every (name, values) column with missing values."""
    counts, n_rows = {}, 0
    for name, values in columns:
        n_rows = len(values)
        if isinstance(values, np.ndarray) and values.dtype.kind in "biu":
            continue
        k = int(np.count_nonzero(pd.isna(values)))
        if k:
            counts[name] = k
    if counts:
        raise _missing_error(counts, n_rows)


def check_finite(matrix: np.ndarray, names: Sequence[str]) -> None:
    """Raise naming the columns of a numeric matrix with missing or infinite values."""
    if matrix.dtype.kind in "biu":
        return
    with np.errstate(over="ignore", invalid="ignore"):
        if np.isfinite(matrix.sum()):  # a finite sum has only finite terms
            return
    finite = np.isfinite(matrix)
    if finite.all():  # the sum overflowed
        return
    nan = np.isnan(matrix).sum(axis=0)
    if nan.any():
        raise _missing_error({names[j]: int(nan[j]) for j in np.flatnonzero(nan)},
                             matrix.shape[0])
    j = int(np.flatnonzero((~finite).any(axis=0))[0])
    raise ValueError(f"column {names[j]!r} has infinite values (inf)")


def numeric_values(values: Any, column: Column, dtype: Any = np.float64) -> np.ndarray:
    """A numeric column as a float array, checked: still numbers, no missing or inf."""
    name = column.name
    vdtype = values.dtype
    if isinstance(vdtype, pd.CategoricalDtype) or pd.api.types.is_bool_dtype(vdtype):
        raise ValueError(f"column {name!r} was numeric in fit but has dtype {vdtype} now")
    if pd.api.types.is_numeric_dtype(vdtype) and not pd.api.types.is_complex_dtype(vdtype):
        out = values.to_numpy(dtype=dtype, na_value=np.nan) if isinstance(values, pd.Series) \
            else np.asarray(values, dtype=dtype)
    elif pd.api.types.is_object_dtype(vdtype):
        objects = np.asarray(values, dtype=object)
        if pd.api.types.infer_dtype(objects, skipna=True) not in _NUMBER_TYPES | {"empty"}:
            raise ValueError(f"column {name!r} was numeric in fit but holds "
                             f"{pd.api.types.infer_dtype(objects, skipna=True)} values now")
        out = pd.to_numeric(pd.Series(objects)).to_numpy(dtype=dtype, na_value=np.nan)
    else:
        raise ValueError(f"column {name!r} was numeric in fit but has dtype {vdtype} now")
    check_finite(out[:, None], [name])
    return out


def level_codes(values: Any, column: Column, *, allow_unseen: bool = False) -> np.ndarray:
    """Index of each value among ``column.levels`` (int64; -1 for an unseen level when
    ``allow_unseen``, else a ``ValueError`` naming the column and the values)."""
    check_missing([(column.name, values)])
    objects = values.astype(object).to_numpy() if isinstance(values, pd.Series) else \
        np.asarray(values, dtype=object)
    codes = pd.Index(list(column.levels), dtype=object).get_indexer(objects)
    unseen = codes < 0
    if unseen.any() and any(isinstance(v, str) for v in column.levels):
        # a text level also matches a value that reads the same (a CSV chunk of "1", "2"
        # parses as numbers): the lookup the exported deep nets do on strings
        text = {v: j for j, v in enumerate(column.levels) if isinstance(v, str)}
        codes[unseen] = [text.get(str(_clean(v)), -1) for v in objects[unseen]]
        unseen = codes < 0
    if unseen.any() and not allow_unseen:
        if pd.api.types.is_float_dtype(values.dtype) and \
                not any(isinstance(v, float) for v in column.levels):
            raise ValueError(f"column {column.name!r} was categorical in fit but has dtype "
                             f"{values.dtype} now; pass its levels as in fit (text or "
                             f"integers)")
        bad = _sort_levels(list({_clean(v) for v in objects[unseen]}))
        shown = ", ".join(repr(v) for v in bad[:5]) + (" ..." if len(bad) > 5 else "")
        known = list(column.levels[:10]) + (["..."] if len(column.levels) > 10 else [])
        raise ValueError(f"column {column.name!r} has categories never seen in fit: {shown} "
                         f"(known: {known})")
    return codes
