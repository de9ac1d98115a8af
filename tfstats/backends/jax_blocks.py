"""A sum over the rows of data, with its gradient, in one pass over blocks of rows (JAX).

``row_block_sum(block, params, rows, fixed, block_rows)`` is
``sum_k block(params, rows[k-th block of rows], fixed)[0]``, whose gradient in ``params``
is the sum of the blocks' own gradients (``block`` returns both). The blocks run in one
``lax.fori_loop`` (the rows left over in a last, shorter block), so each block of the data
is read once for the value and the gradient while it is in the cache, where automatic
differentiation of the same sum reads the data twice (the products with the data
forward, then their transposes backward). ``jax.custom_vjp`` hands the gradient summed in
that pass to JAX's differentiation; under ``vmap`` (vectorised chains) each block is read
once for all chains. As with any ``custom_vjp``, the sum has reverse-mode derivatives only
(first order: what the samplers, optimisers and VI take). Used by
``tfstats/blocked_glm.py``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy
from jax import lax

from tfstats.backends.row_schedule import row_block_schedule

__all__ = ["row_block_sum"]


def row_block_sum(block: Callable, params: tuple, rows: tuple, fixed: tuple,
                  block_rows: int, parts: int = 1) -> Any:
    """The summed value of ``block`` over blocks of ``block_rows`` rows of ``rows``.

    Parameters
    ----------
    block : callable
        ``block(params, rows_of_block, fixed) -> (value, gradients)``: a scalar and one
        gradient per item of ``params`` (same shapes and dtypes).
    params : tuple of arrays
        The arguments differentiated (small: coefficients, an intercept).
    rows : tuple of arrays
        Data with the rows on the leading axis (all of the same length).
    fixed : tuple of arrays
        Data used whole by every block.
    block_rows : int
        Rows per block.
    parts : int
        Shares of the rows summed side by side in each iteration of the loop, as
        ``row_schedule.row_block_schedule`` lays them out: the same sum in another order.

    Examples
    --------
    >>> import jax, jax.numpy as jnp
    >>> x = jnp.arange(10.0)
    >>> def block(params, rows, fixed):
    ...     (w,), (xb,) = params, rows
    ...     return jnp.sum(w * xb), (jnp.sum(xb),)
    >>> float(jax.grad(lambda w: row_block_sum(block, (w,), (x,), (), 4))(2.0))
    45.0
    """

    @jax.custom_vjp
    def total(params: tuple, rows: tuple, fixed: tuple) -> Any:
        return _sweep(block, params, rows, fixed, block_rows, parts)[0]

    def forward(params: tuple, rows: tuple, fixed: tuple) -> tuple:
        value, gradients = _sweep(block, params, rows, fixed, block_rows, parts)
        return value, (gradients, rows, fixed)

    def backward(saved: tuple, upstream: Any) -> tuple:
        gradients, rows, fixed = saved
        return (tuple(upstream * g for g in gradients), tuple(map(_zero, rows)),
                tuple(map(_zero, fixed)))

    total.defvjp(forward, backward)
    return total(tuple(params), tuple(rows), tuple(fixed))


def _sweep(block: Callable, params: tuple, rows: tuple, fixed: tuple,
           block_rows: int, parts: int = 1) -> tuple[Any, tuple]:
    """(value, gradients) summed over the blocks, in one loop (``parts`` blocks an
    iteration)."""
    stride, parts, outside = row_block_schedule(rows[0].shape[0], block_rows, parts)

    def at(start: Any, size: int) -> tuple:
        return block(params, tuple(lax.dynamic_slice_in_dim(r, start, size) for r in rows),
                     fixed)

    def plus(sums: tuple, *shares: tuple) -> tuple:
        return (sum((v for v, _ in shares), sums[0]),
                tuple(sum(rest, first) for first, *rest in zip(sums[1], *(g for _, g in shares),
                                                               strict=True)))

    sums = (jnp.zeros((), _dtype(params)), tuple(jnp.zeros_like(p) for p in params))
    for start, size in outside:
        sums = plus(sums, at(start, size))
    if stride:
        def body(k: Any, carry: tuple) -> tuple:
            return plus(carry, *(at((k + p * stride) * block_rows, block_rows)
                                 for p in range(parts)))

        sums = lax.fori_loop(0, stride, body, sums)
    return sums


def _dtype(params: tuple) -> Any:
    return jnp.result_type(*params) if params else jnp.float64


def _zero(x: Any) -> Any:
    """The zero cotangent of a data argument (float0 for integers, as JAX wants)."""
    if jnp.issubdtype(x.dtype, jnp.inexact):
        return jnp.zeros_like(x)
    return numpy.zeros(x.shape, dtype=jax.dtypes.float0)
