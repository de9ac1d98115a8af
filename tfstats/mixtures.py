"""mixture() and joint(): densities built from other distributions."""

from __future__ import annotations

from typing import Any

import numpy as np

from tfstats.arrays import Array, Data, ModelError, Variable, apply, as_array
from tfstats.distributions import attach, check_values, support_bounds
from tfstats.families import Density, Family
from tfstats.labels import name_observed, observed_name
from tfstats.operations import ShapeError, broadcast_shapes
from tfstats.structure import replace_duplicate
from tfstats.variables import make_variable

__all__ = ["mixture", "joint"]

MIXTURE = Family("mixture", lambda B, *params: None)
JOINT = Family("joint", lambda B, *params: None)


def _components(what: str, components: tuple[Any, ...]) -> list[Density]:
    if len(components) < 2:
        raise ModelError(f"{what} needs at least two distributions")
    parts = []
    for component in components:
        prior = component.prior if isinstance(component, Variable) else None
        if prior is None or prior.components:
            raise ModelError(f"{what} takes distributions called without observed=, "
                             f"e.g. ts.normal(m, s); got {component!r}")
        if prior.family.event_ndims:
            raise ModelError(f"{what} takes univariate distributions, not {prior.family.name}")
        _detach(prior)
        parts.append(prior)
    return parts


def _detach(prior: Density) -> None:
    """A component is a description, not an unknown: drop its prior from the model."""
    for array in prior.arrays():
        for var in array.variables:
            if prior in var.terms:
                var.terms.remove(prior)


def _finish(density: Density, observed: Any, shape: tuple[int, ...],
            parts: list[Density]) -> Array:
    if observed is not None:
        data = as_array(observed, name="observed")
        if data.shape != broadcast_shapes(data.shape, shape, what=density.family.name):
            raise ShapeError(f"{density.family.name}: components of shape {shape} do not fit "
                             f"observed data of shape {data.shape}")
        density.value = data
        data.density = density
        name_observed(data, observed, observed.name if isinstance(observed, Array) else None)
        replace_duplicate(density, observed_name(data))
        attach(density)
        return data
    if any(p.family.discrete for p in parts):
        raise ModelError(f"a {density.family.name} of discrete distributions can only be a "
                         f"likelihood (observed=)")
    bounds = [support_bounds(p.family, p.params, p.truncation) for p in parts]
    if density.family is JOINT:
        lower, upper = (_columns([b[i] for b in bounds], shape, which)
                        for i, which in enumerate(("lower", "upper")))
    else:
        lower, upper = (_union([b[i] for b in bounds], shape, which)
                        for i, which in enumerate(("lower", "upper")))
    unknown = make_variable(lower, upper, shape)
    density.value = unknown
    unknown.prior = density
    attach(density)
    return unknown


def _same_presence(bounds: list[Any], which: str) -> bool:
    present = [b is not None for b in bounds]
    if any(present) and not all(present):
        raise ModelError(f"a mixture or joint unknown needs components that all have a "
                         f"{which} bound or none do (e.g. all positive, or all real)")
    return all(present)


def _union(bounds: list[Any], shape: tuple[int, ...], which: str) -> Any:
    """A mixture's support is the union of its components' supports."""
    if not _same_presence(bounds, which):
        return None
    if all(not isinstance(b, Array) or isinstance(b, Data) for b in bounds):
        values = [b.value if isinstance(b, Data) else np.asarray(b, dtype=np.float64)
                  for b in bounds]
        return np.broadcast_to((np.minimum if which == "lower" else np.maximum).reduce(
            np.broadcast_arrays(*values)), shape)
    op = "minimum" if which == "lower" else "maximum"
    out = bounds[0]
    for bound in bounds[1:]:
        out = apply(op, out, bound)
    return apply("broadcast_to", out, shape=shape)


def _columns(bounds: list[Any], shape: tuple[int, ...], which: str) -> Any:
    """A joint's k-th column has the k-th component's support."""
    if not _same_presence(bounds, which):
        return None
    column_shape = shape[:-1]
    if all(not isinstance(b, Array) or isinstance(b, Data) for b in bounds):
        values = [np.broadcast_to(b.value if isinstance(b, Data) else b, column_shape)
                  for b in bounds]
        return np.stack(values, axis=-1).astype(np.float64)
    return apply("stack", *(apply("broadcast_to", b, shape=column_shape) for b in bounds),
                 axis=-1)


def mixture(*components: Any, weights: Any, observed: Any = None) -> Array:
    """A finite mixture: ``p(y) = sum_k weights[k] p_k(y)``.

    Parameters
    ----------
    *components : Array
        Distributions called without ``observed=`` (``ts.normal(m[0], s[0])``); they
        describe the components and are not unknowns of the model.
    weights : array or Array
        Mixture weights on the last axis (one per component), summing to one.
    observed : array or Array, optional
        Data for a likelihood; without it, the mixture is the prior of a new unknown.

    Examples
    --------
    >>> import numpy as np, tfstats as ts
    >>> mu = ts.ordered_variable(dim=2)
    >>> theta = ts.beta(5, 5)
    >>> y = ts.mixture(ts.normal(mu[0], 1), ts.normal(mu[1], 1),
    ...                weights=ts.stack([theta, 1 - theta]), observed=np.array([-1.0, 2.0]))
    """
    parts = _components("mixture", components)
    w = as_array(weights, name="mixture weights")
    if not w.shape or w.shape[-1] != len(parts):
        raise ShapeError(f"mixture: weights of shape {w.shape} need a last axis of "
                         f"{len(parts)} (one per component)")
    if isinstance(w, Data):
        check_values(w.value, "simplex", "mixture: weights")
    shape = broadcast_shapes(w.shape[:-1], *(p.value.shape for p in parts), what="mixture")
    density = Density(MIXTURE, (w,), None, components=tuple(parts))
    return _finish(density, observed, shape, parts)


def joint(*components: Any, observed: Any = None) -> Array:
    """Independent distributions for the columns (last axis) of one array.

    Examples
    --------
    >>> import numpy as np, tfstats as ts
    >>> y = ts.joint(ts.normal(0, 1), ts.exponential(1),
    ...              observed=np.array([[0.1, 2.0], [-0.3, 0.5]]))
    """
    parts = _components("joint", components)
    base = broadcast_shapes(*(p.value.shape for p in parts), what="joint")
    shape = (*base, len(parts))
    density = Density(JOINT, (), None, components=tuple(parts))
    if observed is not None:
        data = as_array(observed, name="observed")
        if not data.shape or data.shape[-1] != len(parts):
            raise ShapeError(f"joint: observed of shape {data.shape} needs a last axis of "
                             f"{len(parts)} (one column per distribution)")
        broadcast_shapes(data.shape, shape, what="joint")
        shape = data.shape
    return _finish(density, observed, shape, parts)

