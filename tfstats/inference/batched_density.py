"""The log density of a model and its gradient, batched over chains (or draws): what the
samplers, the starting points and VI evaluate.

Usually each item's log density is vectorised by the backend
(``vectorize_value_and_gradient``). On TensorFlow on a CPU, a model with
``blocked_glm`` terms (GLM likelihoods on large designs, ``tfstats/blocked_glm.py``)
sums those terms and their gradients in one pass over blocks of rows for all chains at
once, outside the vectorised map (``tfstats/backends/tf_blocks.py``): the rest of the log
density stays per chain.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tfstats.model import Model

__all__ = ["batched_density", "batched_value_and_gradient"]


def batched_value_and_gradient(model: Model, adjust: bool = True) -> Callable:
    """``(flats, *data) -> (values, gradients)``: the log density (with the Jacobian when
    ``adjust``) and its gradient at each row of ``flats``.

    Examples
    --------
    >>> import numpy as np, tfstats as ts
    >>> mu = ts.normal(0, 1)
    >>> m = ts.model(mu)
    >>> B = m.backend
    >>> values, grads = batched_value_and_gradient(m)(
    ...     B.convert(np.array([[0.0], [1.0]]), m.float_dtype), *m.data_tensors())
    >>> np.round(B.to_numpy(grads)[:, 0], 3).tolist()
    [-0.0, -1.0]
    """
    B = model.backend
    rewrites = model.blocked_glm

    def density(flat: Any, *data: Any) -> Any:
        return model.log_density(flat, data, adjust)

    if not _sweeps(model):
        return B.vectorize_value_and_gradient(density, loops=model.has_loops)
    from tfstats.backends.tf_blocks import row_block_sweep, staged_value_and_gradient

    def params(flat: Any, *data: Any) -> tuple:
        ev = model.evaluator(data, flat=flat)
        return tuple(rewrite.params(ev) for rewrite in rewrites)

    def sweep(stacked: tuple, *data: Any) -> tuple:
        ev = model.evaluator(data)  # the rows are data: no unknowns read
        sums = []
        for rewrite, chain_params in zip(rewrites, stacked, strict=True):
            layout, rows, fixed, block_rows = rewrite.arguments(ev, chains=True)
            # one share of the rows (not rewrite.row_parts): TensorFlow's XLA already runs
            # each block's work on every core, and splitting did not pay here
            value, gradients = row_block_sweep(layout.block, chain_params, rows, fixed,
                                               block_rows)
            sums.append((value + layout.constant_sum(rows, fixed), gradients))
        return tuple(sums)

    def swept_density(flat: Any, sums: tuple, *data: Any) -> Any:
        given = {id(rewrite): s for rewrite, s in zip(rewrites, sums, strict=True)}
        return model.log_density(flat, data, adjust, row_blocks=given)

    return staged_value_and_gradient(params, sweep, swept_density, loops=model.has_loops)


def batched_density(model: Model, adjust: bool = True) -> Callable:
    """``(flats, *data) -> values``, differentiable, its gradient that of
    :func:`batched_value_and_gradient`."""
    B = model.backend
    if not _sweeps(model):
        return B.vectorize_density(lambda flat, *data: model.log_density(flat, data, adjust),
                                   loops=model.has_loops)
    from tfstats.backends.tensorflow import density_from  # TensorFlow's, not the protocol's

    return density_from(batched_value_and_gradient(model, adjust))


def _sweeps(model: Model) -> bool:
    """Whether the model's ``blocked_glm`` terms are swept for all chains at once (on
    TensorFlow on a CPU; JAX sums them inside each chain's density)."""
    B = model.backend
    return B.name == "tensorflow" and bool(model.blocked_glm) \
        and not B.has_gpu()
