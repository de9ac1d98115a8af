"""Structural signatures of arrays and density terms: two expressions written the same way
on the same unknowns and equal data have the same signature.

They guard against a likelihood counted twice (re-running ``normal(mu, 1, observed=y)``,
as a re-run notebook cell does, replaces the first term with a warning) and check that a
model given to ``Draws.load(path, model=m)`` is the one the draws came from.
"""

from __future__ import annotations

import hashlib
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np

from tfstats.arrays import Array, Data, Variable
from tfstats.errors import user_stacklevel
from tfstats.families import Density

__all__ = ["DuplicateTermWarning", "fingerprint", "replace_duplicate", "signature",
           "term_signature"]


def _data_key(value: np.ndarray) -> tuple:
    digest = hashlib.blake2b(np.ascontiguousarray(value).tobytes(), digest_size=16)
    return ("data", value.shape, value.dtype.str, digest.hexdigest())


def _frozen(value: Any, sign: Callable[[Array], Any], stable: bool = False) -> Any:
    """A hashable, comparable stand-in for an op parameter."""
    if isinstance(value, Array):
        return sign(value)
    if isinstance(value, np.ndarray):
        return _data_key(value)
    if isinstance(value, tuple | list):
        return (type(value).__name__, tuple(_frozen(v, sign, stable) for v in value))
    if isinstance(value, dict):
        return ("dict", tuple(sorted((k, _frozen(v, sign, stable)) for k, v in value.items())))
    if isinstance(value, slice):
        return ("slice", value.start, value.stop, value.step)
    if value is None or isinstance(value, int | float | str | bool | np.generic) or (
            value is Ellipsis):
        return value if value is not Ellipsis else "..."
    if isinstance(value, np.dtype | type):
        return ("type", str(value))
    # anything else is only equal to itself (or, across processes, to its type)
    return ("object", type(value).__qualname__) if stable else ("object", id(value))


def signature(array: Array, unknown: Callable[[Variable], Any] = id,
              memo: dict[int, Any] | None = None, stable: bool = False) -> Any:
    """The structure of ``array``: its operations, parameters, data values and the keys
    ``unknown`` gives its unknowns (identity by default)."""
    memo = {} if memo is None else memo

    def sign(node: Array) -> Any:
        key = id(node)
        if key not in memo:
            if isinstance(node, Variable):
                memo[key] = ("unknown", unknown(node))
            elif isinstance(node, Data):
                memo[key] = _data_key(node.value)
            else:
                memo[key] = (node.op, node.shape, node.kind,
                             _frozen(node.params, sign, stable),
                             tuple(sign(p) for p in node.parents))
        return memo[key]

    return sign(array)


def term_signature(term: Density, unknown: Callable[[Variable], Any] = id,
                   memo: dict[int, Any] | None = None, stable: bool = False,
                   component: bool = False) -> Any:
    """The structure of a density term (a mixture component's value is a placeholder)."""
    memo = {} if memo is None else memo

    def sign(a: Array | None) -> Any:
        return None if a is None else signature(a, unknown, memo, stable)

    return (term.family.name, tuple(sign(p) for p in term.params),
            None if component else sign(term.value),
            tuple(sign(b) for b in term.truncation) if term.truncation else None,
            tuple(term_signature(c, unknown, memo, stable, True) for c in term.components))


def replace_duplicate(density: Density, what: str) -> None:
    """Drop a likelihood identical to ``density`` already attached to its unknowns (same
    distribution, parameters and observed values), warning that ``density`` replaces it."""
    unknowns: set[Variable] = set()
    for array in density.arrays():
        unknowns |= array.variables
    candidates = [t for v in unknowns for t in v.terms
                  if t is not density and t.family is density.family
                  and t.value is not None and t.value.shape == density.value.shape
                  and (getattr(t.value, "density", None) is t or t.family.name == "factor")]
    if not candidates:
        return
    memo: dict[int, Any] = {}
    mine = term_signature(density, memo=memo)
    for old in dict.fromkeys(candidates):
        if term_signature(old, memo=memo) == mine:
            for var in unknowns:
                if old in var.terms:
                    var.terms.remove(old)
            term = ("the term factor(...)" if density.family.name == "factor" else
                    f"the likelihood {density.family.name}(...) of observed {what!r}")
            warnings.warn(f"{term} is already in the model with the same parameters and "
                          f"observed values: the new one replaces it (it is counted once, "
                          f"not twice)", DuplicateTermWarning, stacklevel=user_stacklevel())


class DuplicateTermWarning(UserWarning):
    """A likelihood identical to one already attached replaced it."""


def fingerprint(model: Any) -> str:
    """A digest of a model's structure: its unknowns (by name, shape and support), its
    density terms and targets, with the data values."""
    memo: dict[int, Any] = {}
    names = model.names

    def unknown(var: Variable) -> Any:
        return (names.get(var, "?"), var.shape, type(var.constraint).__name__)

    parts = [sorted(repr(unknown(v)) for v in model.variables),
             sorted(repr(term_signature(t, unknown, memo, True)) for t in model.terms),
             sorted((n, repr(signature(a, unknown, memo, True)))
                    for n, a in model.targets.items())]
    return hashlib.blake2b(repr(parts).encode(), digest_size=16).hexdigest()
