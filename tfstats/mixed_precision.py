"""Mixed precision (``precision="mixed"``, the CPU default): float64 models whose
data-sized work runs in float32.

Large float data arrays (at least ``LARGE`` elements) are passed to compiled functions in
float32, and the elementwise operations, matrix products and density terms of at least
``LARGE`` elements computed from them run in float32. Everything else stays float64: the
unknowns, every array smaller than ``LARGE`` (parameters, their transformations, the
results of matrix products with few rows), the sums of density terms (each term is cast
to float64 before it is summed), reductions, and the sampler's state and arithmetic. On a
logistic regression with 100,000 rows that is most of float32's speed with float64 sums
(``docs/performance_mcmc.md``).

A model uses float32 data only when every large float data array survives the rounding:
float32 must keep each column (each array, if one-dimensional) within
``ROUNDING * sd`` of its float64 values (data that float32 holds exactly, such as counts
and indicators, always pass). Data that float32 would blur, such as values near 10**6
that vary by 10, keep the whole model in float64.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

from tfstats.arrays import Array, Data

__all__ = ["LARGE", "ROUNDING", "FAST_OPS", "single_data", "fits_single", "compute"]

LARGE = 2**14  # elements: arrays at least this big are "data-sized"
ROUNDING = 1e-5  # float32 rounding allowed, relative to each column's sd

# ops that may run in float32 on data-sized arrays (the rest get float64 operands)
FAST_OPS = frozenset([
    "exp", "log", "log1p", "expm1", "sqrt", "square", "sin", "cos", "tan", "arcsin", "arccos",
    "arctan", "sinh", "cosh", "tanh", "arcsinh", "arccosh", "arctanh", "reciprocal", "log2",
    "log10", "exp2", "cbrt", "abs", "negative", "lgamma", "digamma", "erf", "erfc",
    "sigmoid", "log_sigmoid", "softplus", "ndtr", "log_ndtr", "add", "subtract", "multiply",
    "true_divide", "maximum", "minimum", "power", "logaddexp", "where", "clip", "cast_float",
    "matmul", "reshape", "transpose", "expand_dims", "squeeze", "broadcast_to", "flip",
    "moveaxis", "getitem",
])


def fits_single(value: np.ndarray) -> bool:
    """Whether float32 keeps ``value`` within ``ROUNDING`` sd of itself, per column.

    Examples
    --------
    >>> import numpy as np
    >>> fits_single(np.random.default_rng(0).normal(size=(100, 3)))
    True
    >>> fits_single(1e6 + np.arange(100.0) / 10)
    False
    """
    x = np.asarray(value, dtype=np.float64)
    with np.errstate(over="ignore", invalid="ignore"):
        error = np.abs(x.astype(np.float32).astype(np.float64) - x)
    if x.ndim >= 2:
        error, spread = error.max(axis=0), x.std(axis=0)
    else:
        error, spread = error.max(), x.std()
    return bool(np.all(np.isfinite(error)) and np.all(error <= ROUNDING * spread))


def single_data(precision: str, data_nodes: Iterable[Data]) -> frozenset[int]:
    """Positions in ``data_nodes`` of the arrays passed in float32: none unless
    ``precision`` is "mixed" and every large float data array ``fits_single``."""
    if precision != "mixed":
        return frozenset()
    large = {i: n for i, n in enumerate(data_nodes)
             if n.value.size >= LARGE and np.issubdtype(n.value.dtype, np.floating)
             and not n.mutable and type(n) is Data}
    if not all(fits_single(n.value) for n in large.values()):
        return frozenset()
    return frozenset(large)


def is_single(ev: Any, value: Any) -> bool:
    """Whether a tensor of evaluator ``ev`` holds float32 data-sized values."""
    return ev.single is not None and getattr(value, "dtype", None) == ev.single


def compute(ev: Any, node: Array, evaluate: Any, values: list[Any]) -> Any:
    """``evaluate(ev, *values)`` of op ``node``, in float32 when the op is in ``FAST_OPS``,
    an operand holds float32 data and the result is data-sized (a matrix product whose
    result is smaller is computed in float32 too); otherwise the float32 operands are
    cast to float64 first. Results smaller than ``LARGE`` are float64."""
    if not any(is_single(ev, v) for v in values):
        return evaluate(ev, *values)
    precise = ev.float
    if node.op in FAST_OPS and (node.size >= LARGE or node.op == "matmul"):
        ev.float = ev.single
        try:
            out = evaluate(ev, *values)
        finally:
            ev.float = precise
        return out if node.size >= LARGE else ev.B.cast(out, precise)
    return evaluate(ev, *(ev.B.cast(v, precise) if is_single(ev, v) else v for v in values))
