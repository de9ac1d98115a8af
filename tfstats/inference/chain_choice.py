"""Which chain method ``mcmc(chain_method=None)`` picks on a CPU, from the model's data.

Parallel chains (each chain its own compiled loop in its own thread) use the CPU's cores
at once and never wait for another chain's longest NUTS tree; vectorised chains (all in
lockstep in one loop) turn each matrix product of the data with the unknowns into one
product with a matrix of all chains' coefficients, so one pass over the data serves every
chain. When that product dominates the gradient (a GLM on a large dense design matrix)
memory bandwidth bounds the gradient, and reading the data once for all chains beats
reading it once per chain on several cores. :func:`dense_data_bytes` measures that data:
the bytes of the constant (data-only) operands of the matrix products the log density
evaluates. From ``DENSE_DATA_BYTES`` on, with the data read in float32 (the default mixed
precision, or single), the default is vectorised. In float64 (``precision="double"``)
the batched loop cost more CPU than the four one-chain loops even at 16 MB, so those
models stay parallel. The measurements are in ``docs/performance_mcmc.md`` ("Which chain
method by default").
"""

from __future__ import annotations

from typing import Any

import numpy as np

from tfstats.arrays import Array
from tfstats.graph import topological

__all__ = ["DENSE_DATA_BYTES", "dense_data_bytes", "prefers_vectorized"]

DENSE_DATA_BYTES = 4_000_000  # from here on, vectorised chains by default on a CPU


def _density_roots(model: Any) -> list[Array]:
    """The arrays the joint log density evaluates: every term's arrays (a Gaussian term
    summed from sufficient statistics reads no per-row data) and the unknowns' bounds."""
    rewritten = {id(r.term) for r in getattr(model, "linear_gaussian", [])}
    groups = model.discrete.groups if model.discrete is not None else []
    terms = [t for t in model.terms if id(t) not in rewritten]
    terms += [t for g in groups for t in g.terms]
    return [a for t in terms for a in t.arrays()] + [p for v in model.variables
                                                      for p in v.parents]


def dense_data_bytes(model: Any) -> int:
    """Bytes of data that the matrix products of ``model``'s log density read per gradient:
    each operand of a ``matmul`` that depends on no unknown (data, or an expression of data
    only), at the width it is computed in (4 bytes where the data are passed in float32:
    ``precision="single"``, or ``"mixed"`` with large data; else 8).

    Examples
    --------
    >>> import numpy as np, tfstats as ts
    >>> X = np.random.default_rng(0).normal(size=(1000, 5))
    >>> beta = ts.normal(0, 1, dim=5)
    >>> y = ts.bernoulli(ts.ilogit(X @ beta), observed=np.ones(1000))
    >>> dense_data_bytes(ts.model(beta, precision="double"))
    40000
    """
    width = 4 if model.precision == "single" or model.single_data else 8
    total = 0
    for node in topological(_density_roots(model)):
        if node.op != "matmul" or not node.variables:
            continue
        for operand in node.parents:
            if not operand.variables and operand.kind in ("float", "int", "bool"):
                total += int(np.prod(operand.shape, dtype=np.int64)) * width
    return total


def prefers_vectorized(model: Any) -> bool:
    """Whether vectorised chains beat parallel ones on a CPU for ``model``: its matrix
    products read at least ``DENSE_DATA_BYTES`` of data per gradient, in float32.

    Examples
    --------
    >>> import numpy as np, tfstats as ts
    >>> mu = ts.normal(0, 1)
    >>> y = ts.normal(mu, 1, observed=np.zeros(3))
    >>> prefers_vectorized(ts.model(mu))
    False
    """
    in_single = model.precision == "single" or bool(model.single_data)
    return in_single and dense_data_bytes(model) >= DENSE_DATA_BYTES
