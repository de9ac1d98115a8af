"""Functions beside numpy's: inverse links, linear algebra, joining, and scan."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from tfstats.arrays import Array, ModelError, apply, as_array, reduction
from tfstats.graph import Evaluator, topological
from tfstats.operations import register

__all__ = [
    "ilogit", "iprobit", "log1pe", "imultilogit", "cholesky", "solve", "stack", "concatenate",
    "zeros", "ones", "scan", "where", "diag", "outer", "logsumexp", "lgamma", "inverse",
]


def ilogit(x: Any) -> Array:
    """Inverse logit: ``1 / (1 + exp(-x))``.

    Examples
    --------
    >>> import tfstats as ts
    >>> p = ts.ilogit(ts.normal(0, 1))
    """
    return apply("sigmoid", x)


def iprobit(x: Any) -> Array:
    """Inverse probit: the standard normal CDF."""
    return apply("ndtr", x)


def log1pe(x: Any) -> Array:
    """``log(1 + exp(x))``, computed stably (softplus)."""
    return apply("softplus", x)


def imultilogit(x: Any) -> Array:
    """Inverse multilogit: appends a zero column and applies softmax over the last axis,
    so a (n, K-1) array gives (n, K) probabilities."""
    return apply("imultilogit", x)


def cholesky(x: Any) -> Array:
    """The lower-triangular Cholesky factor of a positive definite matrix."""
    return apply("cholesky", x)


def solve(a: Any, b: Any) -> Array:
    """Solve ``a @ x = b`` for ``x``."""
    return apply("solve", a, b)


def inverse(a: Any) -> Array:
    """The matrix inverse."""
    return apply("inverse", a)


def diag(x: Any) -> Array:
    """A diagonal matrix from a vector, or the diagonal of a matrix."""
    return apply("diag", x)


def outer(a: Any, b: Any) -> Array:
    """The outer product of two vectors."""
    return apply("outer", a, b)


def stack(arrays: Sequence[Any], axis: int = 0) -> Array:
    """Stack arrays along a new axis (like ``np.stack``).

    Examples
    --------
    >>> import tfstats as ts
    >>> t = ts.uniform(0, 1)
    >>> ts.stack([t, 1 - t]).shape
    (2,)
    """
    return apply("stack", *arrays, axis=int(axis))


def concatenate(arrays: Sequence[Any], axis: int = 0) -> Array:
    """Join arrays along an existing axis (like ``np.concatenate``)."""
    return apply("concatenate", *arrays, axis=int(axis))


def where(condition: Any, x: Any, y: Any) -> Array:
    """Elementwise ``x`` where ``condition`` holds, else ``y``."""
    return apply("where", condition, x, y)


def logsumexp(x: Any, axis: Any = None, keepdims: bool = False) -> Array:
    """``log(sum(exp(x)))``, computed stably."""
    return reduction("logsumexp", x, axis, keepdims)


def lgamma(x: Any) -> Array:
    """The log of the absolute gamma function."""
    return apply("lgamma", x)


def zeros(dim: Any) -> Array:
    """A data array of zeros with shape ``dim``."""
    return as_array(np.zeros(dim))


def ones(dim: Any) -> Array:
    """A data array of ones with shape ``dim``."""
    return as_array(np.ones(dim))


# --- scan ------------------------------------------------------------------------------------

def _scan_evaluate(ctx: Any, xs: Any, initial: Any, *captured_values: Any, body: Array,
                   carry: Array, x: Array, captured: tuple[Array, ...]) -> Any:
    outer_values = dict(zip(captured, captured_values, strict=True))

    def step(previous: Any, current: Any) -> Any:
        inner = Evaluator(ctx.B, ctx.float, {carry: previous, x: current, **outer_values})
        return inner.to_float(inner(body))

    return ctx.B.scan(step, ctx.to_float(xs), ctx.to_float(initial))


register("scan", _scan_evaluate, lambda xs, initial, *rest, **_: (xs[0], *initial),
         lambda *kinds: "float")
register("placeholder", lambda ctx: None, lambda: (), lambda: "float")


def scan(fn: Callable[[Array, Array], Any], xs: Any, initial: Any) -> Array:
    """A recursion: ``out[0] = fn(initial, xs[0])`` and ``out[t] = fn(out[t-1], xs[t])``.

    ``fn`` is written with tfstats arrays (and numpy functions) like any model code; it
    is traced once and runs as one backend loop.

    Parameters
    ----------
    fn : callable
        ``fn(previous, x_t) -> next``, with ``next`` of the shape of ``initial``.
    xs : array or Array
        The sequence, scanned along its first axis.
    initial : array or Array
        The state before the first step.

    Returns
    -------
    Array
        Shape ``(len(xs), *initial.shape)``.

    Examples
    --------
    >>> import numpy as np, tfstats as ts
    >>> rho = ts.uniform(-1, 1)
    >>> ar = ts.scan(lambda prev, e: rho * prev + e, np.ones(5), 0.0)
    >>> ar.shape
    (5,)
    """
    xs, initial = as_array(xs, name="scan xs"), as_array(initial, name="scan initial")
    if not xs.shape:
        raise ModelError("scan: xs must have a leading (time) axis")
    carry = Array("placeholder", (), {}, initial.shape, "float", name="previous")
    x = Array("placeholder", (), {}, xs.shape[1:], "float", name="x_t")
    body = as_array(fn(carry, x))
    if body.shape != initial.shape:
        raise ModelError(f"scan: fn returned shape {body.shape}, but the state (initial) has "
                         f"shape {initial.shape}")
    dependent: set[int] = {id(carry), id(x)}
    captured: list[Array] = []
    for node in topological([body]):
        if id(node) in dependent:
            continue
        if any(id(p) in dependent for p in node.parents):
            dependent.add(id(node))
            for parent in node.parents:
                if id(parent) not in dependent and all(parent is not c for c in captured):
                    captured.append(parent)
    if id(body) not in dependent:
        raise ModelError("scan: fn does not use its previous state or x_t")
    return Array("scan", (xs, initial, *captured), {"body": body, "carry": carry, "x": x,
                                                     "captured": tuple(captured)},
                 (xs.shape[0], *initial.shape), "float")
