"""Data values checked: numpy arrays and pandas objects become a finite numeric numpy array
and a name for messages. Below ``arrays`` (which makes data nodes of what this returns), so
it knows nothing of arrays."""

from __future__ import annotations

from typing import Any

import numpy as np

from tfstats.errors import ModelError

__all__ = ["data_values"]


def _describe(name: str | None) -> str:
    return f"data {name!r}" if name else "data"


def _check_finite(values: np.ndarray, name: str | None, columns: list[str] | None = None) -> None:
    if values.dtype.kind not in "fc":
        return
    bad = ~np.isfinite(values)
    if not bad.any():
        return
    what = "NaN" if np.isnan(values[bad]).any() else "inf"
    if columns is not None and values.ndim == 2:
        cols = [c for c, b in zip(columns, bad.any(axis=0), strict=True) if b]
        raise ModelError(f"{_describe(name)} has {what} values in column(s) {cols}: "
                         f"tfstats data must be finite (drop or impute missing values)")
    first = tuple(int(i) for i in np.argwhere(bad)[0])
    raise ModelError(f"{_describe(name)} has {what} values (first at index {first}): "
                     f"tfstats data must be finite")


def _numeric(values: np.ndarray, name: str | None) -> np.ndarray:
    if values.dtype == bool or np.issubdtype(values.dtype, np.number):
        if np.iscomplexobj(values):
            raise ModelError(f"{_describe(name)} is complex: tfstats data must be real")
        return values
    if values.dtype != object:  # strings, dates and times are not numbers
        raise ModelError(f"{_describe(name)} has dtype {values.dtype}, which is not numeric")
    try:
        return values.astype(np.float64)
    except (TypeError, ValueError):
        raise ModelError(
            f"{_describe(name)} has dtype {values.dtype}, which is not numeric"
        ) from None


def data_values(value: Any, name: str | None = None) -> tuple[np.ndarray, str | None]:
    """The values of a number, numpy array, list, pandas Series or DataFrame, checked to be
    numeric and finite (an error names the data or the DataFrame column), and the name to
    give the data (a Series' name is added to ``name``).

    Examples
    --------
    >>> import pandas as pd
    >>> data_values(pd.Series([1.0, 2.0], name="height"))
    (array([1., 2.]), 'height')
    """
    try:
        import pandas as pd
    except ImportError:  # pragma: no cover - pandas is a dependency
        pd = None
    if pd is not None and isinstance(value, pd.DataFrame):
        columns = [str(c) for c in value.columns]
        for column in value.columns:
            series = value[column]
            if not (pd.api.types.is_numeric_dtype(series) or pd.api.types.is_bool_dtype(series)):
                raise ModelError(f"column {str(column)!r} of {_describe(name)} has dtype "
                                 f"{series.dtype}, which is not numeric")
            if series.isna().any():
                raise ModelError(f"column {str(column)!r} of {_describe(name)} has missing "
                                 f"values: tfstats data must be finite")
        values = value.to_numpy(dtype=np.float64)
        _check_finite(values, name, columns)
        return values, name
    if pd is not None and isinstance(value, pd.Series | pd.Index):
        if value.name is not None:  # name the column, and the argument it was given as
            name = f"{value.name} ({name})" if name and name != str(value.name) else str(
                value.name)
        if value.isna().any():
            raise ModelError(f"{_describe(name)} has missing values: tfstats data must be finite")
        if isinstance(value.dtype, pd.CategoricalDtype):
            raise ModelError(f"{_describe(name)} is categorical: use its codes "
                             f"(series.cat.codes) as integer indices")
        value = value.to_numpy()
    values = _numeric(np.asarray(value), name)
    _check_finite(values, name)
    return values, name
