"""Lazy arrays: operators, the numpy protocol, indexing, reductions and linear algebra.

Each expression is written once and applied both to a numpy array and to a lazy array of
the same value: the lazy shape (known at write time) and its computed value must match
numpy's.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
import scipy.special as sp
import scipy.stats as st

import tfstats as ts
from tfstats.arrays import Array

X = np.array([[0.3, -1.2, 2.0, 0.5],
              [1.1, 0.4, -0.7, -2.2],
              [-0.6, 0.9, 1.5, 0.2]])
X3 = np.arange(24, dtype=np.float64).reshape(2, 3, 4) / 10 - 1.0
M = np.array([[0.5, -1.0], [2.0, 0.1], [0.3, 0.3], [-1.5, 0.7]])  # (4, 2)
V4 = np.array([0.2, -0.4, 1.0, 3.0])

# expressions that work unchanged on numpy arrays and on tfstats arrays
SAME: dict[str, Callable[[Any], Any]] = {
    "add": lambda a: a + 1.5,
    "radd": lambda a: 2 + a,
    "sub": lambda a: a - V4,
    "rsub": lambda a: V4 - a,
    "mul": lambda a: a * a,
    "rmul": lambda a: 3 * a,
    "div": lambda a: a / 4,
    "rdiv": lambda a: 1 / (a + 10),
    "floordiv": lambda a: a // 0.5,
    "mod": lambda a: a % 0.7,
    "pow2": lambda a: a**2,
    "pow3": lambda a: a**3,
    "pow_half": lambda a: (a + 3) ** 0.5,
    "rpow": lambda a: 2.0**a,
    "pow_array": lambda a: (a + 3) ** V4,
    "neg": lambda a: -a,
    "pos": lambda a: +a,
    "abs": lambda a: abs(a),
    "matmul": lambda a: a @ M,
    "rmatmul": lambda a: M.T[:, :3] @ a,
    "matvec": lambda a: a @ V4,
    "vecmat": lambda a: np.array([1.0, -2.0, 0.5]) @ a,
    "T": lambda a: a.T,
    "lt": lambda a: a < 0.4,
    "le": lambda a: a <= 0.4,
    "gt": lambda a: a > V4,
    "ge": lambda a: a >= 0.5,
    "eq": lambda a: a == a,
    "ne": lambda a: a != 0.3,
    "and_or": lambda a: ((a > 0) & (a < 1)) | (a < -1),
    "invert": lambda a: ~(a > 0),
    "gt_float": lambda a: (a > 0) * a,
    "np.exp": np.exp,
    "np.log": lambda a: np.log(np.abs(a) + 1),
    "np.log1p": lambda a: np.log1p(np.abs(a)),
    "np.expm1": np.expm1,
    "np.sqrt": lambda a: np.sqrt(np.abs(a)),
    "np.square": np.square,
    "np.sin": np.sin,
    "np.cos": np.cos,
    "np.tanh": np.tanh,
    "np.arctan": np.arctan,
    "np.floor": np.floor,
    "np.ceil": np.ceil,
    "np.sign": np.sign,
    "np.log10": lambda a: np.log10(np.abs(a) + 1),
    "np.arctan2": lambda a: np.arctan2(a, V4),
    "np.maximum": lambda a: np.maximum(a, 0),
    "np.minimum": lambda a: np.minimum(a, V4),
    "np.logaddexp": lambda a: np.logaddexp(a, 0.5),
    "np.hypot": lambda a: np.hypot(a, 2.0),
    "np.add": lambda a: np.add(a, a),
    "np.divide": lambda a: np.divide(a, 3.0),
    "np.power": lambda a: np.power(np.abs(a), 1.5),
    "np.absolute": np.absolute,
    "np.sum": np.sum,
    "np.sum_axis0": lambda a: np.sum(a, axis=0),
    "np.sum_axis1_keepdims": lambda a: np.sum(a, axis=1, keepdims=True),
    "np.sum_axis_neg": lambda a: np.sum(a, axis=-1),
    "np.sum_axes_tuple": lambda a: np.sum(a, axis=(0, 1)),
    "np.mean": np.mean,
    "np.mean_axis": lambda a: np.mean(a, axis=0),
    "np.prod": lambda a: np.prod(a, axis=1),
    "np.max": lambda a: np.max(a, axis=0),
    "np.min": np.min,
    "np.amax": lambda a: np.amax(a, axis=1),
    "np.std": lambda a: np.std(a, axis=1),
    "np.var": np.var,
    "np.all": lambda a: np.all(a > -3, axis=0),
    "np.any": lambda a: np.any(a > 1.8, axis=1),
    "method_sum": lambda a: a.sum(axis=1),
    "method_mean": lambda a: a.mean(),
    "method_max": lambda a: a.max(axis=-1, keepdims=True),
    "method_min": lambda a: a.min(axis=0),
    "method_prod": lambda a: a.prod(),
    "np.cumsum": lambda a: np.cumsum(a, axis=1),
    "np.cumsum_flat": np.cumsum,
    "np.cumprod": lambda a: np.cumprod(a, axis=0),
    "np.dot": lambda a: np.dot(a, V4),
    "np.dot_matrix": lambda a: np.dot(a, M),
    "np.matmul": lambda a: np.matmul(a, M),
    "method_dot": lambda a: a.dot(M),
    "np.outer": lambda a: np.outer(a[0], a[1, :2]),
    "np.where": lambda a: np.where(a > 0, a, -a * 2),
    "np.where_scalar": lambda a: np.where(a > 0.5, 1.0, a),
    "np.clip": lambda a: np.clip(a, -0.5, 0.5),
    "np.clip_below": lambda a: np.clip(a, -0.5, None),
    "np.clip_above": lambda a: np.clip(a, None, V4),
    "np.concatenate": lambda a: np.concatenate([a, a * 2], axis=1),
    "np.concatenate0": lambda a: np.concatenate([a, a[:1]]),
    "np.stack": lambda a: np.stack([a, a + 1], axis=-1),
    "np.stack0": lambda a: np.stack([a[0], a[2]]),
    "np.reshape": lambda a: np.reshape(a, (4, 3)),
    "method_reshape": lambda a: a.reshape(2, 6),
    "method_reshape_tuple": lambda a: a.reshape((6, -1)),
    "flatten": lambda a: a.flatten(),
    "np.ravel": np.ravel,
    "np.transpose": np.transpose,
    "method_transpose": lambda a: a.transpose(1, 0),
    "np.expand_dims": lambda a: np.expand_dims(a, 1),
    "np.squeeze": lambda a: np.squeeze(a[:, :1]),
    "np.broadcast_to": lambda a: np.broadcast_to(a[0], (2, 4)),
    "np.flip": lambda a: np.flip(a, axis=0),
    "np.moveaxis": lambda a: np.moveaxis(a, 0, 1),
    "np.swapaxes": lambda a: np.swapaxes(a, 0, 1),
    "np.round": lambda a: np.round(a * 3),
    "np.round_halves": lambda a: np.round(np.floor(a * 4) / 2),
    "np.rint": lambda a: np.rint(np.floor(a * 4) / 2),
    "np.trace": lambda a: np.trace(a[:, :3]),
    "np.diag_vector": lambda a: np.diag(a[0]),
    "np.diag_matrix": lambda a: np.diag(a[:, :3]),
    "np.linalg.inv": lambda a: np.linalg.inv(a[:, :3] + 4 * np.eye(3)),
    "np.linalg.det": lambda a: np.linalg.det(a[:, :3] + 4 * np.eye(3)),
    "np.linalg.det_pivoting": lambda a: np.linalg.det(a[:, 1:]),
    "np.linalg.det_singular": lambda a: np.linalg.det(np.stack([a[0, :2], a[0, :2] * 2])),
    "np.linalg.solve_vec": lambda a: np.linalg.solve(a[:, :3] + 4 * np.eye(3), V4[:3]),
    "np.linalg.solve_mat": lambda a: np.linalg.solve(a[:, :3] + 4 * np.eye(3), a[:, 2:]),
    "np.linalg.cholesky": lambda a: np.linalg.cholesky(a @ a.T + np.eye(3)),
    # indexing
    "int": lambda a: a[1],
    "neg_int": lambda a: a[-1],
    "two_ints": lambda a: a[2, -3],
    "slice": lambda a: a[1:],
    "slice_cols": lambda a: a[:, 1],
    "step": lambda a: a[::2, ::-1],
    "ellipsis": lambda a: a[..., 2],
    "newaxis": lambda a: a[None],
    "newaxis_middle": lambda a: a[:, None, :],
    "list": lambda a: a[[0, 2]],
    "int_array": lambda a: a[np.array([2, 0, 0, 1])],
    "negative_array": lambda a: a[np.array([-1, 0, -3])],
    "cols_array": lambda a: a[:, np.array([3, 0, -1])],
    "two_arrays": lambda a: a[np.array([0, 2, 1]), np.array([1, 3, -1])],
    "array_and_int": lambda a: a[np.array([0, 2]), 1],
    "int_and_array": lambda a: a[1, np.array([0, 3, 3])],
    "array_2d": lambda a: a[np.array([[0, 1], [2, 2]])],
    "bool_mask": lambda a: a[np.array([True, False, True])],
    "slice_and_array": lambda a: a[1:, np.array([0, 2])],
}

SAME_3D: dict[str, Callable[[Any], Any]] = {
    "sum_axes": lambda a: np.sum(a, axis=(0, 2)),
    "transpose_axes": lambda a: np.transpose(a, (1, 0, 2)),
    "batched_matmul": lambda a: a @ M,
    "moveaxis": lambda a: np.moveaxis(a, -1, 0),
    "arrays_apart": lambda a: a[np.array([0, 1, 1]), :, np.array([3, 0, 2])],
    "arrays_adjacent": lambda a: a[:, np.array([2, 0]), np.array([1, 3])],
    "arrays_adjacent_2d": lambda a: a[:, np.array([[2, 0], [1, 1]]), np.array([1, 3])],
    "array_slice_array": lambda a: a[np.array([1, 0]), 1:, np.array([0, 2])],
    "ellipsis_array": lambda a: a[..., np.array([0, 0, 3])],
    "int_slice_array": lambda a: a[1, :, np.array([2, 1])],
    "keepdims_mean": lambda a: np.mean(a, axis=1, keepdims=True),
    "batched_det": lambda a: np.linalg.det(a[:, :, 1:]),
}


def _check(evaluate: Callable, fn: Callable, value: np.ndarray) -> None:
    x = ts.variable(dim=value.shape)
    expected = np.asarray(fn(value))
    lazy = fn(x)
    assert isinstance(lazy, Array)
    assert lazy.shape == expected.shape, "shape known at write time"
    got = evaluate(lazy, {x: value})
    assert got.shape == expected.shape
    np.testing.assert_allclose(got.astype(np.float64), expected.astype(np.float64),
                               rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("name", list(SAME))
def test_expression_matches_numpy(name: str, evaluate: Callable) -> None:
    _check(evaluate, SAME[name], X)


@pytest.mark.parametrize("name", list(SAME_3D))
def test_expression_matches_numpy_3d(name: str, evaluate: Callable) -> None:
    _check(evaluate, SAME_3D[name], X3)


def _expit(v: np.ndarray) -> np.ndarray:
    return sp.expit(v)


def _imultilogit(v: np.ndarray) -> np.ndarray:
    z = np.concatenate([v, np.zeros(v.shape[:-1] + (1,))], axis=-1)
    return sp.softmax(z, axis=-1)


# tfstats functions and their numpy / scipy counterparts
PAIRS: dict[str, tuple[Callable, Callable]] = {
    "ilogit": (ts.ilogit, _expit),
    "iprobit": (ts.iprobit, st.norm.cdf),
    "log1pe": (ts.log1pe, lambda v: np.log1p(np.exp(v))),
    "imultilogit": (ts.imultilogit, _imultilogit),
    "logsumexp": (ts.logsumexp, sp.logsumexp),
    "logsumexp_axis": (lambda a: ts.logsumexp(a, axis=1), lambda v: sp.logsumexp(v, axis=1)),
    "lgamma": (lambda a: ts.lgamma(a + 3), lambda v: sp.gammaln(v + 3)),
    "cholesky": (lambda a: ts.cholesky(a @ a.T + ts.diag(ts.ones(3))),
                 lambda v: np.linalg.cholesky(v @ v.T + np.eye(3))),
    "solve": (lambda a: ts.solve(a[:, :3] + 4 * np.eye(3), a[:, 3]),
              lambda v: np.linalg.solve(v[:, :3] + 4 * np.eye(3), v[:, 3])),
    "inverse": (lambda a: ts.inverse(a[:, 1:] + 4 * np.eye(3)),
                lambda v: np.linalg.inv(v[:, 1:] + 4 * np.eye(3))),
    "diag": (lambda a: ts.diag(a[1]), lambda v: np.diag(v[1])),
    "diag_part": (lambda a: ts.diag(a[:, :3]), lambda v: np.diag(v[:, :3])),
    "outer": (lambda a: ts.outer(a[0], a[:, 1]), lambda v: np.outer(v[0], v[:, 1])),
    "stack": (lambda a: ts.stack([a[0], a[1] * 2], axis=1),
              lambda v: np.stack([v[0], v[1] * 2], axis=1)),
    "concatenate": (lambda a: ts.concatenate([a, ts.zeros((1, 4))]),
                    lambda v: np.concatenate([v, np.zeros((1, 4))])),
    "where": (lambda a: ts.where(a > 0, a, ts.ones((3, 4))),
              lambda v: np.where(v > 0, v, 1.0)),
    "stack_scalars": (lambda a: ts.stack([a[0, 0], 1 - a[0, 0]]),
                      lambda v: np.array([v[0, 0], 1 - v[0, 0]])),
    "index_data_array": (lambda a: a[ts.as_data(np.array([2, 2, 0]))],
                         lambda v: v[np.array([2, 2, 0])]),
}


@pytest.mark.parametrize("name", list(PAIRS))
def test_function_matches_reference(name: str, evaluate: Callable) -> None:
    lazy_fn, reference = PAIRS[name]
    x = ts.variable(dim=X.shape)
    expected = np.asarray(reference(X))
    lazy = lazy_fn(x)
    assert lazy.shape == expected.shape
    np.testing.assert_allclose(evaluate(lazy, {x: X}), expected, rtol=1e-10, atol=1e-12)


def test_single_precision_evaluates_in_float32(evaluate: Callable) -> None:
    x = ts.variable(dim=X.shape)
    got = evaluate(np.exp(x) @ M, {x: X}, precision="single")
    assert got.dtype == np.float32
    np.testing.assert_allclose(got, np.exp(X) @ M, rtol=1e-5)


def test_kinds_follow_operands() -> None:
    x = ts.variable(dim=3)
    assert x.kind == "float"
    assert (x > 0).kind == "bool"
    idx = ts.as_data(np.array([0, 2]))
    assert idx.kind == "int"
    assert (idx + 1).kind == "int"
    assert (idx / 2).kind == "float"


def test_description() -> None:
    x = ts.normal(0, 1, dim=(3, 4))
    assert (x.ndim, x.size, len(x)) == (2, 12, 3)
    assert [r.shape for r in x] == [(4,)] * 3
    assert x.variables == frozenset({x})
    y = np.exp(x[0]) + ts.normal(0, 1)
    assert len(y.variables) == 2
    assert "shape=(4,)" in repr(y)


def test_no_truth_value_and_no_numpy_value() -> None:
    x = ts.normal(0, 1)
    with pytest.raises(TypeError, match="no truth value"):
        bool(x > 0)
    with pytest.raises(TypeError, match="has no value while the model is written"):
        np.asarray(x)
    with pytest.raises(TypeError, match="scalar"):
        len(x)


# --- errors at write time -----------------------------------------------------------------------

def test_shapes_that_do_not_broadcast_name_both() -> None:
    x = ts.normal(0, 1, dim=3)
    with pytest.raises(ts.ShapeError, match=r"\(3,\) and \(4,\) do not broadcast"):
        x + np.ones(4)
    with pytest.raises(ts.ShapeError, match=r"\(2, 3\).*\(4,\)"):
        np.maximum(ts.normal(0, 1, dim=(2, 3)), np.ones(4))
    with pytest.raises(ts.ShapeError, match=r"\(3, 2\) and \(3,\) are not aligned"):
        np.ones((3, 2)) @ x
    with pytest.raises(ts.ShapeError, match=r"\(2, 3\) and \(2, 2\) cannot be joined"):
        ts.concatenate([ts.normal(0, 1, dim=(2, 3)), np.ones((2, 2))])
    with pytest.raises(ts.ShapeError, match="reshape"):
        x.reshape(2, 2)
    with pytest.raises(ts.ShapeError, match="square"):
        ts.cholesky(ts.normal(0, 1, dim=(2, 3)))


@pytest.mark.parametrize("call, name", [
    (lambda a: np.sort(a), "np.sort"),
    (lambda a: np.fft.fft(a), "np.fft.fft"),
    (lambda a: np.linalg.eig(a), "np.linalg.eig"),
    (lambda a: np.median(a), "np.median"),
    (lambda a: np.add.reduce(a), "np.add.reduce"),
    (lambda a: np.sum(a, dtype=np.float32), "np.sum"),
])
def test_unsupported_numpy_function_is_named(call: Callable, name: str) -> None:
    x = ts.normal(0, 1, dim=(3, 3))
    with pytest.raises(TypeError, match=rf"{name.replace('.', '[.]')}\b.*not supported"):
        call(x)


def test_index_errors() -> None:
    x = ts.normal(0, 1, dim=(3, 4))
    with pytest.raises(IndexError, match="out of range"):
        x[3]
    with pytest.raises(IndexError, match="0-based"):
        x[np.array([0, 3])]
    with pytest.raises(IndexError, match="too many indices"):
        x[0, 0, 0]
    with pytest.raises(IndexError, match="integers"):
        x[np.array([0.5, 1.0])]
    with pytest.raises(IndexError, match="boolean index"):
        x[np.array([True, False])]
    import pandas as pd

    county = pd.Series(["a", "b", "a"], name="county")
    with pytest.raises(IndexError, match=r"index 'county' must hold integers, got dtype object; "
                                         r"to index by text labels, make it categorical"):
        x[county]
    assert x[county.astype("category")].shape == (3, 4)
    with pytest.raises(IndexError, match=r"index 'g' must hold integers, got dtype float64; it "
                                         r"has missing values"):
        x[pd.Series([0, None, 1], dtype="Int64", name="g")]


def test_a_data_frame_left_of_matmul_says_what_to_write() -> None:
    import pandas as pd

    frame = pd.DataFrame(np.ones((4, 3)), columns=["a", "b", "c"])
    beta = ts.normal(0, 1, dim=3)
    with pytest.raises(TypeError, match=r"ts.as_data\(frame\) @ x"):
        frame @ beta
    assert (ts.as_data(frame) @ beta).shape == (4,)
    with pytest.raises(TypeError, match=r"has no value while the model is written; use "
                                        r"ts.calculate\(\) to compute it, or numpy functions, "
                                        r"which stay lazy$"):
        np.asarray(beta)


def test_discrete_unknown_cannot_enter_an_expression() -> None:
    with pytest.raises(ts.ModelError, match="poisson as an unknown is not supported"):
        ts.poisson(3) + 1
    with pytest.raises(ts.ModelError, match="poisson as an unknown is not supported"):
        np.exp(ts.poisson(3.0, dim=2))
    with pytest.raises(ts.ModelError, match="negative_binomial is a discrete distribution"):
        ts.normal(ts.negative_binomial(3, 0.5), 1)


def test_every_expression_in_one_compiled_function() -> None:
    """The same expressions, as targets of one model, through a compiled (XLA) and
    vectorised function of a batch of two values."""
    from tfstats.backends import get_backend

    x = ts.variable(dim=X.shape)
    x3 = ts.variable(dim=X3.shape)
    ts.normal(np.sum(x) + np.sum(x3), 10.0, observed=0.0)
    targets = {f"a_{k}": fn(x) for k, fn in SAME.items()}
    targets.update({f"b_{k}": fn(x3) for k, fn in SAME_3D.items()})
    targets.update({f"c_{k}": fns[0](x) for k, fns in PAIRS.items()})
    m = ts.model(x=x, x3=x3, **targets)
    B = get_backend()
    flats = np.stack([np.concatenate([X.ravel(), X3.ravel()]),
                      np.concatenate([-X.ravel(), 2 * X3.ravel()])])
    out = B.to_numpy(m.constrain_function()(B.convert(flats, m.float_dtype), *m.data_tensors()))
    for row, (xv, x3v) in enumerate([(X, X3), (-X, 2 * X3)]):
        for name, fn in SAME.items():
            np.testing.assert_allclose(out[f"a_{name}"][row], fn(xv), rtol=1e-10, atol=1e-12,
                                       err_msg=name)
        for name, fn in SAME_3D.items():
            np.testing.assert_allclose(out[f"b_{name}"][row], fn(x3v), rtol=1e-10, atol=1e-12,
                                       err_msg=name)
        for name, (_, reference) in PAIRS.items():
            np.testing.assert_allclose(out[f"c_{name}"][row], reference(xv), rtol=1e-10,
                                       atol=1e-12, err_msg=name)


def test_gradients_match_finite_differences() -> None:
    """Every smooth float expression feeds a likelihood; the gradient of the log density
    with respect to the unknowns matches central differences."""
    from tfstats.backends import get_backend

    B = get_backend()
    rng = np.random.default_rng(9)
    x = ts.variable(dim=X.shape)
    x3 = ts.variable(dim=X3.shape)
    skip = {"floordiv", "mod", "np.floor", "np.ceil", "np.sign", "np.round", "np.round_halves",
            "np.rint", "abs", "np.absolute", "np.maximum", "np.minimum", "np.clip", "np.max",
            "np.min", "np.amax", "method_max", "method_min", "np.linalg.det_singular",
            "np.clip_below", "np.clip_above",
            "np.where_scalar"}
    expressions = [fn(x) for k, fn in SAME.items() if k not in skip]
    expressions += [fn(x3) for fn in SAME_3D.values()]
    expressions += [fns[0](x) for fns in PAIRS.values()]
    expressions = [e for e in expressions if e.kind == "float"]
    assert len(expressions) > 100
    for expression in expressions:
        ts.normal(expression, 3.0, observed=rng.normal(size=expression.shape))
    m = ts.model(x=x, x3=x3)
    data = m.data_tensors()

    def log_density(flat: np.ndarray) -> float:
        return float(B.to_numpy(m.log_density(B.convert(flat, m.float_dtype), data,
                                              adjust=False)))

    flat = np.concatenate([X.ravel(), X3.ravel()])
    _, gradient = B.value_and_gradient(
        lambda u: m.log_density(u, data, adjust=False), B.convert(flat, m.float_dtype))
    # directional derivatives along random directions, by central differences
    h = 1e-5
    for direction in rng.normal(size=(3, len(flat))):
        numeric = (log_density(flat + h * direction) - log_density(flat - h * direction)) / (
            2 * h)
        np.testing.assert_allclose(B.to_numpy(gradient) @ direction, numeric, rtol=1e-6)
