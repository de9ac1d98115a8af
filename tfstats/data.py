"""as_data: numpy arrays and pandas objects become data arrays of a model, validated."""

from __future__ import annotations

from typing import Any

from tfstats.arrays import Array, Data
from tfstats.data_checks import data_values

__all__ = ["as_data"]


def as_data(value: Any, name: str | None = None) -> Array:
    """Make a data array from a number, numpy array, list, pandas Series or DataFrame.

    Data must be numeric and finite: NaN or inf raise an error naming the data (or the
    DataFrame column). A DataFrame becomes a 2-D array of its columns.

    Parameters
    ----------
    value : array-like, pandas.Series or pandas.DataFrame
        The data.
    name : str, optional
        A name used in error messages (defaults to the Series name).

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
    """
    if isinstance(value, Array):
        return value
    return Data(*data_values(value, name))
