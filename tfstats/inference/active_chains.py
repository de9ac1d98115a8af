"""Lockstep NUTS on data-heavy models: evaluate only the chains still building their tree.

Vectorised chains move in lockstep (``nuts.py``): a leapfrog step evaluates the log
density for every chain, and the chains that have finished their tree discard theirs. When
the density reads a large design matrix (``chain_choice.dense_data_bytes``: the bytes its
matrix products read per gradient) its cost grows with the number of chains evaluated, so a
step with at most half the chains active gathers their positions into a batch of half the
chains (a static size: its own traced density), evaluates that, and spreads the values
and gradients back (a finished chain's row gets any active chain's: it is masked). The
active chains' values are those of the full batch up to float rounding (which warmup's
adaptation can grow into different draws of the same posterior). On small models the
switch costs more than it saves, so it is off there.

``TFSTATS_ACTIVE_CHAINS=0`` switches it off (read at each ``ts.mcmc`` call).
The measurements are in ``docs/performance_mcmc.md`` ("Evaluating only the active chains").
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tfstats.inference.chain_choice import DENSE_DATA_BYTES, dense_data_bytes
from tfstats.linear_gaussian import enabled

__all__ = ["ENVIRONMENT", "ACTIVE_DATA_BYTES", "MIN_CHAINS", "active_batch", "with_active_batch",
           "evaluate_active"]

ENVIRONMENT = "TFSTATS_ACTIVE_CHAINS"
ACTIVE_DATA_BYTES = DENSE_DATA_BYTES  # data per gradient from which the switch pays
MIN_CHAINS = 4  # with 2 chains, one chain's evaluation cost about as much as two


def active_batch(model: Any, chains: int, on_gpu: bool = False) -> int:
    """The static size of the smaller batch that lockstep NUTS evaluates when at most that
    many of ``chains`` are active: half the chains for a model whose matrix products read
    at least ``ACTIVE_DATA_BYTES`` of data per gradient on a CPU, else 0 (always all).

    Examples
    --------
    >>> import numpy as np, tfstats as ts
    >>> mu = ts.normal(0, 1)
    >>> y = ts.normal(mu, 1, observed=np.zeros(3))
    >>> active_batch(ts.model(mu), chains=4)
    0
    """
    if not enabled(ENVIRONMENT) or on_gpu or chains < MIN_CHAINS:
        return 0
    return chains // 2 if dense_data_bytes(model) >= ACTIVE_DATA_BYTES else 0


def with_active_batch(value_and_grad: Callable, size: int) -> Callable:
    """``value_and_grad`` marked for :func:`evaluate_active` to call on ``size`` chains
    when at most that many are active (0: never). It is then called as
    ``value_and_grad(z_rows, rows=chains)``: ``chains`` the chain of each row (for the
    per-chain mass matrix)."""
    value_and_grad.active_batch = size  # type: ignore[attr-defined]
    return value_and_grad


def evaluate_active(B: Any, value_and_grad: Callable, z: Any, active: Any) -> tuple[Any, Any]:
    """``value_and_grad(z)`` (``z`` of shape (chains, n)) at the ``active`` chains' rows;
    the other rows are finite but meaningless. With ``active_batch`` k set on
    ``value_and_grad`` and at most k chains active, only a batch of k rows is evaluated.

    Examples
    --------
    >>> from tfstats.backends import get_backend
    >>> B = get_backend()
    >>> vg = with_active_batch(lambda z, rows=None: (B.np.sum(z, axis=-1), 2.0 * z), 2)
    >>> z = B.convert([[1.0], [2.0], [3.0], [4.0]])
    >>> values, _ = evaluate_active(B, vg, z, B.convert([False, True, False, True]))
    >>> [float(v) for v in B.to_numpy(values)[[1, 3]]]
    [2.0, 4.0]
    """
    size = getattr(value_and_grad, "active_batch", 0)
    if not size:
        return value_and_grad(z)
    np_ = B.np
    flags = B.cast(active, B.int_dtype())
    count = np_.sum(flags)

    def few() -> tuple[Any, Any]:
        slot = np_.cumsum(flags) - 1  # an active chain's row in the small batch
        # the chain of each row (chain 0 for a row no active chain fills)
        chains = np_.stack([np_.argmax(B.cast(active & (slot == j), B.int_dtype()))
                            for j in range(size)])
        values, grads = value_and_grad(B.gather(z, chains, 0), rows=chains)
        back = np_.clip(slot, 0, size - 1)  # a finished chain reads any row: masked
        return B.gather(values, back, 0), B.gather(grads, back, 0)

    return B.cond(count <= size, few, lambda: value_and_grad(z))
