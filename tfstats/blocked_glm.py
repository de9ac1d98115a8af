"""GLM likelihoods on large data: the log density and its gradient in one pass over the
rows, block by block.

A term ``y ~ bernoulli(ilogit(eta))``, ``y ~ poisson(exp(eta))`` or
``y ~ binomial(size, ilogit(eta))`` (``size`` data) of observed data ``y`` (N rows) whose
linear predictor is linear in the unknowns through constant data,
``eta = X @ beta + alpha + x * gamma + offset`` (the forms that
``tfstats/linear_gaussian.py`` accepts for a Gaussian mean, with at least one data matrix),
costs two passes over ``X`` per gradient when differentiated as written: ``X @ beta``
forward, then ``r @ X`` backward, with ``r = d log p / d eta``. Once ``X`` is larger than
the cache, each pass reads it from memory. Here the value and the gradient are summed
block by block of rows instead: for each block, its ``eta``, its log densities and its
``r``, then its share of ``r @ X`` while the block is still in the cache, so ``X`` is read
once per gradient. The value is the same sum (rounded in another order); the gradient is
summed in the model's float dtype over the blocks.

On JAX the sum sits in each chain's log density (``tfstats/backends/jax_blocks.py``: a
``lax.fori_loop`` under a ``custom_vjp``, batched over the chains by ``vmap``). On
TensorFlow a loop over blocks inside the chains' vectorised map (``pfor``) does not
compile under XLA, so the chain axis is explicit instead: the samplers, the starting
points and VI take their batched value and gradient from
``tfstats/inference/batched_density.py``, which computes each chain's coefficients
(:meth:`BlockedGLM.params`), sweeps the rows once for all chains
(``tfstats/backends/tf_blocks.py``, the blocks' ``eta`` a (rows, chains) product), and
finishes each chain's log density with the sums in ``row_blocks`` (the chain rule through
the coefficients' transforms). A single log density there (the optimisers', ``log_prob``)
evaluates the term as written.

The rewrite is used where it was measured to pay: on a CPU (a GPU keeps the plain form;
it was not measured there), for designs of at least ``MIN_BYTES[backend]`` at the width
they are read in (the backend the model is built on). On JAX that is 16 MiB (float32 data
under the default mixed precision: N x 20 columns from about N = 210,000): smaller data
stay in the cache between the two passes, and there the plain form cost less CPU than the
blocks. On TensorFlow it is 4 MiB (N x 20 from about N = 52,000), about where vectorised
chains become the default (4 MB, ``inference/chain_choice.py``; the two are measured and
set apart): there, on an AVX2 host, the sweep's
Bernoulli gradient took 0.65-0.85x the plain form's time at N = 50,000-200,000 and the
Poisson's about the same (``docs/performance_mcmc.md``, "A third host"). As with
the sufficient statistics, it serves the joint log density only (pointwise
log-likelihoods, predictions and simulation evaluate each row as written), and not
minibatched data.
``TFSTATS_ROW_BLOCKS=0`` switches it off (read when a model is built).

Each block holds ``BLOCK_BYTES`` of the design, and a design of fewer rows than
``MIN_BLOCKS`` blocks (one block and a shorter rest) is one block of all its rows: XLA
copies each block's rows out of the design, which cost more than the cache saved there. On
TensorFlow such a design is still swept for all chains at once, with the chains on the
last axis of its products and per-row terms, where the vectorised plain form puts them
first: on an AVX2 host at N = 60,000 and 100,000 (D = 20, float32) the 4-chain value and
gradient took 1.14-1.24x the time as two blocks and 1.44-1.51x in the plain form
(``docs/performance_mcmc.md``, "One block for designs under two blocks").

On JAX each iteration of the loop sums one block from each of :func:`split_parts` shares
of the rows (blocks ``k``, ``k + stride``, ...; one share per core the process may use):
independent work that XLA:CPU runs on the cores at once, where one block an iteration
left the second core mostly idle (1.2-1.3x less wall time per gradient at N = 300,000 to
1,000,000 on 2 cores, the same CPU time; ``docs/performance_mcmc.md``, "The roofline of a
large-data gradient"). Two loops over halves of the rows would not run at once: each
carries the whole data. TensorFlow's sweep keeps one block an iteration: its XLA already
spreads each block's work over the cores, and splitting did not pay there.
``TFSTATS_ROW_BLOCKS_SPLIT=0`` (read when a model is built) sums one share.

A normal likelihood of this form is summed from sufficient statistics instead
(``linear_gaussian``), which reads no rows at all.

Examples
--------
>>> import numpy as np, tfstats as ts
>>> X = np.random.default_rng(1).normal(size=(250_000, 20))
>>> alpha, beta = ts.normal(0, 1), ts.normal(0, 1, dim=20)
>>> y = ts.bernoulli(ts.ilogit(alpha + X @ beta), observed=(X[:, 0] > 0).astype(float))
>>> [r.n_columns for r in ts.model(alpha, beta).blocked_glm]  # 20 MB read in float32
[21]
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

from tfstats.arrays import Data
from tfstats.backends import backend_name
from tfstats.families import Density

# the decomposition of a linear predictor is the Gaussian rewrite's
from tfstats.linear_gaussian import _SCALAR_SHAPES, LinearPredictor, decomposed
from tfstats.linear_gaussian import enabled as switched_on

__all__ = ["ENVIRONMENT", "SPLIT_ENVIRONMENT", "MIN_BYTES", "BLOCK_BYTES", "MIN_BLOCKS",
           "MAX_PARTS", "FAMILIES", "enabled", "split_parts", "BlockedGLM", "find_blocked_glm"]

ENVIRONMENT = "TFSTATS_ROW_BLOCKS"
SPLIT_ENVIRONMENT = "TFSTATS_ROW_BLOCKS_SPLIT"
# designs this big (as read) are summed in blocks, per backend the model is built on
MIN_BYTES = {"jax": 16 * 2**20, "tensorflow": 4 * 2**20}
# bytes of the design per block, read when a model is built (the best size depends on the
# CPU's caches: docs/performance_mcmc.md, "Row blocks: the size")
BLOCK_BYTES = 4 * 2**20
# designs of fewer rows than this many blocks are summed as one block: each block is a copy
# of its rows, which cost more than it saved on a block and a shorter rest (TensorFlow, AVX2)
MIN_BLOCKS = 2
MAX_PARTS = 4  # shares of the rows at most: each adds a block to the loop's body (measured: 2)
FAMILIES = ("bernoulli_logit", "poisson_log", "binomial_logit")


def enabled() -> bool:
    """Whether models built now use the rewrite (``TFSTATS_ROW_BLOCKS``)."""
    return switched_on(ENVIRONMENT)


def split_parts() -> int:
    """Independent shares of the rows that a model built now sums in each iteration of its
    pass over row blocks on JAX: the CPU cores this process may use (at most
    ``MAX_PARTS``), or 1 when ``TFSTATS_ROW_BLOCKS_SPLIT`` switches the split off.

    Examples
    --------
    >>> import os
    >>> os.environ["TFSTATS_ROW_BLOCKS_SPLIT"] = "0"
    >>> split_parts()
    1
    >>> del os.environ["TFSTATS_ROW_BLOCKS_SPLIT"]
    """
    if not switched_on(SPLIT_ENVIRONMENT):
        return 1
    cores = os.sched_getaffinity(0) if hasattr(os, "sched_getaffinity") else None
    return max(1, min(MAX_PARTS, len(cores) if cores is not None else (os.cpu_count() or 1)))


@dataclass(eq=False)
class BlockedGLM(LinearPredictor):
    """A rewritten term: the column blocks, intercepts and offsets of its predictor, and
    the independent shares of the rows JAX sums in each iteration (:func:`split_parts`;
    TensorFlow's sweep for all chains sums one), the bytes of the design in each block
    (``BLOCK_BYTES``) and the fewest blocks a design is split into (``MIN_BLOCKS``), all
    fixed when the model is built."""

    row_parts: int = 1
    block_bytes: int = BLOCK_BYTES
    min_blocks: int = MIN_BLOCKS

    @property
    def design_size(self) -> int:
        """Elements of the design matrices (and vectors) read per evaluation."""
        return sum(part.design.size for part in self.parts)

    def log_density(self, ev: Any) -> Any:
        """The term's summed log density (evaluator ``ev``): in blocks of rows on JAX on a
        CPU; on TensorFlow from the sums of ``ev.row_blocks`` where the chains' sweep gave
        them (``tfstats/inference/batched_density.py``), else as written (and on a GPU)."""
        B = ev.B
        given = ev.row_blocks.get(id(self))
        if given is not None:  # the sweep's value; gradient by the chain rule through params
            value, gradients = given
            linear = sum(B.np.sum(p * B.stop_gradient(g))
                         for p, g in zip(self.params(ev), gradients, strict=True))
            return value + (linear - B.stop_gradient(linear))
        if B.name != "jax" or B.has_gpu():  # a GPU streams both passes: not measured there
            return B.np.sum(ev.log_density(self.term))
        from tfstats.backends.jax_blocks import row_block_sum

        layout, rows, fixed, block_rows = self.arguments(ev)
        # the terms of the data alone outside the loop: one pass over y that XLA can hoist
        # out of the samplers' loops (in the loop, float64 lgamma per block cost 2x)
        return (row_block_sum(layout.block, self.params(ev), rows, fixed, block_rows,
                              self.row_parts)
                + layout.constant_sum(rows, fixed))

    def params(self, ev: Any) -> tuple:
        """The unknowns the sum is differentiated in, in the model's float dtype: each
        part's coefficients (a data column's as a scalar: its gradient is one), then the
        summed intercept."""
        B, wide = ev.B, ev.float
        params = [B.np.reshape(B.cast(ev.to_float(ev(part.coef)), wide),
                               (-1,) if part.design.ndim == 2 else ())
                  for part in self.parts]
        if self.intercepts:
            params.append(sum(sign * B.np.reshape(B.cast(ev.to_float(ev(a)), wide), ())
                              for a, sign in self.intercepts))
        return tuple(params)

    def arguments(self, ev: Any, chains: bool = False) -> tuple[_Layout, tuple, tuple, int]:
        """``(layout, rows, fixed, block_rows)``: the data of the sum, read from ``ev``
        (no unknowns), and the block function's layout (``chains``: the parameters carry
        a leading chain axis)."""
        B = ev.B
        designs = [ev(part.design) for part in self.parts]
        single = ev.single is not None and all(d.dtype == ev.single for d in designs)
        work = ev.single if single else ev.float
        rows, fixed = [ev(self.term.value), *designs], []
        row_offset = [sign * B.cast(ev(o), work) for o, sign in self.offsets
                      if o.shape not in _SCALAR_SHAPES]
        fixed_offset = [sign * B.np.reshape(B.cast(ev(o), work), ()) for o, sign in self.offsets
                        if o.shape in _SCALAR_SHAPES]
        size = self.term.params[0] if self.term.family.name == "binomial_logit" else None
        layout = _Layout(B, self, work, ev.float, bool(row_offset), bool(fixed_offset),
                         None if size is None else size.shape not in _SCALAR_SHAPES, chains)
        if row_offset:
            rows.append(sum(row_offset[1:], row_offset[0]))
        if fixed_offset:
            fixed.append(sum(fixed_offset[1:], fixed_offset[0]))
        if size is not None:
            (rows if layout.size_per_row else fixed).append(
                B.np.reshape(B.cast(ev(size), work), (-1,) if layout.size_per_row else ()))
        width = 4 if work == B.float_dtype("single") else 8  # bytes a value, as read
        row_bytes = self.design_size // self.n_rows * width
        block_rows = max(256, self.block_bytes // max(row_bytes, 1) // 256 * 256)
        if self.n_rows < self.min_blocks * block_rows:
            block_rows = self.n_rows
        return layout, tuple(rows), tuple(fixed), block_rows


@dataclass
class _Layout:
    """How one block's value and gradient are computed from the arguments of the sweep:
    rows ``(y, *designs, [offset], [size])``, fixed ``([offset], [size])``, params
    ``(*coefficients, [intercept])``. With ``chains`` the params carry a leading chain axis
    (C): the block's ``eta`` is (rows, C), its value (C,) and each gradient (C, ...)."""

    B: Any  # the backend
    rewrite: BlockedGLM
    work: Any  # dtype of the per-row arithmetic
    wide: Any  # dtype of the sums and the gradient
    row_offset: bool
    fixed_offset: bool
    size_per_row: bool | None  # None: not binomial
    chains: bool = False

    def block(self, params: tuple, rows: tuple, fixed: tuple) -> tuple[Any, tuple]:
        B, parts = self.B, self.rewrite.parts
        # a row's values against the chains: a column (rows, 1) with a chain axis
        column = (lambda v: v[:, None]) if self.chains else (lambda v: v)
        y = column(B.cast(rows[0], self.work))
        designs = [B.cast(x, self.work) for x in rows[1:1 + len(parts)]]
        rest = [column(r) for r in rows[1 + len(parts):]]
        fixed = list(fixed)
        coefs = [B.cast(c, self.work) for c in params[:len(parts)]]
        eta = sum(part.sign * self._product(x, c)
                  for part, x, c in zip(parts, designs, coefs, strict=True))
        if len(params) > len(parts):
            eta = eta + B.cast(params[-1], self.work)
        if self.row_offset:
            eta = eta + rest.pop(0)
        if self.fixed_offset:
            eta = eta + fixed.pop(0)
        size = None
        if self.size_per_row is not None:
            size = rest.pop(0) if self.size_per_row else fixed.pop(0)
        # the terms of the data alone are summed once, outside the blocks (constant_sum)
        log_p, residual = _family_terms(B, self.rewrite.term.family.name, y, eta, size)
        gradients = [part.sign * self._transposed(residual, x)
                     for part, x in zip(parts, designs, strict=True)]
        if len(params) > len(parts):
            gradients.append(B.np.sum(residual, axis=0))
        return (B.np.sum(B.cast(log_p, self.wide), axis=0),
                tuple(B.cast(g, self.wide) for g in gradients))

    def constant_sum(self, rows: tuple, fixed: tuple) -> Any:
        """The summed terms of the log densities that depend on the data alone (all rows;
        zero for the Bernoulli), which ``block`` leaves out."""
        B, family = self.B, self.rewrite.term.family.name
        if family == "bernoulli_logit":
            return B.convert(0.0, self.wide)
        y = B.cast(rows[0], self.work)
        size = None
        if self.size_per_row is not None:
            size = (rows[-1] if self.size_per_row else fixed[-1])
        return B.np.sum(B.cast(_data_terms(B, family, y, size), self.wide))

    def _product(self, x: Any, c: Any) -> Any:
        """A part's share of ``eta``: ``x @ c``, or ``x * c`` for a data column."""
        B = self.B
        if not self.chains:
            return B.linalg.matvec(x, c) if x.ndim == 2 else x * c
        return B.np.matmul(x, B.np.transpose(c)) if x.ndim == 2 else x[:, None] * c

    def _transposed(self, residual: Any, x: Any) -> Any:
        """A part's gradient: ``r @ x``, or ``sum(r * x)`` for a data column."""
        B = self.B
        if not self.chains:
            return B.np.matmul(residual, x) if x.ndim == 2 else B.np.sum(residual * x)
        if x.ndim == 2:
            return B.np.matmul(B.np.transpose(residual), x)
        return B.np.sum(residual * x[:, None], axis=0)


def _family_terms(B: Any, family: str, y: Any, eta: Any, size: Any) -> tuple[Any, Any]:
    """The log densities of a block without the terms of the data alone (``_data_terms``)
    and their derivatives in ``eta``."""
    if family == "poisson_log":
        rate = B.np.exp(eta)
        return y * eta - rate, y - rate
    # log(1 + exp(eta)) and the sigmoid from one exponential (as the backends' softplus)
    e = B.np.exp(-B.np.abs(eta))
    softplus = B.np.maximum(eta, 0.0) + B.np.log1p(e)
    sigmoid = B.np.where(eta >= 0, 1.0, e) / (1.0 + e)
    if family == "bernoulli_logit":
        return y * eta - softplus, y - sigmoid
    return y * eta - size * softplus, y - size * sigmoid


def _data_terms(B: Any, family: str, y: Any, size: Any) -> Any:
    """The terms of the Poisson and binomial log densities that hold no ``eta``."""
    lg = B.special.lgamma
    if family == "poisson_log":
        return -lg(y + 1.0)
    return lg(size + 1.0) - lg(y + 1.0) - lg(size - y + 1.0)


# --- matching ------------------------------------------------------------------------------------

def find_blocked_glm(terms: list[Density], scales: list[float],
                     width: int) -> list[BlockedGLM]:
    """The terms that the rewrite applies to: of the forms above, with designs of at least
    ``MIN_BYTES`` (for the backend now) when read ``width`` bytes a value (none when
    switched off)."""
    if not enabled():
        return []
    least, found = MIN_BYTES[backend_name()], []
    for term, scale in zip(terms, scales, strict=True):
        rewrite = _match(term) if scale == 1.0 else None
        if rewrite is not None and rewrite.design_size * width >= least:
            rewrite.row_parts = split_parts()
            rewrite.block_bytes, rewrite.min_blocks = BLOCK_BYTES, MIN_BLOCKS
            found.append(rewrite)
    return found


def _match(term: Density) -> BlockedGLM | None:
    y = term.value
    if (term.family.name not in FAMILIES or term.truncation is not None or term.components
            or not isinstance(y, Data) or y.ndim != 1):
        return None
    n = y.shape[0]
    eta = term.params[-1]
    if term.family.name == "binomial_logit":
        size = term.params[0]
        if size.variables or size.shape not in ((n,), *_SCALAR_SHAPES):
            return None
    if eta.shape != (n,):
        return None
    pieces = decomposed(eta, n)
    if pieces is None:
        return None
    parts = pieces[0]
    if any(part.index is not None for part in parts):  # gathers (u[group]) stay per row
        return None
    if not any(part.design.ndim == 2 for part in parts):
        return None
    return BlockedGLM(term, n, *pieces)
