"""Gaussian likelihoods with a linear mean on constant data, on sufficient statistics.

A term ``y ~ normal(mean, sd)`` of observed data ``y`` (N rows) whose mean is linear in
the unknowns through constant data, ``mean = X @ beta + alpha + x * gamma + offset`` (any
sum or difference of ``matmul(X, b)`` with data ``X`` of shape (N, p), ``x * s`` with a data
vector ``x`` and a scalar ``s``, scalars, and data offsets), and whose ``sd`` is one scalar
for every row, has the log density

    sum_i log normal(y_i | z_i' c, sd) = -N log(sd) - N/2 log(2 pi) - q(c) / (2 sd^2)

with ``Z = [X, x, 1]`` (N x P), ``c`` the coefficients in the same order and
``q(c) = |y - Z c|^2``. The model computes the statistics of ``q`` once per data value, in
float64 on the host, and passes them to its compiled functions as a data argument, so each
density and gradient costs O(P^2) instead of O(N P) and the N x P data are not read inside
the sampler's loop (nor by the optimiser's, nor VI's). To keep ``q`` free of cancellation,
it is expanded around the least-squares fit ``c0`` (``G = Z'Z``, ``e = y - Z c0``):

    q(c) = e'e - 2 d' Z'e + d' G d,    d = c - c0

which is exact for any ``c0`` (``Z'e`` is kept, not assumed zero).

The rewrite is used for the joint log density only: pointwise log-likelihoods
(``to_arviz``, LOO / WAIC), predictions and simulation evaluate each row as before. It is
skipped for models with ``minibatch`` data. Mutable data (``Model.set_data``) refresh the
statistics when the data next enter a compiled call. ``TFSTATS_SUFFICIENT_STATISTICS=0``
switches it off (read when a model is built).

Examples
--------
>>> import numpy as np, tfstats as ts
>>> rng = np.random.default_rng(1)
>>> X = rng.normal(size=(50, 2))
>>> beta = ts.normal(0, 1, dim=2)
>>> sigma = ts.variable(lower=0)
>>> y = ts.normal(X @ beta, sigma, observed=X @ [1.0, -1.0] + rng.normal(size=50))
>>> m = ts.model(beta, sigma)
>>> [r.n_columns for r in m.linear_gaussian]
[2]
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from tfstats.arrays import Array, Data
from tfstats.families import Density

__all__ = ["ENVIRONMENT", "enabled", "LinearGaussian", "Statistics", "find_linear_gaussian",
           "refresh"]

ENVIRONMENT = "TFSTATS_SUFFICIENT_STATISTICS"
_HALF_LOG_2PI = 0.5 * math.log(2 * math.pi)
_SCALAR_SHAPES = ((), (1,))
BLOCK_ROWS = 65_536  # rows of the design held at once while the statistics are summed


def enabled() -> bool:
    """Whether models built now use the rewrite (``TFSTATS_SUFFICIENT_STATISTICS``)."""
    setting = os.environ.get(ENVIRONMENT, "1").strip().lower()
    return setting not in ("0", "off", "false", "no")


class Statistics(Data):
    """The statistics of one rewritten term, packed in a (P + 1, P + 2) float64 array:
    ``G`` in ``[:P, :P]``, ``c0`` in ``[:P, P]``, ``Z'e`` in ``[:P, P + 1]``, ``e'e`` in
    ``[P, 0]``. Always a data argument of compiled functions, refreshed from the data by
    :func:`refresh`."""

    __slots__ = ()
    mutable = False


@dataclass
class _Part:
    """One block of columns of ``Z``: data ``design`` (N, p) or (N,) times ``coef`` (p,)
    or (), with a sign."""

    design: Array
    coef: Array
    sign: float


@dataclass(eq=False)
class LinearGaussian:
    """A rewritten term: its columns, offsets, ``sd`` and its statistics node."""

    term: Density
    n_rows: int
    parts: list[_Part]
    intercepts: list[tuple[Array, float]]
    offsets: list[tuple[Array, float]]
    statistics: Statistics = field(init=False)

    def __post_init__(self) -> None:
        p = self.n_columns
        self.statistics = Statistics(np.zeros((p + 1, p + 2)), name="linear_gaussian")

    @property
    def n_columns(self) -> int:
        widths = [1 if part.design.ndim == 1 else part.design.shape[1] for part in self.parts]
        return sum(widths) + (1 if self.intercepts else 0)

    # --- on the host, once per data value ------------------------------------------------------
    def compute(self, backend: Any) -> np.ndarray:
        """The packed statistics from the current data values, over blocks of rows (no
        copy of the whole design)."""
        designs = [(_host(backend, part.design).reshape(self.n_rows, -1), part.sign)
                   for part in self.parts]
        y = _host(backend, self.term.value).reshape(self.n_rows)
        for offset, sign in self.offsets:
            y = y - sign * np.broadcast_to(_host(backend, offset).reshape(-1), y.shape)
        p = self.n_columns
        blocks = [slice(start, start + BLOCK_ROWS) for start in range(0, self.n_rows,
                                                                      BLOCK_ROWS)]

        def columns(rows: slice) -> np.ndarray:
            parts = [design[rows] * sign for design, sign in designs]
            if self.intercepts:
                parts.append(np.ones((len(y[rows]), 1)))
            return np.concatenate(parts, axis=1) if parts else np.zeros((len(y[rows]), 0))

        gram, cross = np.zeros((p, p)), np.zeros(p)
        for rows in blocks:
            z = columns(rows)
            gram += z.T @ z
            cross += z.T @ y[rows]
        c0 = np.linalg.lstsq(gram, cross, rcond=None)[0] if p else np.zeros(0)
        packed = np.zeros((p + 1, p + 2))
        packed[:p, :p], packed[:p, p] = gram, c0
        for rows in blocks:  # the residuals of the fit: exact sums, whatever c0 is
            z = columns(rows)
            e = y[rows] - z @ c0
            packed[:p, p + 1] += z.T @ e
            packed[p, 0] += e @ e
        return packed

    # --- in compiled functions -------------------------------------------------------------------
    def log_density(self, ev: Any) -> Any:
        """The term's summed log density, from the statistics (evaluator ``ev``)."""
        B = ev.B
        wide = B.float_dtype("double")
        stats = B.cast(ev(self.statistics), wide)
        p = self.n_columns
        sd = B.np.reshape(B.cast(ev.to_float(ev(self.term.params[1])), wide), ())
        quadratic = stats[p, 0]
        if p:
            coefs = [B.np.reshape(B.cast(ev.to_float(ev(part.coef)), wide), (-1,))
                     for part in self.parts]
            if self.intercepts:
                total = sum(sign * B.np.reshape(B.cast(ev.to_float(ev(a)), wide), (1,))
                            for a, sign in self.intercepts)
                coefs.append(total)
            d = B.np.concatenate(coefs, axis=0) - stats[:p, p]
            quadratic = (quadratic - 2.0 * B.np.sum(d * stats[:p, p + 1])
                         + B.np.sum(d * B.linalg.matvec(stats[:p, :p], d)))
        n = float(self.n_rows)
        value = -n * B.np.log(sd) - n * _HALF_LOG_2PI - quadratic / (2.0 * sd * sd)
        return B.cast(value, ev.float)


def _host(backend: Any, array: Array) -> np.ndarray:
    """The float64 value of a data array, or of an expression of data only."""
    if isinstance(array, Data):
        return np.asarray(array.value, dtype=np.float64)
    from tfstats.graph import Evaluator

    ev = Evaluator(backend, backend.float_dtype("double"), {})
    return np.asarray(backend.to_numpy(ev(array)), dtype=np.float64)


def refresh(rewrites: list[LinearGaussian], backend: Any) -> None:
    """Recompute every rewrite's statistics from the current data (after ``set_data``)."""
    for rewrite in rewrites:
        rewrite.statistics.value = rewrite.compute(backend)


# --- matching ------------------------------------------------------------------------------------

def find_linear_gaussian(terms: list[Density], scales: list[float]) -> list[LinearGaussian]:
    """The terms that the rewrite applies to (none when switched off)."""
    if not enabled():
        return []
    found = []
    for term, scale in zip(terms, scales, strict=True):
        rewrite = _match(term) if scale == 1.0 else None
        if rewrite is not None:
            found.append(rewrite)
    return found


def _match(term: Density) -> LinearGaussian | None:
    y = term.value
    if (term.family.name != "normal" or term.truncation is not None or term.components
            or not isinstance(y, Data) or y.ndim != 1 or y.kind == "bool"):
        return None
    n = y.shape[0]
    mean, sd = term.params
    if sd.shape not in _SCALAR_SHAPES or mean.shape not in ((n,), *_SCALAR_SHAPES):
        return None
    parts: list[_Part] = []
    intercepts: list[tuple[Array, float]] = []
    offsets: list[tuple[Array, float]] = []
    if not _decompose(mean, 1.0, n, parts, intercepts, offsets):
        return None
    rewrite = LinearGaussian(term, n, parts, intercepts, offsets)
    return rewrite if rewrite.n_columns < n else None


def _decompose(array: Array, sign: float, n: int, parts: list[_Part],
               intercepts: list[tuple[Array, float]],
               offsets: list[tuple[Array, float]]) -> bool:
    """Split ``array`` (a mean of N rows) into column blocks, intercepts and offsets;
    False when it is not of that form."""
    if not array.variables:
        if array.shape not in ((n,), *_SCALAR_SHAPES) or array.kind == "bool":
            return False
        offsets.append((array, sign))
        return True
    if array.shape in _SCALAR_SHAPES:
        intercepts.append((array, sign))
        return True
    if array.shape != (n,):
        return False
    op, parents = array.op, array.parents
    if op in ("add", "subtract"):
        second = sign if op == "add" else -sign
        return (_decompose(parents[0], sign, n, parts, intercepts, offsets)
                and _decompose(parents[1], second, n, parts, intercepts, offsets))
    if op == "negative":
        return _decompose(parents[0], -sign, n, parts, intercepts, offsets)
    if op == "matmul":
        design, coef = parents
        if (not design.variables and design.shape[:1] == (n,) and design.ndim == 2
                and coef.ndim == 1 and design.kind != "bool"):
            parts.append(_Part(design, coef, sign))
            return True
        return False
    if op == "multiply":
        for design, coef in (parents, parents[::-1]):
            if (not design.variables and design.shape == (n,) and design.kind != "bool"
                    and coef.shape in _SCALAR_SHAPES):
                parts.append(_Part(design, coef, sign))
                return True
    return False
