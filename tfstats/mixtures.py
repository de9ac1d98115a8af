"""mixture() and joint(): densities built from other distributions."""

from __future__ import annotations

from typing import Any

from tfstats.arrays import Array, Data, ModelError, Variable, as_array
from tfstats.distributions import (
    Density, Family, _check_values, _support_constraint, attach,
)
from tfstats.operations import ShapeError, broadcast_shapes

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
        attach(density)
        return data
    if any(p.family.discrete for p in parts):
        raise ModelError(f"a {density.family.name} of discrete distributions can only be a "
                         f"likelihood (observed=)")
    supports = {(p.family.support, p.truncation is None) for p in parts}
    if len(supports) > 1:
        raise ModelError(f"a {density.family.name} unknown needs components with one support")
    first = parts[0]
    unknown = _support_constraint(first.family, first.params, first.truncation, shape)
    density.value = unknown
    unknown.prior = density
    attach(density)
    return unknown


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
        _check_values(w.value, "simplex", "mixture: weights")
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

