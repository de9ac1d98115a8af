"""calculate(): values of any array at posterior draws or given values, posterior and prior
predictive simulation, and pointwise log-likelihoods for LOO."""

from __future__ import annotations

import inspect
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np

from tfstats.arrays import Array, Data, ModelError, Variable, as_array
from tfstats.backends import get_backend
from tfstats.draws import Draws
from tfstats.errors import UnknownNameError, check_names
from tfstats.families import Density
from tfstats.graph import Evaluator, topological
from tfstats.inference.enumeration import draw_at_values, draw_discrete, model_for

__all__ = ["calculate", "pointwise_log_likelihood"]

_BATCH = 1000


class _Simulator(Evaluator):
    """An evaluator that draws unknowns without values from their priors and observed
    data from their likelihoods."""

    def __init__(self, *args: Any, seed: Any, names: dict[Variable, str], **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.seed = seed
        self.names = names

    def _next_seed(self) -> Any:
        seeds = self.B.split_seed(self.seed, 2)
        self.seed = seeds[1]
        return seeds[0]

    def _compute(self, node: Array) -> Any:
        if isinstance(node, Data) and node.density is not None:
            return self.simulate(node.density, node.shape)
        if isinstance(node, Variable):
            if node.prior is None:
                name = self.names.get(node) or node.name or "an unknown"
                raise ModelError(f"cannot simulate {name!r}: it has a flat prior "
                                 f"(variable()); give it a distribution or a value")
            value = self.simulate(node.prior, node.shape)
            return value if node.kind != "int" else self.B.cast(value, self.B.int_dtype())
        return super()._compute(node)

    def simulate(self, density: Density, shape: tuple[int, ...]) -> Any:
        B = self.B
        family = density.family
        if family.name == "mixture":
            weights = self.to_float(self(density.params[0]))
            draws = B.np.stack([self.simulate(p, shape) for p in density.components], axis=-1)
            logits = B.np.log(B.np.broadcast_to(weights, (*shape, len(density.components))))
            pick = B.tfd.Categorical(logits=logits).sample(seed=self._next_seed())
            one_hot = B.np.equal(B.np.arange(len(density.components)), pick[..., None])
            return B.np.sum(B.np.where(one_hot, draws, 0.0 * draws), axis=-1)
        if family.name == "joint":
            return B.np.stack([self.simulate(p, shape[:-1]) for p in density.components],
                              axis=-1)
        params = [self.to_float(self(p)) for p in density.params]
        if not family.event_ndims and not family.name.startswith("categorical"):
            params = [B.np.broadcast_to(p, shape) for p in params]
        dist = family.make(B, *params)
        if dist is None:
            raise ModelError(f"simulating from {family.name} is not supported")
        if density.truncation is not None:
            return self._truncated(dist, density, shape)
        extra = len(shape) - len(dist.batch_shape) - len(dist.event_shape)
        sample = dist.sample(tuple(shape[:max(extra, 0)]), seed=self._next_seed())
        return B.np.broadcast_to(self.to_float(sample), shape)

    def _truncated(self, dist: Any, density: Density, shape: tuple[int, ...]) -> Any:
        B = self.B
        low, high = (None if b is None else self.to_float(self(b)) for b in density.truncation)
        zero = B.np.zeros(shape, dtype=self.float)
        lower = dist.cdf(low) + zero if low is not None else zero
        upper = dist.cdf(high) + zero if high is not None else zero + 1.0
        u = B.tfd.Uniform(lower, upper).sample(seed=self._next_seed())
        return dist.quantile(u)


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


def _evaluate(arrays: list[Array], given: list[Variable], batches: list[np.ndarray],
              n: int, seed: int | None, names: dict[Variable, str], precision: str) -> list:
    """Evaluate ``arrays`` for ``n`` draws of the ``given`` unknowns (others simulated)."""
    B = get_backend()
    dtype = B.float_dtype(precision)

    def one(inputs: Any) -> Any:
        values, key = inputs
        ev = _Simulator(B, dtype, {}, constrained=dict(zip(given, values, strict=True)),
                        seed=key, names=names)
        return [ev.to_float(ev(a)) for a in arrays]

    fn = B.compile_function(lambda inputs: B.vectorize_random(one)(inputs), xla=False)
    keys = B.split_seed(B.make_seed(seed), max(n, 2))[:n]
    outputs: list[list[np.ndarray]] = [[] for _ in arrays]
    for start in range(0, n, _BATCH):
        stop = min(start + _BATCH, n)
        chunk = ([B.convert(b[start:stop], dtype) for b in batches], keys[start:stop])
        for k, value in enumerate(B.to_numpy(fn(chunk))):
            outputs[k].append(value)
    return [np.concatenate(o) if o else np.zeros((0, *a.shape)) for o, a in zip(
        outputs, arrays, strict=True)]


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
    from tfstats.inference.optimize import OptResult

    if isinstance(values, Draws):
        if values.model is None:
            raise ValueError("these draws were loaded from a file and have no model: load "
                             "them with Draws.load(path, model=m)")
        model = values.model
        known = [v for v in variables if v in model.names]
        if variables and not known and not _summed_out(variables, model):
            warnings.warn("calculate(values=draws): none of the unknowns these arrays depend "
                          "on is in the draws' model (arrays of a re-run of the model code?): "
                          "all of them are drawn from their priors", stacklevel=2)
        batches = [values[model.names[v]].reshape(-1, *v.shape) for v in known]
        n = values.n_chains * values.n_draws
        if _summed_out(variables, model):
            drawn = draw_discrete(model, {v: values[model.names[v]].reshape(-1, *v.shape)
                                          for v in model.variables}, seed)
            known, batches = known + list(drawn), batches + list(drawn.values())
        out = _evaluate(targets, known, batches, n, seed, model.names, model.precision)
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
            model_of = model_of or model_for(summed, precision)
            given |= _resolve_values(values, model_of.variables, local, scope_unknowns)
            names |= {v: local.get(id(v), model_of.names[v]) for v in model_of.variables}
            given |= {v: d[0] for v, d in draw_at_values(summed, given, model_of, seed,
                                                         names).items()}
        known = list(given)
        out = _evaluate(targets, known, [given[v][None] for v in known], 1, seed, names,
                        precision)
        out = [o[0] for o in out]
    else:
        if nsim is None or nsim < 1:
            raise ValueError("give values= (draws or a dict) or nsim= (prior simulation)")
        names = {v: local.get(id(v), v.name or "") for v in variables}
        out = _evaluate(targets, [], [], int(nsim), seed, names, precision)
    out = [np.rint(o).astype(np.int64) if isinstance(a, Variable) and a.kind == "int" else o
           for o, a in zip(out, targets, strict=True)]
    return out[0] if len(out) == 1 else dict(zip(names_out, out, strict=True))


def _summed_out(variables: list[Variable], model: Any) -> bool:
    return model.discrete is not None and bool(set(variables) & set(model.discrete.variables))


def pointwise_log_likelihood(draws: Draws) -> tuple[dict[str, np.ndarray],
                                                    dict[str, np.ndarray]]:
    """Elementwise log-likelihood of each observed data array at every draw, shape
    (chains, draws, *data shape), with the observed data, both by name."""
    model = draws.model
    B = model.backend
    dtype = model.float_dtype
    terms, names = model.observed_terms, model.observed_names
    if not terms:
        return {}, {}
    variables = model.variables
    batches = [draws[model.names[v]].reshape(-1, *v.shape) for v in variables]

    def one(values: Any) -> Any:
        ev = Evaluator(B, dtype, {}, constrained=dict(zip(variables, values, strict=True)))
        return [B.np.broadcast_to(ev.log_density(t), t.value.shape[:t.value.ndim - (
            t.family.event_ndims)]) for t in terms]

    fn: Callable = B.compile_function(lambda v: B.vectorize(one)(v), xla=False)
    n = draws.n_chains * draws.n_draws
    parts: list[list[np.ndarray]] = [[] for _ in terms]
    for start in range(0, n, _BATCH):
        chunk = [B.convert(b[start:start + _BATCH], dtype) for b in batches]
        for k, value in enumerate(B.to_numpy(fn(chunk))):
            parts[k].append(value)
    loglik = {name: np.concatenate(p).reshape(draws.n_chains, draws.n_draws, *p[0].shape[1:])
              for name, p in zip(names, parts, strict=True)}
    observed = {name: t.value.value for name, t in zip(names, terms, strict=True)}
    return loglik, observed
