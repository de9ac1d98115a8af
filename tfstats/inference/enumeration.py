"""Discrete unknowns with finite support, summed out of the log density.

A model's discrete unknowns (``bernoulli``, ``categorical``, ``binomial`` with a data size,
``discrete_uniform``) are not free variables of the samplers: the density terms that
involve them are summed over their support, as NumPyro's enumeration does and as Stan
users write by hand. Unknowns linked by a shared term form a *group*, enumerated together:

- a *plate*: one unknown ``z`` whose element ``i`` reaches only element ``i`` of every
  term that uses it (mixture assignments: ``mu[z]``, elementwise arithmetic). The terms
  are evaluated with every element set to each support value (a vectorised map over the
  ``K`` values), and each row is summed out on its own: ``sum_i logsumexp_k lp[k, i]``;
- otherwise the group's joint configurations (a change point ``s`` used by
  ``np.where(t < s, e, l)``): every configuration evaluated, vectorised, then one
  ``logsumexp``. More than ``MAX_CONFIGURATIONS`` is an error naming the unknowns.

The same log weights give exact conditional draws of the discrete unknowns for each
draw of the continuous ones (``calculate``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from tfstats.arrays import Array, Data, ModelError, Variable
from tfstats.families import Density, Family
from tfstats.graph import Evaluator, topological
from tfstats.operations import OPS
from tfstats.variables import Interval

__all__ = ["MAX_CONFIGURATIONS", "FINITE", "Group", "Enumeration", "discrete_unknown",
           "split_discrete", "draw_discrete", "draw_at_values"]

MAX_CONFIGURATIONS = 10**6
FINITE = ("bernoulli", "categorical", "binomial", "discrete_uniform")

_EVENT_PARAM = ("categorical", "categorical_logit")  # parameters with one category axis


# --- making discrete unknowns --------------------------------------------------------------

def _base_name(family: Family) -> str:
    return family.name.replace("_logit", "")


def support(family: Family, params: tuple[Array, ...],
            shape: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray]:
    """The (lowest, highest) value of each element of a finite discrete unknown."""
    name = _base_name(family)
    if name == "bernoulli":
        low, high = np.zeros(shape, np.int64), np.ones(shape, np.int64)
    elif name == "categorical":
        low, high = np.zeros(shape, np.int64), np.full(shape, params[0].shape[-1] - 1)
    elif name == "binomial":
        if not isinstance(params[0], Data):
            raise ModelError("binomial: as an unknown (no observed=) its size must be data "
                             "(a fixed number of trials), so that its support is finite")
        low, high = np.zeros(shape, np.int64), params[0].value
    else:
        low, high = params[0].value, params[1].value  # discrete_uniform checks both are data
    return (np.broadcast_to(np.asarray(low, np.int64), shape).copy(),
            np.broadcast_to(np.asarray(high, np.int64), shape).copy())


def discrete_unknown(family: Family, params: tuple[Array, ...],
                     shape: tuple[int, ...]) -> Variable:
    """An unknown of a discrete family. One with finite support holds integers (it can
    index arrays) and is summed out of the model's density; others (poisson, ...) remain
    usable only as mixture components."""
    name = _base_name(family)
    unknown = Variable(Interval(), shape, discrete=name)
    if name in FINITE:
        support(family, params, shape)  # errors now, where the model is written
        unknown.kind = "int"
    return unknown


# --- groups --------------------------------------------------------------------------------

@dataclass(eq=False)
class Group:
    """Discrete unknowns enumerated together, and the density terms that involve them."""

    variables: list[Variable]
    terms: list[Density]
    lows: list[np.ndarray]
    highs: list[np.ndarray]
    plate: bool

    @property
    def n_values(self) -> list[int]:
        return [int(h.max() - lo.min() + 1) for lo, h in zip(self.lows, self.highs,
                                                                strict=True)]

    def configurations(self) -> int:
        """Values evaluated per row (plate) or joint configurations."""
        if self.plate:
            return self.n_values[0]
        total = 1
        for k, var in zip(self.n_values, self.variables, strict=True):
            total *= k ** var.size
        return total


@dataclass(eq=False)
class Enumeration:
    """The discrete unknowns of a model, by group."""

    groups: list[Group]
    names: dict[Variable, str]

    @property
    def variables(self) -> list[Variable]:
        return [v for g in self.groups for v in g.variables]

    def log_marginal(self, ev: Evaluator) -> Any:
        """The terms of every group, summed over the group's support."""
        B = ev.B
        total = B.convert(0.0, ev.float)
        for group in self.groups:
            weights = log_weights(ev, group)
            total = total + B.cast(B.np.sum(B.special.logsumexp(weights, axis=0)), ev.float)
        return total


def split_discrete(variables: list[Variable], terms: list[Density],
                   names: dict[Variable, str]) -> tuple[list[Variable], list[Density],
                                                        Enumeration | None]:
    """Continuous unknowns, the terms free of discrete unknowns, and the enumeration of
    the discrete unknowns (None when there are none)."""
    discrete = [v for v in variables if v.discrete]
    if not discrete:
        return variables, terms, None
    continuous = [v for v in variables if not v.discrete]
    for var in continuous:
        if any(p.variables & set(discrete) for p in var.parents):
            raise ModelError(f"the bounds of {names.get(var) or 'an unknown'!r} depend on a "
                             f"discrete unknown; bounds may use continuous unknowns only")
    involved = {id(t): {v for a in t.arrays() for v in a.variables if v.discrete}
                for t in terms}
    groups = _groups(discrete, terms, involved, names)
    free = [t for t in terms if not involved[id(t)]]
    return continuous, free, Enumeration(groups, {v: names.get(v, "") for v in discrete})


def _groups(discrete: list[Variable], terms: list[Density], involved: dict[int, set],
            names: dict[Variable, str]) -> list[Group]:
    parent = {v: v for v in discrete}

    def root(v: Variable) -> Variable:
        while parent[v] is not v:
            v = parent[v]
        return v

    for term in terms:
        linked = sorted(involved[id(term)], key=lambda v: v.serial)
        for other in linked[1:]:
            parent[root(other)] = root(linked[0])
    groups = []
    for head in [v for v in discrete if root(v) is v]:
        members = [v for v in discrete if root(v) is head]
        group_terms = [t for t in terms if involved[id(t)] & set(members)]
        bounds = [support(v.prior.family, v.prior.params, v.shape) for v in members]
        plate = len(members) == 1 and all(_aligned_term(t, members[0]) for t in group_terms)
        group = Group(members, group_terms, [b[0] for b in bounds], [b[1] for b in bounds],
                      plate)
        if group.configurations() > MAX_CONFIGURATIONS:
            listed = ", ".join(f"{names.get(v) or 'unnamed'} (shape {v.shape}, "
                               f"{k} values)" for v, k in zip(members, group.n_values,
                                                              strict=True))
            raise ModelError(
                f"the discrete unknowns {listed} have {group.configurations():.3g} joint "
                f"configurations, more than the {MAX_CONFIGURATIONS:.0e} that can be "
                f"summed out; only a plate whose element i reaches only element i of the "
                f"terms using it (e.g. mu[z], elementwise arithmetic) is summed row by row")
        groups.append(group)
    return groups


# --- is element i of z used only by element i of each term? --------------------------------

def _aligned_term(term: Density, var: Variable) -> bool:
    family = term.family
    if family.event_ndims or family.name in ("mixture", "joint") or term.components:
        return False
    arrays = [(a, a.shape[:-1] if family.name in _EVENT_PARAM and a is not term.value
               else a.shape) for a in term.arrays()]
    shape = tuple(np.broadcast_shapes(*(s for _, s in arrays)))
    memo: dict[int, bool] = {}
    return all(_aligned(a, var, memo) and len(s) == len(shape)
               for a, s in arrays if var in a.variables) and _leading(shape, var.shape)


def _leading(shape: tuple[int, ...], rows: tuple[int, ...]) -> bool:
    return tuple(shape[:len(rows)]) == tuple(rows)


def _aligned(node: Array, var: Variable, memo: dict[int, bool]) -> bool:
    """Whether ``node`` (which depends on ``var``) has ``var``'s shape as its leading axes,
    element ``i`` of those depending only on element ``i`` of ``var``."""
    if node is var:
        return True
    if id(node) not in memo:
        memo[id(node)] = _aligned_op(node, var, memo)
    return memo[id(node)]


def _aligned_op(node: Array, var: Variable, memo: dict[int, bool]) -> bool:
    using = [p for p in node.parents if var in p.variables]
    if isinstance(node, Variable) or not all(_aligned(p, var, memo) for p in using):
        return False
    if not _leading(node.shape, var.shape):
        return False
    if OPS[node.op].elementwise:
        return all(p.ndim == node.ndim for p in using)
    if node.op != "getitem":
        return False
    x, *index = node.parents
    basic, advanced = node.params["basic"], node.params["advanced"]
    rows = len(var.shape)
    if var in x.variables:  # slicing an aligned array: its leading axes kept whole
        full = all(isinstance(b, slice) and b == slice(None) for b in basic[:rows])
        return (full and len(basic) >= rows and not any(var in i.variables for i in index)
                and all(axis >= rows for axis, _ in advanced))
    # an aligned index array (mu[z]) placing its rows first
    axes = sorted(axis for axis, _ in advanced)
    widest = max(i.ndim for i in index)
    return (axes == list(range(len(axes))) and all(i.ndim == widest for i in index
                                                   if var in i.variables))


# --- evaluation ----------------------------------------------------------------------------

def _precompute(ev: Evaluator, group: Group) -> None:
    """Everything the group's terms use that is free of discrete unknowns, once, outside
    the map over configurations (so unknowns' Jacobians are counted once)."""
    for node in topological([a for t in group.terms for a in t.arrays()]):
        if not any(v.discrete for v in node.variables):
            ev(node)


def _child(ev: Evaluator) -> Evaluator:
    child = Evaluator(ev.B, ev.float, {}, flat=ev._flat, layout=ev._layout)
    child.values = dict(ev.values)
    return child


def _assign(child: Evaluator, var: Variable, value: Any, low: np.ndarray,
            high: np.ndarray) -> Any:
    """Set ``var`` to ``value`` clipped into its support; the mask of valid elements."""
    B = child.B
    lo, hi = B.convert(low.astype(np.int32)), B.convert(high.astype(np.int32))
    valid = B.np.logical_and(B.np.greater_equal(value, lo), B.np.less_equal(value, hi))
    child.values[var] = B.np.minimum(B.np.maximum(value, lo), hi)
    return valid


def _rows(B: Any, lp: Any, shape: tuple[int, ...]) -> Any:
    extra = tuple(range(len(shape), len(lp.shape)))
    if extra:
        lp = B.np.sum(lp, axis=extra)
    return B.np.broadcast_to(lp, shape)


def log_weights(ev: Evaluator, group: Group) -> Any:
    """Log joint density of the group's terms at each support value: shape (K, *rows) for
    a plate, (configurations,) otherwise."""
    B = ev.B
    _precompute(ev, group)
    minus_inf = B.convert(-np.inf, ev.float)
    if group.plate:
        var, low, high = group.variables[0], group.lows[0], group.highs[0]

        def one_value(k: Any) -> Any:
            child = _child(ev)
            valid = _assign(child, var, k + B.np.zeros(var.shape, dtype=B.int_dtype()),
                            low, high)
            total = B.np.zeros(var.shape, dtype=ev.float)
            for term in group.terms:
                total = total + _rows(B, B.cast(child.log_density(term), ev.float), var.shape)
            return B.np.where(valid, total, minus_inf)

        return B.map_values(one_value, np.arange(low.min(), high.max() + 1, dtype=np.int32))

    strides = _strides(group)

    def one_configuration(index: Any) -> Any:
        child = _child(ev)
        valid = True
        for var, low, high, (stride, k) in zip(group.variables, group.lows, group.highs,
                                               strides, strict=True):
            digit = B.np.mod(B.np.floor_divide(index, B.convert(stride)), k)
            ok = _assign(child, var, digit + int(low.min()), low, high)
            valid = B.np.logical_and(valid, B.np.all(ok))
        total = B.convert(0.0, ev.float)
        for term in group.terms:
            total = total + B.cast(B.np.sum(child.log_density(term)), ev.float)
        return B.np.where(valid, total, minus_inf)

    return B.map_values(one_configuration, np.arange(group.configurations(), dtype=np.int32))


def _strides(group: Group) -> list[tuple[np.ndarray, int]]:
    """Per unknown: the mixed-radix place value of each element, and its radix."""
    out, place = [], 1
    for var, k in zip(group.variables, group.n_values, strict=True):
        out.append(((place * k ** np.arange(var.size)).reshape(var.shape).astype(np.int32), k))
        place *= k ** var.size
    return out


def _decode(group: Group, index: np.ndarray) -> dict[Variable, np.ndarray]:
    out = {}
    for var, low, (stride, k) in zip(group.variables, group.lows, _strides(group),
                                     strict=True):
        out[var] = (index[:, None] // stride.reshape(1, -1) % k).reshape(
            (-1, *var.shape)) + int(low.min())
    return out


# --- conditional draws -----------------------------------------------------------------------

def _weights_function(model: Any) -> Callable:
    def build() -> Callable:
        B = model.backend

        def one(values: Any, *data: Any) -> Any:
            ev = model.evaluator(data, constrained=dict(zip(model.variables, values,
                                                            strict=True)))
            return [log_weights(ev, g) for g in model.discrete.groups]

        batched = B.vectorize(one)
        return B.compile_function(lambda values, *data: batched(values, *data), xla=False)

    return model.compiled("discrete_log_weights", build)


def draw_discrete(model: Any, values: dict[Variable, np.ndarray], seed: int | None
                  ) -> dict[Variable, np.ndarray]:
    """One draw of every discrete unknown of ``model`` from its exact conditional given
    each draw of the continuous unknowns (``values``: (n, *shape) arrays by unknown)."""
    B = model.backend
    rng = np.random.default_rng(seed)
    n = len(next(iter(values.values()))) if values else 1
    fn = _weights_function(model)
    per_draw = max(g.configurations() * (g.variables[0].size if g.plate else 1)
                   for g in model.discrete.groups)
    batch = int(max(1, min(1000, 10**7 // per_draw)))
    parts: dict[Variable, list[np.ndarray]] = {v: [] for v in model.discrete.variables}
    for start in range(0, n, batch):
        chunk = [B.convert(np.asarray(values[v][start:start + batch]), model.float_dtype)
                 for v in model.variables]
        weights = B.to_numpy(fn(chunk, *model.data_tensors()))
        for group, w in zip(model.discrete.groups, weights, strict=True):
            w = np.asarray(w, dtype=np.float64)
            pick = np.argmax(w + rng.gumbel(size=w.shape), axis=1)
            if group.plate:
                drawn = {group.variables[0]: pick + int(group.lows[0].min())}
            else:
                drawn = _decode(group, pick)
            for var, value in drawn.items():
                parts[var].append(value)
    return {v: np.concatenate(p) for v, p in parts.items()}


def draw_at_values(summed: list[Variable], given: dict[Variable, np.ndarray], model: Any,
                   seed: int | None, names: dict[Variable, str]) -> dict[Variable, np.ndarray]:
    """One conditional draw of the discrete unknowns ``summed`` of ``model`` given the
    values of every continuous unknown of it."""
    missing = [names.get(v) or model.names[v] for v in model.variables if v not in given]
    if missing:
        wanted = ", ".join(repr(names.get(v) or "a discrete unknown") for v in summed)
        raise ModelError(f"to draw {wanted} from the conditional given the other unknowns, "
                         f"values= needs every continuous unknown of the model; missing "
                         f"{missing}")
    return draw_discrete(model, {v: given[v][None] for v in model.variables}, seed)
