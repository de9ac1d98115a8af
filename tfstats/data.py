"""as_data: numpy arrays and pandas objects become data arrays of a model, validated."""

from __future__ import annotations

from typing import Any

import numpy as np

from tfstats.arrays import Array, Data, ModelError, MutableData

__all__ = ["as_data"]


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


def as_data(value: Any, name: str | None = None, mutable: bool = False) -> Array:
    """Make a data array from a number, numpy array, list, pandas Series or DataFrame.

    Data must be numeric and finite: NaN or inf raise an error naming the data (or the
    DataFrame column). A DataFrame becomes a 2-D array of its columns.

    Parameters
    ----------
    value : array-like, pandas.Series or pandas.DataFrame
        The data.
    name : str, optional
        A name used in error messages (defaults to the Series name).
    mutable : bool, default False
        Data whose values ``Model.set_data(name=new_values)`` can replace later (same
        shape and kind), without recompiling the model's functions (greta's mutable
        ``as_data``, PyMC's ``pm.Data``). It is known by ``name`` (else the Series name,
        else the caller's variable name at ``ts.model(...)``).

    Returns
    -------
    Array
        A data array; it enters compiled functions as an argument, never as a constant.

    Examples
    --------
    >>> import pandas as pd, tfstats as ts
    >>> x = ts.as_data(pd.Series([1.0, 2.0, 3.0], name="height"))
    >>> x.shape, x.name
    ((3,), 'height')
    >>> ts.as_data([1.0, 2.0], name="dose", mutable=True)
    <tfstats mutabledata 'dose' op=data shape=(2,)>
    """
    if mutable:
        return _mutable(value, name)
    if isinstance(value, Array):
        return value
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
        return Data(values, name=name)
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
    return Data(values, name=name)


def _mutable(value: Any, name: str | None) -> Array:
    if isinstance(value, MutableData):
        return value
    if isinstance(value, Array) and not isinstance(value, Data):
        raise ModelError(f"as_data(mutable=True) takes data, not an array of the model "
                         f"({value!r})")
    data = value if isinstance(value, Data) else as_data(value, name=name)
    if name is None:  # the Series name, unadorned
        name = data.name if not isinstance(value, Data) else value.name
    return MutableData(data.value, name=name)
