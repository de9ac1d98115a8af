"""The operation catalogue: for each op, its shape rule and how a backend evaluates it.

An op's ``evaluate(ctx, *values, **params)`` gets backend tensors and the static
parameters recorded when the expression was written; ``ctx.B`` is the backend module and
``ctx.float`` the model's float dtype. ``shape(*shapes, **params)`` returns the result
shape (raising a ``ShapeError`` that names both shapes), and ``kind`` the result kind
("float", "int" or "bool") from the operand kinds.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["normalise_axis", "Op", "OPS", "ShapeError", "broadcast_shapes", "UFUNC_OPS", "register"]


class ShapeError(ValueError):
    """Shapes that do not fit together."""


@dataclass(frozen=True)
class Op:
    name: str
    evaluate: Callable[..., Any]
    shape: Callable[..., tuple[int, ...]]
    kind: Callable[..., str]
    elementwise: bool = False  # value and shape follow the broadcast operands, per element


OPS: dict[str, Op] = {}


def broadcast_shapes(*shapes: tuple[int, ...], what: str = "operation") -> tuple[int, ...]:
    try:
        return tuple(np.broadcast_shapes(*shapes))
    except ValueError:
        listed = " and ".join(str(tuple(s)) for s in shapes)
        raise ShapeError(f"{what}: shapes {listed} do not broadcast together") from None


def _float_kind(*kinds: str) -> str:
    return "float"


def _arith_kind(*kinds: str) -> str:
    return "float" if "float" in kinds else "int"


def _bool_kind(*kinds: str) -> str:
    return "bool"


def _same_kind(kind: str, *rest: str) -> str:
    return kind


def register(name: str, evaluate: Callable, shape: Callable, kind: Callable,
             elementwise: bool = False) -> None:
    """Add an op to the catalogue."""
    OPS[name] = Op(name, evaluate, shape, kind, elementwise)


_register = register


def _elementwise_shape(name: str) -> Callable:
    return lambda *shapes, **_: broadcast_shapes(*shapes, what=name)


# --- elementwise ---------------------------------------------------------------------------

def _float_args(ctx: Any, values: tuple) -> list:
    return [ctx.to_float(v) for v in values]


def _unary(name: str, fn: Callable[[Any, Any], Any], kind: Callable = _float_kind) -> None:
    def evaluate(ctx: Any, x: Any) -> Any:
        return fn(ctx.B, ctx.to_float(x) if kind is _float_kind else x)

    _register(name, evaluate, lambda s, **_: s, kind, elementwise=True)


for _name in ["exp", "log", "log1p", "expm1", "sqrt", "square", "sin", "cos", "tan", "arcsin",
              "arccos", "arctan", "sinh", "cosh", "tanh", "arcsinh", "arccosh", "arctanh",
              "floor", "ceil", "reciprocal", "log2", "log10", "exp2", "cbrt"]:
    _unary(_name, lambda B, x, _n=_name: getattr(B.np, _n)(x))


def _rint(B: Any, x: Any) -> Any:
    """Round half to even, as numpy does (TF's numpy module has no working round)."""
    low = B.np.floor(x)
    rest = x - low
    odd = B.np.equal(B.np.mod(low, 2.0), 1.0)
    up = B.np.logical_or(B.np.greater(rest, 0.5),
                         B.np.logical_and(B.np.equal(rest, 0.5), odd))
    return B.np.where(up, low + 1.0, low)


_unary("rint", _rint)
_unary("abs", lambda B, x: B.np.abs(x), _same_kind)
_unary("negative", lambda B, x: B.np.negative(x), _same_kind)
_unary("sign", lambda B, x: B.np.sign(x), _same_kind)
_unary("logical_not", lambda B, x: B.np.logical_not(x), _bool_kind)
_unary("isfinite", lambda B, x: B.np.isfinite(x), _bool_kind)
for _name in ["lgamma", "digamma", "erf", "erfc", "sigmoid", "log_sigmoid", "softplus",
              "ndtr", "log_ndtr", "ndtri"]:
    _unary(_name, lambda B, x, _n=_name: getattr(B.special, _n)(x))


def _binary(name: str, fn: Callable, kind: Callable = _arith_kind) -> None:
    def evaluate(ctx: Any, a: Any, b: Any, **_: Any) -> Any:
        if kind is _float_kind or (kind is _arith_kind and ctx.any_float(a, b)):
            a, b = ctx.to_float(a), ctx.to_float(b)
        elif kind is _bool_kind and ctx.any_float(a, b):
            a, b = ctx.to_float(a), ctx.to_float(b)
        return fn(ctx.B, a, b)

    _register(name, evaluate, _elementwise_shape(name), kind, elementwise=True)


for _name in ["add", "subtract", "multiply", "maximum", "minimum", "mod", "floor_divide"]:
    _binary(_name, lambda B, a, b, _n=_name: getattr(B.np, _n)(a, b))
_binary("power", lambda B, a, b: B.np.power(a, b))
for _name in ["true_divide", "arctan2", "hypot"]:
    _binary(_name, lambda B, a, b, _n=_name: getattr(B.np, _n)(a, b), _float_kind)


def _logaddexp(B: Any, a: Any, b: Any) -> Any:
    """``log(exp(a) + exp(b))`` with the right gradient (1/2, 1/2) where ``a == b``
    (TF's numpy version gives (1, 0) there)."""
    delta = a - b
    sp = B.special.softplus
    out = B.np.where(B.np.greater(delta, 0.0), a + sp(-delta), b + sp(delta))
    return B.np.where(B.np.isnan(delta), a + b, out)  # infinities of the same sign


_binary("logaddexp", _logaddexp, _float_kind)
for _name in ["equal", "not_equal", "less", "less_equal", "greater", "greater_equal",
              "logical_and", "logical_or", "logical_xor"]:
    _binary(_name, lambda B, a, b, _n=_name: getattr(B.np, _n)(a, b), _bool_kind)


def _where(ctx: Any, condition: Any, a: Any, b: Any) -> Any:
    if ctx.any_float(a, b):
        a, b = ctx.to_float(a), ctx.to_float(b)
    return ctx.B.np.where(ctx.B.cast(condition, bool), a, b)


_register("where", _where, _elementwise_shape("where"), lambda c, a, b: _arith_kind(a, b),
          elementwise=True)


def _clip(ctx: Any, x: Any, low: Any, high: Any) -> Any:
    x, low, high = _float_args(ctx, (x, low, high))
    return ctx.B.np.minimum(ctx.B.np.maximum(x, low), high)


_register("clip", _clip, _elementwise_shape("clip"), _float_kind, elementwise=True)
_register("cast_float", lambda ctx, x: ctx.to_float(x), lambda s: s, _float_kind,
          elementwise=True)


# --- reductions ----------------------------------------------------------------------------

def normalise_axis(axis: Any, ndim: int) -> tuple[int, ...] | None:
    if axis is None:
        return None
    axes = (axis,) if np.isscalar(axis) else tuple(axis)
    out = []
    for a in axes:
        a = int(a)
        if not -ndim <= a < ndim:
            raise ShapeError(f"axis {a} is out of range for an array of {ndim} dimensions")
        out.append(a % ndim)
    return tuple(sorted(set(out)))


def _reduced_shape(shape: tuple[int, ...], axis: Any = None, keepdims: bool = False,
                   **_: Any) -> tuple[int, ...]:
    axes = normalise_axis(axis, len(shape))
    axes = tuple(range(len(shape))) if axes is None else axes
    if keepdims:
        return tuple(1 if i in axes else n for i, n in enumerate(shape))
    return tuple(n for i, n in enumerate(shape) if i not in axes)


def _reduction(name: str, fn: Callable, kind: Callable = _float_kind) -> None:
    def evaluate(ctx: Any, x: Any, axis: Any = None, keepdims: bool = False) -> Any:
        if kind is _float_kind:
            x = ctx.to_float(x)
        return fn(ctx.B, x, axis, keepdims)

    _register(name, evaluate, _reduced_shape, kind)


for _name in ["sum", "prod", "mean", "max", "min", "std", "var"]:
    _reduction(_name, lambda B, x, axis, keepdims, _n=_name: getattr(B.np, _n)(
        x, axis=axis, keepdims=keepdims))
_reduction("logsumexp", lambda B, x, axis, keepdims: B.special.logsumexp(
    x, axis=axis, keepdims=keepdims))
for _name in ["all", "any"]:
    _reduction(_name, lambda B, x, axis, keepdims, _n=_name: getattr(B.np, _n)(
        B.cast(x, bool), axis=axis, keepdims=keepdims), _bool_kind)


def _cumulative(name: str) -> None:
    def evaluate(ctx: Any, x: Any, axis: int | None = None) -> Any:
        x = ctx.to_float(x)
        if axis is None:
            return getattr(ctx.B.np, name)(ctx.B.np.reshape(x, (-1,)), axis=0)
        return getattr(ctx.B.np, name)(x, axis=axis)

    def shape(s: tuple[int, ...], axis: int | None = None) -> tuple[int, ...]:
        return (int(np.prod(s)),) if axis is None else s

    _register(name, evaluate, shape, _float_kind)


_cumulative("cumsum")
_cumulative("cumprod")


# --- shapes --------------------------------------------------------------------------------

def _view(shape: tuple[int, ...]) -> np.ndarray:
    """A zero-memory stand-in with ``shape`` for numpy to work out result shapes."""
    return np.broadcast_to(np.zeros((), dtype=np.int8), shape)


def _numpy_shape(fn: Callable) -> Callable:
    def shape(*shapes: tuple[int, ...], **params: Any) -> tuple[int, ...]:
        try:
            return tuple(fn(*(_view(s) for s in shapes), **params).shape)
        except (ValueError, IndexError, TypeError) as error:
            listed = ", ".join(str(s) for s in shapes)
            raise ShapeError(f"{error} (shapes {listed})") from None

    return shape


_register("reshape", lambda ctx, x, newshape: ctx.B.np.reshape(x, newshape),
          _numpy_shape(lambda x, newshape: np.reshape(x, newshape)), _same_kind)
_register("transpose", lambda ctx, x, axes=None: ctx.B.np.transpose(x, axes),
          _numpy_shape(lambda x, axes=None: np.transpose(x, axes)), _same_kind)
_register("expand_dims", lambda ctx, x, axis: ctx.B.np.expand_dims(x, axis),
          _numpy_shape(lambda x, axis: np.expand_dims(x, axis)), _same_kind)
_register("squeeze", lambda ctx, x, axis=None: ctx.B.np.squeeze(x, axis),
          _numpy_shape(lambda x, axis=None: np.squeeze(x, axis)), _same_kind)
_register("broadcast_to", lambda ctx, x, shape: ctx.B.np.broadcast_to(x, shape),
          _numpy_shape(lambda x, shape: np.broadcast_to(x, shape)), _same_kind)
_register("flip", lambda ctx, x, axis=None: ctx.B.np.flip(x, axis),
          _numpy_shape(lambda x, axis=None: np.flip(x, axis)), _same_kind)
_register("moveaxis", lambda ctx, x, source, destination: ctx.B.np.moveaxis(
    x, source, destination), _numpy_shape(lambda x, source, destination: np.moveaxis(
        x, source, destination)), _same_kind)


def _joined(name: str) -> None:
    def evaluate(ctx: Any, *xs: Any, axis: int = 0) -> Any:
        if ctx.any_float(*xs):
            xs = tuple(ctx.to_float(x) for x in xs)
        return getattr(ctx.B.np, name)(list(xs), axis=axis)

    def shape(*shapes: tuple[int, ...], axis: int = 0) -> tuple[int, ...]:
        try:
            return tuple(getattr(np, name)([_view(s) for s in shapes], axis=axis).shape)
        except ValueError:
            listed = " and ".join(str(s) for s in shapes)
            raise ShapeError(f"{name}: shapes {listed} cannot be joined on axis {axis}") from None

    _register(name, evaluate, shape, _arith_kind)


_joined("concatenate")
_joined("stack")


# --- indexing ------------------------------------------------------------------------------

def _getitem(ctx: Any, x: Any, *index_values: Any, basic: tuple, advanced: tuple) -> Any:
    """``basic`` holds ints/slices/None/Ellipsis; ``advanced`` maps (position in the index
    after the basic step, operand number) for integer-array indices."""
    gathered = {axis: ctx.B.cast(index_values[k], ctx.B.int_dtype()) for axis, k in advanced}
    return ctx.B.getitem(x, basic, gathered)


def _getitem_shape(shape: tuple[int, ...], *index_shapes: tuple[int, ...], basic: tuple,
                   advanced: tuple) -> tuple[int, ...]:
    out = _view(shape)[basic] if basic else _view(shape)
    if not advanced:
        return tuple(out.shape)
    index = [slice(None)] * out.ndim
    for axis, k in advanced:
        index[axis] = np.zeros(index_shapes[k], dtype=np.intp)
    return tuple(out[tuple(index)].shape)


_register("getitem", _getitem, _getitem_shape, _same_kind)


# --- linear algebra ------------------------------------------------------------------------

def _matmul_shape(a: tuple[int, ...], b: tuple[int, ...]) -> tuple[int, ...]:
    if not a or not b:
        raise ShapeError(f"matmul: operands must have at least one dimension, got {a} and {b}")
    if a[-1] != (b[0] if len(b) == 1 else b[-2]):
        raise ShapeError(f"matmul: shapes {a} and {b} are not aligned "
                         f"({a[-1]} != {b[0] if len(b) == 1 else b[-2]})")
    return _numpy_shape(np.matmul)(a, b)


def _matmul(ctx: Any, a: Any, b: Any) -> Any:
    a, b = ctx.to_float(a), ctx.to_float(b)
    if len(b.shape) == 1 and len(a.shape) >= 2:
        return ctx.B.linalg.matvec(a, b)
    return ctx.B.np.matmul(a, b)


_register("matmul", _matmul, _matmul_shape, _float_kind)


def _square_shape(name: str) -> Callable:
    def shape(s: tuple[int, ...]) -> tuple[int, ...]:
        if len(s) < 2 or s[-1] != s[-2]:
            raise ShapeError(f"{name} needs square matrices, got shape {s}")
        return s

    return shape


_register("cholesky", lambda ctx, x: ctx.B.linalg.cholesky(ctx.to_float(x)),
          _square_shape("cholesky"), _float_kind)
_register("inverse", lambda ctx, x: ctx.B.linalg.inv(ctx.to_float(x)),
          _square_shape("inverse"), _float_kind)


def _det(ctx: Any, x: Any) -> Any:
    """Gaussian elimination with partial pivoting, unrolled over the (static) size: XLA
    has no kernel for TF's determinant (nor LU), so this keeps ``det`` compilable."""
    B = ctx.B
    u = ctx.to_float(x)
    n = int(u.shape[-1])
    sign = B.np.ones_like(u[..., 0, 0])
    positions = B.np.arange(n)
    for k in range(n - 1):
        pivot_row = B.np.argmax(B.np.abs(u[..., k:, k]), axis=-1) + k
        to_k = B.cast(B.np.equal(positions, k), u.dtype)
        to_p = B.cast(B.np.equal(positions, pivot_row[..., None]), u.dtype)
        row_k = u[..., k, :]
        row_p = B.np.sum(u * to_p[..., :, None], axis=-2)
        u = (u + to_k[..., :, None] * (row_p - row_k)[..., None, :]
             + to_p[..., :, None] * (row_k - row_p)[..., None, :])  # swap rows k and p
        sign = B.np.where(B.np.equal(pivot_row, k), sign, -sign)
        pivot = u[..., k, k]
        safe = B.np.where(B.np.equal(pivot, 0.0), B.np.ones_like(pivot), pivot)
        factors = u[..., k + 1:, k] / safe[..., None]
        below = u[..., k + 1:, :] - factors[..., :, None] * u[..., k:k + 1, :]
        u = B.np.concatenate([u[..., :k + 1, :], below], axis=-2)
    return sign * B.np.prod(B.linalg.diag_part(u), axis=-1)


_register("det", _det, lambda s: _square_shape("det")(s)[:-2], _float_kind)
_register("logdet", lambda ctx, x: ctx.B.np.log(ctx.B.np.abs(_det(ctx, x))),
          lambda s: _square_shape("logdet")(s)[:-2], _float_kind)


def _solve(ctx: Any, a: Any, b: Any) -> Any:
    a, b = ctx.to_float(a), ctx.to_float(b)
    if len(b.shape) == len(a.shape) - 1:
        return ctx.B.linalg.solve(a, b[..., None])[..., 0]
    return ctx.B.linalg.solve(a, b)


def _solve_shape(a: tuple[int, ...], b: tuple[int, ...]) -> tuple[int, ...]:
    _square_shape("solve")(a)
    if b[-1 if len(b) == len(a) - 1 else -2] != a[-1]:
        raise ShapeError(f"solve: shapes {a} and {b} are not aligned")
    return b


_register("solve", _solve, _solve_shape, _float_kind)


def _diag(ctx: Any, x: Any) -> Any:
    return ctx.B.linalg.diag(x) if len(x.shape) == 1 else ctx.B.linalg.diag_part(x)


def _diag_shape(s: tuple[int, ...]) -> tuple[int, ...]:
    if len(s) == 1:
        return (s[0], s[0])
    if len(s) == 2:
        return (min(s),)
    raise ShapeError(f"diag needs a vector or a matrix, got shape {s}")


_register("diag", _diag, _diag_shape, _same_kind)
_register("outer", lambda ctx, a, b: ctx.B.np.outer(ctx.to_float(a), ctx.to_float(b)),
          lambda a, b: (int(np.prod(a)), int(np.prod(b))), _float_kind)
_register("trace", lambda ctx, x: ctx.B.np.trace(ctx.to_float(x)),
          _numpy_shape(np.trace), _float_kind)


def _imultilogit(ctx: Any, x: Any) -> Any:
    x = ctx.to_float(x)
    zeros = ctx.B.np.zeros_like(x[..., :1])
    return ctx.B.special.softmax(ctx.B.np.concatenate([x, zeros], axis=-1), axis=-1)


_register("imultilogit", _imultilogit, lambda s: s[:-1] + (s[-1] + 1,), _float_kind)
_register("softmax", lambda ctx, x, axis=-1: ctx.B.special.softmax(ctx.to_float(x), axis=axis),
          lambda s, axis=-1: s, _float_kind)


# --- numpy names -> ops --------------------------------------------------------------------

UFUNC_OPS: dict[str, str] = {
    **{n: n for n in ["exp", "log", "log1p", "expm1", "sqrt", "square", "sin", "cos", "tan",
                      "arcsin", "arccos", "arctan", "sinh", "cosh", "tanh", "arcsinh",
                      "arccosh", "arctanh", "floor", "ceil", "reciprocal", "log2", "log10",
                      "exp2", "cbrt", "rint", "negative", "sign", "logical_not", "isfinite",
                      "add", "subtract", "multiply", "true_divide", "maximum", "minimum",
                      "power", "mod", "floor_divide", "arctan2", "logaddexp", "hypot", "equal",
                      "not_equal", "less", "less_equal", "greater", "greater_equal",
                      "logical_and", "logical_or", "logical_xor", "matmul"]},
    "absolute": "abs", "divide": "true_divide", "fabs": "abs", "fmax": "maximum",
    "fmin": "minimum", "remainder": "mod", "float_power": "power",
}
