"""as_data: numpy arrays and pandas objects become data arrays of a model, validated."""

from __future__ import annotations

from typing import Any

from tfstats.arrays import Array, Data, ModelError, MutableData
from tfstats.data_checks import data_values

__all__ = ["as_data"]


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
    return Data(*data_values(value, name))


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
