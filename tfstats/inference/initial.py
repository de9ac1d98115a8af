"""Starting points: the user's constrained values, or random unconstrained draws retried
until the log density and its gradient are finite."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from tfstats.arrays import ModelError
from tfstats.errors import check_names
from tfstats.inference.batched_density import batched_value_and_gradient
from tfstats.model import Model

__all__ = ["log_density_function", "initial_state"]

_MAX_TRIES = 100


def log_density_function(model: Model, adjust: bool = True) -> Callable:
    """Compiled: a batch of unconstrained vectors (n, n_free) -> (log density (n,),
    gradient (n, n_free)); data are arguments."""

    def build() -> Callable:
        B = model.backend

        batched = batched_value_and_gradient(model, adjust)
        return B.compile_once(lambda flats, *data: batched(flats, *data))

    return model.compiled(("log_density_and_gradient", adjust), build)


def _finite(model: Model, flats: np.ndarray, adjust: bool) -> np.ndarray:
    B = model.backend
    fn = log_density_function(model, adjust)
    lp, grad = B.to_numpy(fn(B.convert(flats, model.float_dtype), *model.data_tensors()))
    return np.isfinite(lp) & np.all(np.isfinite(grad), axis=-1)


def _culprit(model: Model, flat: np.ndarray) -> str:
    """Name the density terms (and their unknowns) that are not finite at ``flat``."""
    B = model.backend
    ev = model.evaluator(model.data_tensors(), flat=B.convert(flat, model.float_dtype))
    bad = []
    for term in model.terms:
        value = float(B.to_numpy(B.np.sum(ev.log_density(term))))
        if not np.isfinite(value):
            names = sorted({model.names.get(v, "?") for a in term.arrays() for v in a.variables})
            target = model.names.get(term.value, None) if term.value is not None else None
            what = f"the prior of {target!r}" if target else (
                f"the {term.family.name} density of {term.value.name or 'the data'}")
            bad.append(f"{what} (involving {', '.join(names)})")
    return "; ".join(bad) if bad else "the gradient of the log density"


def _per_chain(model: Model, values: dict[str, Any] | list[dict[str, Any]],
               chains: int) -> list[dict]:
    if isinstance(values, dict):
        values = [values] * chains
    values = list(values)
    if len(values) != chains:
        raise ValueError(f"initial_values has {len(values)} sets for {chains} chains")
    for one in values:
        check_names(one, model.variable_names, "initial_values")
    return values


def initial_state(model: Model, chains: int, initial_values: Any, seed: int | None,
                  adjust: bool = True,
                  finite: Callable[[np.ndarray], np.ndarray] | None = None) -> np.ndarray:
    """Unconstrained starting vectors, shape (chains, n_free). ``finite`` (flats -> bool
    per row: density and gradient finite) defaults to a compiled vectorised check; the
    optimisers pass their own objective instead, to compile nothing more."""
    if finite is None:
        def finite(flats: np.ndarray) -> np.ndarray:
            return _finite(model, flats, adjust)

    if initial_values is not None:
        flats = np.stack([model.unconstrain(_fill_defaults(model, v))
                          for v in _per_chain(model, initial_values, chains)])
        ok = finite(flats)
        if not ok.all():
            chain = int(np.flatnonzero(~ok)[0])
            raise ModelError(f"initial_values give a log density that is not finite (chain "
                             f"{chain}): {_culprit(model, flats[chain])}")
        return flats
    rng = np.random.default_rng(seed)
    flats = rng.uniform(-2, 2, size=(chains, model.n_free))
    ok = finite(flats)
    for _ in range(_MAX_TRIES):
        if ok.all():
            return flats
        redo = ~ok
        flats[redo] = rng.uniform(-2, 2, size=(int(redo.sum()), model.n_free))
        ok = finite(flats)
    if ok.all():
        return flats
    # a narrower range near zero is the last resort
    flats[~ok] = rng.uniform(-0.1, 0.1, size=(int((~ok).sum()), model.n_free))
    ok = finite(flats)
    if not ok.all():
        raise ModelError(f"no starting point with a finite log density was found in "
                         f"{_MAX_TRIES} tries: {_culprit(model, flats[~ok][0])}; "
                         f"give initial_values")
    return flats


def _fill_defaults(model: Model, values: dict[str, Any]) -> dict[str, Any]:
    """Unknowns missing from ``values`` start at the constrained image of zero."""
    missing = [n for n in model.variable_names if n not in values]
    if not missing:
        return values
    B = model.backend
    fn = model.constrain_function()
    zero = fn(B.convert(np.zeros((1, model.n_free)), model.float_dtype), *model.data_tensors())
    zero = B.to_numpy(zero)
    filled = {n: zero[n][0] for n in missing}
    filled.update(values)
    return filled
