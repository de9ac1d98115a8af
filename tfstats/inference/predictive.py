"""calculate(): values of any array at posterior draws or given values, posterior and prior
predictive simulation, and pointwise log-likelihoods for LOO."""

from __future__ import annotations

import inspect
import warnings
from typing import Any

import numpy as np

from tfstats.arrays import Array, Data, Variable, as_array
from tfstats.draws import Draws
from tfstats.errors import UnknownNameError, check_names, user_stacklevel
from tfstats.graph import topological
from tfstats.inference.enumeration import draw_at_values, draw_discrete
from tfstats.inference.optimize import OptResult
from tfstats.inference.simulate import evaluate, pointwise_log_likelihood
from tfstats.model import Model

__all__ = ["calculate", "pointwise_log_likelihood"]  # the latter from simulate.py

def _caller_names(frame: Any, kind: type = Array) -> dict[int, str]:
    names: dict[int, str] = {}
    scope = {**frame.f_globals, **frame.f_locals} if frame is not None else {}
    for key, value in scope.items():
        if isinstance(value, kind) and not key.startswith("_"):
            names.setdefault(id(value), key)
    return names


def _resolve_values(values: dict[Any, Any], variables: list[Variable],
                    local: dict[int, str],
                    scope_unknowns: dict[int, str] | None = None) -> dict[Variable, np.ndarray]:
    """Values keyed by arrays or by names (of the caller's variables) -> by unknown."""
    by_name = {local.get(id(v), v.name): v for v in variables}
    by_name.pop(None, None)
    _check_keys(values, by_name, local, scope_unknowns or {})
    out: dict[Variable, np.ndarray] = {}
    for key, value in values.items():
        var = key if isinstance(key, Variable) else by_name.get(key)
        if var is None or all(var is not v for v in variables):
            continue  # an unknown these arrays do not depend on
        out[var] = np.broadcast_to(np.asarray(value, dtype=np.float64), var.shape)
    return out


def _check_keys(values: dict[Any, Any], by_name: dict[str, Variable],
                local: dict[int, str], scope_unknowns: dict[int, str]) -> None:
    """Keys of ``values`` must be unknowns: an array, or the name of one (of the arrays'
    unknowns, or of an unknown held by a variable of the caller)."""
    for key in values:
        if isinstance(key, Array) and not isinstance(key, Variable):
            raise UnknownNameError(f"calculate(values=...): {local.get(id(key), key)!r} is not "
                                   f"an unknown (values are given for unknowns only)")
    check_names([k for k in values if not isinstance(k, Array)],
                [*by_name, *sorted(set(scope_unknowns.values()) - set(by_name))],
                "calculate(values=...)" if by_name else
                "calculate(values=...) (no unknown has a name here: key by the arrays)")


def _needed_variables(arrays: list[Array]) -> list[Variable]:
    """Unknowns the arrays depend on, also through the priors and likelihoods that
    simulation draws from."""
    found: dict[int, Variable] = {}
    seen: set[int] = set()
    pending = list(arrays)
    while pending:
        order, pending = topological(pending), []
        for node in order:
            if id(node) in seen:
                continue
            seen.add(id(node))
            density = node.prior if isinstance(node, Variable) else node.density
            if isinstance(node, Variable):
                found[id(node)] = node
            if density is not None and (isinstance(node, Variable | Data)):
                pending += [a for a in density.arrays() if a is not node]
    return sorted(found.values(), key=lambda v: v.serial)


def calculate(*arrays: Any, values: Any = None, nsim: int | None = None,
              seed: int | None = None, precision: str = "double") -> Any:
    """Compute arrays of a model: at posterior draws, at given values, or by simulation.

    Parameters
    ----------
    *arrays : Array
        The arrays to compute. An observed array (``y`` in ``normal(mu, 1, observed=y)``)
        is simulated from its likelihood: its posterior or prior predictive replicates.
    values : Draws, OptResult or dict, optional
        ``Draws``: compute at every posterior draw, giving ``(chains, draws, *shape)``.
        A dict of unknown values (keyed by the arrays or by the caller's names for them)
        or an ``OptResult``: compute at that point. Unknowns without a value are drawn
        from their priors.
    nsim : int, optional
        Simulate this many times from the prior (``values`` not given), giving
        ``(nsim, *shape)``.
    seed : int, optional
        Seed for simulation.
    precision : {"double", "single"}
        Float precision.

    Returns
    -------
    numpy.ndarray, or a dict of them by name when several arrays are given.

    Examples
    --------
    >>> import numpy as np, tfstats as ts
    >>> mu = ts.normal(0, 1)
    >>> y = ts.normal(mu, 1, dim=3)
    >>> ts.calculate(y, nsim=5, seed=1).shape
    (5, 3)
    >>> float(ts.calculate(mu * 2, values={"mu": 1.5}))
    3.0
    """
    frame = inspect.currentframe()
    local = _caller_names(frame.f_back if frame is not None else None)
    scope_unknowns = _caller_names(frame.f_back if frame is not None else None, Variable)
    del frame
    if not arrays:
        raise ValueError("calculate() needs at least one array")
    targets = [as_array(a) for a in arrays]
    variables = _needed_variables(targets)
    names_out = [local.get(id(a), f"array_{i}") for i, a in enumerate(targets)]
    if isinstance(values, Draws):
        if values.model is None:
            raise ValueError("these draws were loaded from a file and have no model: load "
                             "them with Draws.load(path, model=m)")
        model = values.model
        known = [v for v in variables if v in model.names]
        if variables and not known and not _summed_out(variables, model):
            warnings.warn("calculate(values=draws): none of the unknowns these arrays depend "
                          "on is in the draws' model (arrays of a re-run of the model code?): "
                          "all of them are drawn from their priors", stacklevel=user_stacklevel())
        batches = [values[model.names[v]].reshape(-1, *v.shape) for v in known]
        n = values.n_chains * values.n_draws
        if _summed_out(variables, model):
            drawn = draw_discrete(model, {v: values[model.names[v]].reshape(-1, *v.shape)
                                          for v in model.variables}, seed)
            known, batches = known + list(drawn), batches + list(drawn.values())
        out = evaluate(targets, known, batches, n, seed, model.names, model.precision)
        out = [o.reshape(values.n_chains, values.n_draws, *a.shape)
               for o, a in zip(out, targets, strict=True)]
    elif values is not None:
        names: dict[Variable, str] = {}
        model_of = values.model if isinstance(values, OptResult) else None
        if isinstance(values, OptResult):
            names = dict(values.model.names) if values.model is not None else {}
            local = {id(v): n for v, n in names.items()} | local
            scope_unknowns = {id(v): n for v, n in names.items()} | scope_unknowns
            values = {k: v for k, v in values.par.items() if k in names.values()}
        if not isinstance(values, dict):
            raise TypeError(f"values must be Draws, an OptResult or a dict, got "
                            f"{type(values).__name__}")
        given = _resolve_values(values, variables, local, scope_unknowns)
        names = names or {v: local.get(id(v), v.name or "") for v in variables}
        summed = [v for v in variables if v.kind == "int" and v.discrete and v not in given]
        if summed:  # drawn from their conditional given the continuous unknowns' values
            model_of = model_of or _model_for(summed, precision)
            given |= _resolve_values(values, model_of.variables, local, scope_unknowns)
            names |= {v: local.get(id(v), model_of.names[v]) for v in model_of.variables}
            given |= {v: d[0] for v, d in draw_at_values(summed, given, model_of, seed,
                                                         names).items()}
        known = list(given)
        out = evaluate(targets, known, [given[v][None] for v in known], 1, seed, names,
                        precision)
        out = [o[0] for o in out]
    else:
        if nsim is None or nsim < 1:
            raise ValueError("give values= (draws or a dict) or nsim= (prior simulation)")
        names = {v: local.get(id(v), v.name or "") for v in variables}
        out = evaluate(targets, [], [], int(nsim), seed, names, precision)
    out = [np.rint(o).astype(np.int64) if isinstance(a, Variable) and a.kind == "int" else o
           for o, a in zip(out, targets, strict=True)]
    return out[0] if len(out) == 1 else dict(zip(names_out, out, strict=True))


def _summed_out(variables: list[Variable], model: Any) -> bool:
    return model.discrete is not None and bool(set(variables) & set(model.discrete.variables))


def _model_for(summed: list[Variable], precision: str) -> Model:
    """The model that discrete unknowns make (to draw them given values of the rest)."""
    return Model({f"discrete_{i}": v for i, v in enumerate(summed)}, precision=precision)
