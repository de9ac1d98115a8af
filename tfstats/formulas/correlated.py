"""Correlated group-specific effects, as brms and lme4 build them: the terms of one
grouping factor with K >= 2 coefficients in all (``(1 + x | g)``) share a K x K
correlation matrix with an LKJ prior.

Non-centred: with ``Z`` the (levels, K) standard-normal offsets of the terms side by
side, ``L`` the Cholesky factor of the correlation matrix and ``s`` the K sds, the
effects are ``(Z @ L.T) * s``: each level's effects are ``normal(0, diag(s) R diag(s))``
with ``R = L @ L.T``. The correlation matrix is named ``<factor>_corr`` (``g_corr``), its
Cholesky factor ``<factor>_corr_cholesky``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from tfstats import functions
from tfstats.arrays import Array

__all__ = ["CorrBlock", "correlated_blocks", "block_effects", "cholesky_draws",
           "new_level_effects"]


@dataclass
class CorrBlock:
    """The correlated terms of one grouping factor, in the order of their columns."""

    factor: str  # "g", or "g1:g2"
    terms: list[str]  # "1|g", "x|g"
    widths: list[int]  # the columns of each term
    labels: list[str]  # one per column: "Intercept", "x", "C(h)[b]"

    @property
    def name(self) -> str:
        """The name of the correlation matrix: ``g_corr``."""
        return f"{self.factor}_corr"

    @property
    def cholesky(self) -> str:
        """The name of its Cholesky factor, the unknown the sampler moves."""
        return f"{self.name}_cholesky"

    @property
    def size(self) -> int:
        return sum(self.widths)

    def columns(self) -> list[slice]:
        """Each term's columns in the block."""
        stops = np.cumsum(self.widths)
        return [slice(int(stop - w), int(stop)) for stop, w in zip(stops, self.widths,
                                                                     strict=True)]


def _column_labels(term: Any) -> list[str]:
    expr = term.name.split("|", 1)[0]
    expr = "Intercept" if expr == "1" else expr
    return [f"{expr}[{label}]" for label in term.labels] if term.labels else [expr]


def correlated_blocks(design: Any, correlated: bool) -> list[CorrBlock]:
    """The blocks of correlated terms (none when not ``correlated``): the group terms of
    each factor with two or more columns in all."""
    if not correlated:
        return []
    by_factor: dict[str, list[Any]] = {}
    for term in design.group:
        by_factor.setdefault(term.factor, []).append(term)
    blocks = []
    for factor, terms in by_factor.items():
        if sum(t.width for t in terms) < 2:
            continue
        blocks.append(CorrBlock(factor, [t.name for t in terms], [t.width for t in terms],
                                [label for t in terms for label in _column_labels(t)]))
    return blocks


def _as_matrix(array: Array, width: int) -> Array:
    return array[:, None] if width == 1 and len(array.shape) == 1 else array


def block_effects(block: CorrBlock, offsets: dict[str, Array], sigmas: dict[str, Array],
                  cholesky: Array) -> dict[str, Array]:
    """Each term's effects, shaped as its offsets: ``(Z @ L.T) * s`` split by term."""
    z = functions.concatenate([_as_matrix(offsets[t], w)
                               for t, w in zip(block.terms, block.widths, strict=True)], axis=1)
    sds = functions.concatenate([sigmas[t][None] if w == 1 else sigmas[t]
                                 for t, w in zip(block.terms, block.widths, strict=True)])
    effects = (z @ cholesky.T) * sds
    return {t: effects[:, cols.start] if w == 1 else effects[:, cols]
            for t, w, cols in zip(block.terms, block.widths, block.columns(), strict=True)}


def cholesky_draws(values: dict[str, np.ndarray], block: CorrBlock) -> np.ndarray:
    """The Cholesky factor at every draw, (chains, draws, K, K): drawn, or from the
    correlation matrix when only that was kept."""
    if block.cholesky in values:
        return np.asarray(values[block.cholesky])
    return np.linalg.cholesky(np.asarray(values[block.name]))


def new_level_effects(values: dict[str, np.ndarray], block: CorrBlock, n_new: int,
                      rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Effects of ``n_new`` unseen levels drawn jointly from the group distribution at each
    draw, ``normal(0, diag(s) R diag(s))``: (chains, draws, n_new, width) by term."""
    chol = cholesky_draws(values, block)
    chains, n = chol.shape[:2]
    sds = np.concatenate([np.asarray(values[f"{t}_sigma"]).reshape(chains, n, w)
                          for t, w in zip(block.terms, block.widths, strict=True)], axis=2)
    z = rng.normal(0.0, 1.0, size=(chains, n, n_new, block.size))
    effects = np.einsum("cdnm,cdkm->cdnk", z, chol) * sds[:, :, None, :]
    return {t: effects[..., cols] for t, cols in zip(block.terms, block.columns(), strict=True)}
