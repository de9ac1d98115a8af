"""Sums over the rows of data in one pass over blocks of rows, for all chains at once
(TensorFlow).

On JAX a sum over row blocks sits inside each chain's log density (``jax_blocks.py``) and
``vmap`` batches it over the chains. TensorFlow's vectorised map (``pfor``) cannot: a
``tf.while_loop`` over blocks inside ``pfor`` does not compile under XLA, and unrolled
blocks cost more CPU than they save. Here the chain axis is explicit instead, and the
batched value and gradient of a log density is built in three stages:

1. ``params``, per chain (vectorised, forward only): the unknowns the row sums are
   differentiated in (coefficients, an intercept), from each chain's unconstrained vector;
2. ``sweep``, once for all chains, no ``pfor``: one ``tf.while_loop`` over blocks of rows
   that reads each block once and returns, per chain, the summed value and its gradient in
   those unknowns (:func:`row_block_sweep`);
3. ``density``, per chain (vectorised): the rest of the log density plus, for the row
   sums, the sweep's value and the linear surrogate ``sum(params(u) * stop_gradient(g))``
   whose gradient is the exact chain rule through ``params``.

Used by ``tfstats/inference/batched_density.py`` for ``tfstats/blocked_glm.py``'s terms.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import tensorflow as tf

from tfstats.backends.row_schedule import row_block_schedule
from tfstats.backends.tensorflow import value_and_gradient

__all__ = ["row_block_sweep", "staged_value_and_gradient"]


def row_block_sweep(block: Callable, params: tuple, rows: tuple, fixed: tuple,
                    block_rows: int, parts: int = 1) -> tuple[Any, tuple]:
    """``(value, gradients)`` of ``block`` summed over blocks of ``block_rows`` rows.

    Parameters
    ----------
    block : callable
        ``block(params, rows_of_block, fixed) -> (value, gradients)``, with the chains on
        the leading axis of ``params``, ``value`` and each of ``gradients`` (the value in
        the params' dtype, each gradient of its param's shape and dtype).
    params : tuple of tensors
        Per chain: (C, ...) each.
    rows : tuple of tensors
        Data with the rows on the leading axis (all of the same, static length).
    fixed : tuple of tensors
        Data used whole by every block.
    block_rows : int
        Rows per block; the rows left over make a last, shorter block.
    parts : int
        Shares of the rows summed side by side in each iteration of the loop, as
        ``row_schedule.row_block_schedule`` lays them out: the same sum in another order.
        The chains' sweep uses one share: TensorFlow's XLA already spreads each block over
        the cores, and two shares measured no faster.

    Examples
    --------
    >>> import tensorflow as tf
    >>> x = tf.range(10.0)
    >>> def block(params, rows, fixed):
    ...     (w,), (xb,) = params, rows
    ...     return w * tf.reduce_sum(xb), (tf.reduce_sum(xb) + 0.0 * w,)
    >>> value, (grad,) = row_block_sweep(block, (tf.constant([1.0, 2.0]),), (x,), (), 4)
    >>> value.numpy().tolist(), grad.numpy().tolist()
    ([45.0, 90.0], [45.0, 45.0])
    >>> row_block_sweep(block, (tf.constant([1.0, 2.0]),), (x,), (), 2, parts=2)[0].numpy()
    array([45., 90.], dtype=float32)
    """
    stride, parts, outside = row_block_schedule(int(rows[0].shape[0]), block_rows, parts)

    def at(start: Any, size: int) -> tuple:
        return block(params, tuple(tf.slice(r, [start] + [0] * (r.shape.rank - 1),
                                            [size, *r.shape[1:]]) for r in rows), fixed)

    def plus(sums: tuple, *shares: tuple) -> tuple:
        return (tf.add_n([sums[0], *(v for v, _ in shares)]),
                tuple(tf.add_n(list(g)) for g in zip(sums[1], *(g for _, g in shares),
                                                      strict=True)))

    # sums start at zero: the value in the params' dtype, each gradient like its param
    sums = (tf.zeros(tf.shape(params[0])[:1], params[0].dtype),
            tuple(tf.zeros_like(p) for p in params))
    for start, size in outside:
        sums = plus(sums, at(start, size))
    if stride:
        def body(k: Any, value: Any, gradients: tuple) -> tuple:
            return k + 1, *plus((value, gradients), *(
                at((k + p * stride) * block_rows, block_rows) for p in range(parts)))

        _, *sums = tf.while_loop(lambda k, *_: k < stride, body, (tf.constant(0), *sums))
    value, gradients = sums
    return value, gradients


def staged_value_and_gradient(params: Callable, sweep: Callable, density: Callable,
                              loops: bool = False) -> Callable:
    """``(flats, *data) -> (values, gradients)`` of a batch of unconstrained vectors,
    from the three stages above.

    Parameters
    ----------
    params : callable
        ``params(flat, *data)``: a structure of tensors for one chain (forward only).
    sweep : callable
        ``sweep(batched_params, *data)``: the row sums of all chains from the params
        stacked on a leading chain axis; a structure of tensors, each with that axis.
    density : callable
        ``density(flat, sums, *data)``: one chain's log density given its share of the
        sweep's ``sums``, differentiable in ``flat``.
    loops : bool
        The density has a ``scan``: chains are mapped one by one (as
        ``vectorize_value_and_gradient``).
    """

    def per_chain(fn: Callable, items: Any, signature: Any) -> Any:
        if loops:
            return tf.map_fn(fn, items, fn_output_signature=signature)
        return tf.vectorized_map(fn, items, fallback_to_while_loop=True)

    def batched(flats: tf.Tensor, *data: Any) -> tuple[tf.Tensor, tf.Tensor]:
        one = flats.shape[0] == 1  # one chain (parallel chains): no vectorising to trace
        if one:
            stacked = tf.nest.map_structure(lambda t: t[None], params(flats[0], *data))
        else:
            signature = tf.nest.map_structure(lambda t: tf.TensorSpec(t.shape, t.dtype),
                                              params(flats[0], *data)) if loops else None
            stacked = per_chain(lambda u: params(u, *data), flats, signature)
        sums = sweep(stacked, *data)

        def value_and_grad(item: tuple) -> Any:
            flat, share = item
            return value_and_gradient(lambda u: density(u, share, *data), flat)

        if one:
            value, gradient = value_and_grad((flats[0], tf.nest.map_structure(
                lambda t: t[0], sums)))
            return value[None], gradient[None]
        signature = (tf.TensorSpec((), flats.dtype),
                     tf.TensorSpec(flats.shape[1:], flats.dtype)) if loops else None
        return per_chain(value_and_grad, (flats, sums), signature)

    # one function of its own, traced once per signature (as vectorize_value_and_gradient)
    return tf.function(batched, autograph=False, reduce_retracing=True)
