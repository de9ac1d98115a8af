"""Gaussian likelihoods with a linear mean on constant data, on sufficient statistics.

A term ``y ~ normal(mean, sd)`` of observed data ``y`` (N rows) whose mean is linear in
the unknowns through constant data, ``mean = X @ beta + alpha + x * gamma + offset`` (any
sum or difference of ``matmul(X, b)`` with data ``X`` of shape (N, p), ``x * s`` with a data
vector ``x`` and a scalar ``s``, scalars, data offsets, and gathers ``v[index]`` or
``x * v[index]`` of a vector ``v`` of K unknowns by a data index of N integers, which are
K one-hot columns of ``Z``), and whose ``sd`` is one scalar for every row, has the log
density

    sum_i log normal(y_i | z_i' c, sd) = -N log(sd) - N/2 log(2 pi) - q(c) / (2 sd^2)

with ``Z = [X, x, 1]`` (N x P), ``c`` the coefficients in the same order and
``q(c) = |y - Z c|^2``. The model computes the statistics of ``q`` once per data value, in
float64 on the host, and passes them to its compiled functions as a data argument, so each
density and gradient costs O(P^2) instead of O(N P) and the N x P data are not read inside
the sampler's loop (nor by the optimiser's, nor VI's). To keep ``q`` free of cancellation,
it is expanded around the least-squares fit ``c0`` (``G = Z'Z``, ``e = y - Z c0``):

    q(c) = e'e - 2 d' Z'e + d' G d,    d = c - c0

which is exact for any ``c0`` (``Z'e`` is kept, not assumed zero).

A gather's one-hot columns have one nonzero per row, so the Gram block of one gather is
diagonal: the widest gather's K columns are kept as their diagonal, and ``q`` costs
``a^2 + 2 a K + K`` multiply-adds for the other ``a`` columns (radon's varying intercept,
K = 85, a = 1: about 250, against 919 rows gathered and scatter-added per gradient). A term
with gathers is rewritten only when that costs less than the rows (:func:`_row_cost`).

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
from scipy import sparse

from tfstats.arrays import Array, Data
from tfstats.families import Density

__all__ = ["ENVIRONMENT", "enabled", "LinearGaussian", "LinearPredictor", "Statistics",
           "decomposed", "find_linear_gaussian", "refresh"]

ENVIRONMENT = "TFSTATS_SUFFICIENT_STATISTICS"
_HALF_LOG_2PI = 0.5 * math.log(2 * math.pi)
_SCALAR_SHAPES = ((), (1,))
BLOCK_ROWS = 65_536  # rows of the design held at once while the statistics are summed
GATHER_ROW_COST = 4  # a gathered column's cost per row, in multiply-adds (measured)
DENSE_SOLVE = 2_000  # columns up to which c0 comes from a dense least-squares solve


def enabled(variable: str = ENVIRONMENT) -> bool:
    """Whether models built now use a rewrite switched by the environment ``variable``
    (``TFSTATS_SUFFICIENT_STATISTICS`` for this one): on when unset or empty or
    1/on/true/yes, off for 0/off/false/no; any other value is an error naming the variable.

    Examples
    --------
    >>> import os
    >>> os.environ["TFSTATS_EXAMPLE_SWITCH"] = "off"
    >>> enabled("TFSTATS_EXAMPLE_SWITCH")
    False
    >>> del os.environ["TFSTATS_EXAMPLE_SWITCH"]
    """
    raw = os.environ.get(variable, "")
    setting = raw.strip().lower()
    if setting in ("", "1", "on", "true", "yes"):
        return True
    if setting in ("0", "off", "false", "no"):
        return False
    raise ValueError(f"environment variable {variable}={raw!r}: use 1/on/true/yes to switch "
                     "it on or 0/off/false/no to switch it off")


class Statistics(Data):
    """The statistics of one rewritten term, packed in a (P + 1, P + 2) float64 array:
    ``G`` in ``[:P, :P]``, ``c0`` in ``[:P, P]``, ``Z'e`` in ``[:P, P + 1]``, ``e'e`` in
    ``[P, 0]``. Always a data argument of compiled functions, refreshed from the data by
    :func:`refresh`."""

    __slots__ = ()
    mutable = False


@dataclass(eq=False)
class _Part:
    """One block of columns of ``Z``: data ``design`` (N, p) or (N,) times ``coef`` (p,)
    or (), with a sign; or, with an ``index`` (N,), the gather ``coef[index]`` of a vector
    ``coef`` (K,), times the data vector ``design`` (N,) when there is one: K one-hot
    columns, held sparse on the host."""

    design: Array | None
    coef: Array
    sign: float
    index: Array | None = None

    @property
    def width(self) -> int:
        if self.index is not None:
            return self.coef.shape[0]
        assert self.design is not None
        return 1 if self.design.ndim == 1 else self.design.shape[1]


@dataclass(eq=False)
class LinearPredictor:
    """A term whose linear predictor was decomposed (:func:`decomposed`): its column
    blocks, intercepts and offsets (shared by this rewrite and ``blocked_glm``'s)."""

    term: Density
    n_rows: int
    parts: list[_Part]
    intercepts: list[tuple[Array, float]]
    offsets: list[tuple[Array, float]]

    @property
    def n_columns(self) -> int:
        return sum(part.width for part in self.parts) + (1 if self.intercepts else 0)


@dataclass(eq=False)
class LinearGaussian(LinearPredictor):
    """A rewritten term: its columns, offsets, ``sd`` and its statistics node."""

    statistics: Statistics = field(init=False)

    def __post_init__(self) -> None:
        p, k = self.n_columns, self.diagonal
        if k:  # the widest gather's columns go last: their block of the Gram is diagonal
            widest = max((part for part in self.parts if part.index is not None),
                         key=lambda part: part.width)
            self.parts.remove(widest)
            self.parts.append(widest)
        shape = (p - k + 4, p) if k else (p + 1, p + 2)
        self.statistics = Statistics(np.zeros(shape), name="linear_gaussian")

    @property
    def diagonal(self) -> int:
        """The columns of the widest gather (0 without gathers): one nonzero per row, so
        their block of ``Z'Z`` is diagonal and is kept as its diagonal only."""
        return max((part.width for part in self.parts if part.index is not None), default=0)

    @property
    def cost(self) -> int:
        """Multiply-adds of the quadratic form per density: ``P^2``, or with a diagonal
        block of K columns ``a^2 + 2 a K + K`` for the other ``a = P - K``."""
        p, k = self.n_columns, self.diagonal
        return (p - k) * (p + k) + k

    # --- on the host, once per data value ------------------------------------------------------
    def compute(self, backend: Any) -> np.ndarray:
        """The packed statistics from the current data values, over blocks of rows (no
        copy of the whole design; gathers' one-hot columns sparse)."""
        designs = [_HostPart(part, backend, self.n_rows) for part in self.parts]
        y = _host(backend, self.term.value).reshape(self.n_rows)
        for offset, sign in self.offsets:
            y = y - sign * np.broadcast_to(_host(backend, offset).reshape(-1), y.shape)
        p, k = self.n_columns, self.diagonal
        blocks = [slice(start, start + BLOCK_ROWS) for start in range(0, self.n_rows,
                                                                      BLOCK_ROWS)]

        def columns(rows: slice) -> Any:
            parts = [design.columns(rows) for design in designs]
            if self.intercepts:  # before the diagonal block, which stays last
                parts.insert(len(parts) - 1 if k else len(parts), np.ones((len(y[rows]), 1)))
            if k:
                return sparse.hstack([sparse.csr_matrix(part) for part in parts], format="csr")
            return np.concatenate(parts, axis=1) if parts else np.zeros((len(y[rows]), 0))

        gram: Any = sparse.csr_matrix((p, p)) if k else np.zeros((p, p))
        cross = np.zeros(p)
        for rows in blocks:
            z = columns(rows)
            gram = gram + z.T @ z
            cross += z.T @ y[rows]
        c0 = _least_squares(gram, cross)
        fitted_cross, residual = np.zeros(p), 0.0
        for rows in blocks:  # the residuals of the fit: exact sums, whatever c0 is
            z = columns(rows)
            e = y[rows] - z @ c0
            fitted_cross += z.T @ e
            residual += e @ e
        if not k:
            packed = np.zeros((p + 1, p + 2))
            packed[:p, :p], packed[:p, p], packed[:p, p + 1] = gram, c0, fitted_cross
            packed[p, 0] = residual
            return packed
        a = p - k
        packed = np.zeros((a + 4, p))
        packed[:a] = gram[:a].toarray()
        packed[a], packed[a + 1], packed[a + 2] = gram.diagonal(), c0, fitted_cross
        packed[a + 3, 0] = residual
        return packed

    # --- in compiled functions -------------------------------------------------------------------
    def log_density(self, ev: Any) -> Any:
        """The term's summed log density, from the statistics (evaluator ``ev``)."""
        B = ev.B
        wide = B.float_dtype("double")
        stats = B.cast(ev(self.statistics), wide)
        p, k = self.n_columns, self.diagonal
        sd = B.np.reshape(B.cast(ev.to_float(ev(self.term.params[1])), wide), ())
        if not p:
            quadratic = stats[p, 0]
        else:
            coefs = [B.np.reshape(B.cast(ev.to_float(ev(part.coef)), wide), (-1,))
                     for part in self.parts]
            if self.intercepts:
                total = sum(sign * B.np.reshape(B.cast(ev.to_float(ev(a)), wide), (1,))
                            for a, sign in self.intercepts)
                coefs.insert(len(coefs) - 1 if k else len(coefs), total)
            coef = B.np.concatenate(coefs, axis=0)
            if k:
                quadratic = self._structured_quadratic(B, stats, coef, p - k)
            else:
                d = coef - stats[:p, p]
                quadratic = (stats[p, 0] - 2.0 * B.np.sum(d * stats[:p, p + 1])
                             + B.np.sum(d * B.linalg.matvec(stats[:p, :p], d)))
        n = float(self.n_rows)
        value = -n * B.np.log(sd) - n * _HALF_LOG_2PI - quadratic / (2.0 * sd * sd)
        return B.cast(value, ev.float)

    @staticmethod
    def _structured_quadratic(B: Any, stats: Any, coef: Any, a: int) -> Any:
        """``q`` with the Gram's trailing block diagonal: ``d_a' G_aa d_a + 2 d_a' G_as d_s
        + sum(g_s d_s^2)`` (layout of :meth:`compute`)."""
        d = coef - stats[a + 1]
        d_s = d[a:]
        quadratic = (stats[a + 3, 0] - 2.0 * B.np.sum(d * stats[a + 2])
                     + B.np.sum(stats[a, a:] * d_s * d_s))
        if a:
            d_a = d[:a]
            quadratic = quadratic + B.np.sum(d_a * (
                B.linalg.matvec(stats[:a, :a], d_a) + 2.0 * B.linalg.matvec(stats[:a, a:], d_s)))
        return quadratic


def _least_squares(gram: Any, cross: np.ndarray) -> np.ndarray:
    """A least-squares fit ``c0`` from the normal equations (any ``c0`` keeps ``q`` exact;
    a good one keeps it free of cancellation): dense, or iterative for a large sparse one."""
    p = len(cross)
    if not p:
        return np.zeros(0)
    if not sparse.issparse(gram) or p <= DENSE_SOLVE:
        dense = gram.toarray() if sparse.issparse(gram) else gram
        return np.linalg.lstsq(dense, cross, rcond=None)[0]
    from scipy.sparse.linalg import lsqr

    return lsqr(gram, cross, atol=1e-14, btol=1e-14)[0]


class _HostPart:
    """A block of columns on the host: dense data, or the sparse one-hot columns of a
    gather (times its row weights)."""

    def __init__(self, part: _Part, backend: Any, n_rows: int) -> None:
        self.sign, self.width = part.sign, part.width
        self.design = (None if part.design is None
                       else _host(backend, part.design).reshape(n_rows, -1))
        self.index = (None if part.index is None
                      else _host(backend, part.index).reshape(n_rows).astype(np.int64))

    def columns(self, rows: slice) -> Any:
        if self.index is None:
            assert self.design is not None
            return self.design[rows] * self.sign
        index = self.index[rows]
        weights = np.full(len(index), self.sign)
        if self.design is not None:
            weights = weights * self.design[rows, 0]
        return sparse.csr_matrix((weights, (np.arange(len(index)), index)),
                                 shape=(len(index), self.width))


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
    pieces = decomposed(mean, n)
    if pieces is None:
        return None
    rewrite = LinearGaussian(term, n, *pieces)
    return rewrite if rewrite.n_columns < n and rewrite.cost <= _row_cost(rewrite) else None


def _row_cost(rewrite: LinearGaussian) -> int:
    """What summing the rows costs, in the units of :attr:`LinearGaussian.cost`: a
    multiply-add per row and dense column, :data:`GATHER_ROW_COST` per row and gather
    (a gather and, in the gradient, a scatter-add)."""
    gathers = sum(part.index is not None for part in rewrite.parts)
    dense = rewrite.n_columns - sum(p.width for p in rewrite.parts if p.index is not None)
    return rewrite.n_rows * (dense + GATHER_ROW_COST * gathers)


def decomposed(predictor: Array, n: int) -> tuple[list[_Part], list, list] | None:
    """``(parts, intercepts, offsets)`` of a linear predictor of ``n`` rows (the
    arguments of a :class:`LinearPredictor` after its term and rows), or None when it is
    not of that form."""
    parts: list[_Part] = []
    intercepts: list[tuple[Array, float]] = []
    offsets: list[tuple[Array, float]] = []
    if not _decompose(predictor, 1.0, n, parts, intercepts, offsets):
        return None
    return parts, intercepts, offsets


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
    if op == "getitem" and _gathered(array, n):
        parts.append(_Part(None, parents[0], sign, index=parents[1]))
        return True
    if op == "multiply":
        for design, coef in (parents, parents[::-1]):
            if design.variables or design.shape != (n,) or design.kind == "bool":
                continue
            if coef.shape in _SCALAR_SHAPES:
                parts.append(_Part(design, coef, sign))
                return True
            if coef.op == "getitem" and _gathered(coef, n):  # a varying slope: x * b[group]
                parts.append(_Part(design, coef.parents[0], sign, index=coef.parents[1]))
                return True
    return False


def _gathered(array: Array, n: int) -> bool:
    """Whether ``array`` is ``v[index]``: a vector of unknowns gathered by a data index of N
    integers (``alpha[county]``)."""
    vector, index = (array.parents + (None, None))[:2]
    return (len(array.parents) == 2 and array.params["advanced"] == ((0, 0),)
            and array.params["basic"] == (slice(None),) and vector.ndim == 1
            and bool(vector.variables) and isinstance(index, Data) and index.shape == (n,)
            and index.kind == "int")
