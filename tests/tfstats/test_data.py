"""as_data: numpy and pandas inputs become validated data arrays."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
import pytest
import scipy.stats as st

import tfstats as ts
from tfstats.arrays import Data


@pytest.mark.parametrize("value, shape, kind", [
    (3.5, (), "float"),
    (3, (), "int"),
    ([1, 2, 3], (3,), "int"),
    ([1.0, 2.0], (2,), "float"),
    (np.array([True, False]), (2,), "bool"),
    (np.zeros((2, 3), dtype=np.float32), (2, 3), "float"),
    (np.array([1, 255], dtype=np.uint8), (2,), "int"),
    (np.array([1, 2.5], dtype=object), (2,), "float"),
    (pd.Series([1, 2], dtype="Int64"), (2,), "int"),
    (pd.Series([True, False], dtype="boolean"), (2,), "bool"),
    (pd.Index([4, 5, 6]), (3,), "int"),
    (pd.DataFrame({"a": [1, 2], "b": [True, False], "c": [0.5, 1.5]}), (2, 3), "float"),
])
def test_inputs_become_data(value: object, shape: tuple, kind: str) -> None:
    data = ts.as_data(value)
    assert isinstance(data, Data)
    assert data.shape == shape
    assert data.kind == kind
    assert data.variables == frozenset()


def test_names_and_values() -> None:
    series = pd.Series([1.0, 2.0, 3.0], name="height")
    data = ts.as_data(series)
    assert data.name == "height"
    np.testing.assert_array_equal(data.value, series.to_numpy())
    assert ts.as_data(series, name="h").name == "height (h)"
    frame = pd.DataFrame({"a": [1.0, 2.0], "b": [3, 4]})
    np.testing.assert_array_equal(ts.as_data(frame).value, [[1.0, 3.0], [2.0, 4.0]])
    assert ts.as_data(frame["a"]).name == "a"
    assert ts.as_data(data) is data


def test_data_in_a_model(evaluate: Callable) -> None:
    frame = pd.DataFrame({"x1": [1.0, 2.0, -1.0], "x2": [0.5, 0.0, 3.0]})
    beta = ts.variable(dim=2)
    eta = ts.as_data(frame) @ beta
    assert eta.shape == (3,)
    value = np.array([0.3, -1.2])
    np.testing.assert_allclose(evaluate(eta, {beta: value}), frame.to_numpy() @ value)
    # pandas defers to tfstats in arithmetic
    scaled = frame["x1"] * beta[0]
    assert scaled.shape == (3,)
    np.testing.assert_allclose(evaluate(scaled, {beta: value}), frame["x1"] * 0.3)
    y = pd.Series([0.2, 1.4, -0.3], name="y")
    ts.normal(eta, 1, observed=y)
    m = ts.model(beta=beta)
    np.testing.assert_allclose(m.log_prob({"beta": value}),
                               st.norm(frame.to_numpy() @ value, 1).logpdf(y).sum(), rtol=1e-12)


def test_large_integers_keep_their_value() -> None:
    # counts beyond int32 must not wrap around when they enter the graph
    rate = ts.variable(lower=0)
    y = np.array([2**33, 2**33 + 4])
    ts.normal(y.astype(float).mean() + 0 * rate, 10.0, observed=y)
    m = ts.model(rate=rate)
    np.testing.assert_allclose(m.log_prob({"rate": 1.0}), st.norm(2**33 + 2, 10).logpdf(y).sum(),
                               rtol=1e-12)


# --- bad input ----------------------------------------------------------------------------------

@pytest.mark.parametrize("call, message", [
    (lambda: ts.as_data(np.array([1.0, np.nan])), r"data has NaN values \(first at index \(1,\)\)"),
    (lambda: ts.as_data([1.0, float("nan")], name="y"), r"data 'y' has NaN values"),
    (lambda: ts.as_data(np.array([[1.0, 2.0], [np.inf, 0.0]]), name="X"),
     r"data 'X' has inf values \(first at index \(1, 0\)\)"),
    (lambda: ts.as_data(np.array([-np.inf])), r"data has inf values"),
    (lambda: ts.as_data(pd.Series([1.0, np.nan], name="height")),
     r"data 'height' has missing values"),
    (lambda: ts.as_data(pd.Series([1.0, np.inf], name="height")), r"data 'height' has inf"),
    (lambda: ts.as_data(pd.DataFrame({"a": [1.0, 2.0], "b": [np.nan, 1.0]})),
     r"column 'b' of data has missing values"),
    (lambda: ts.as_data(pd.DataFrame({"a": [1.0, 2.0], "b": [np.inf, 1.0]})),
     r"inf values in column\(s\) \['b'\]"),
    (lambda: ts.as_data(pd.DataFrame({"a": pd.Series([1, None], dtype="Int64")})),
     r"column 'a' of data has missing values"),
    (lambda: ts.as_data(np.array([1, None], dtype=object)), r"NaN"),
    # as arguments of a model: the argument is named
    (lambda: ts.normal(ts.normal(0, 1), 1, observed=np.array([1.0, np.nan])),
     r"data 'observed' has NaN values"),
    (lambda: ts.normal(ts.normal(0, 1), 1, observed=pd.Series([1.0, np.nan], name="height")),
     r"data 'height \(observed\)' has missing values"),
    (lambda: ts.normal(ts.normal(0, 1), 1, observed=pd.DataFrame({"y": [1.0, np.nan]})),
     r"column 'y' of data 'observed' has missing values"),
    (lambda: ts.normal(np.array([0.0, np.inf]), 1), r"data 'normal mean' has inf values"),
    (lambda: ts.normal(0, np.nan), r"data 'normal sd' has NaN values"),
    (lambda: ts.normal(0, 1) * pd.Series([1.0, np.nan], name="x"), r"data 'x' has missing"),
    (lambda: np.array([1.0, np.nan]) * ts.normal(0, 1), r"data has NaN values"),
])
def test_non_finite_data_is_named(call: Callable, message: str) -> None:
    with pytest.raises(ts.ModelError, match=message):
        call()


@pytest.mark.parametrize("value, message", [
    (np.array(["a", "b"]), r"dtype <U1, which is not numeric"),
    (pd.Series(["x", "y"], name="region"), r"data 'region' has dtype object"),
    (pd.Series(pd.Categorical(["x", "y"]), name="region"),
     r"data 'region' is categorical: use its codes"),
    (pd.DataFrame({"a": [1, 2], "b": ["x", "y"]}), r"column 'b' of data has dtype"),
    (pd.DataFrame({"a": [1, 2], "b": pd.Categorical(["x", "y"])}),
     r"column 'b' of data has dtype category"),
    (pd.Series(pd.to_datetime(["2020-01-01"]), name="day"), r"data 'day' has dtype datetime64"),
    (np.array([1 + 2j]), r"data is complex"),
])
def test_non_numeric_data_is_an_error(value: object, message: str) -> None:
    with pytest.raises(ts.ModelError, match=message):
        ts.as_data(value)
