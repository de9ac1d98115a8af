"""Observed data that constant parameters rule out: labels past the last category, more
successes than trials, values outside a uniform's or Pareto's support or outside the
truncation bounds. They are errors when the likelihood is written (and at
``Model.set_data``), not a silent -inf or NaN when it is fitted."""

from __future__ import annotations

import numpy as np

from tfstats.arrays import Array, Data, ModelError
from tfstats.families import Family

__all__ = ["constant_value", "check_observed_range", "check_truncated"]


def constant_value(array: Array) -> np.ndarray | None:
    """The value of constant data, or None for anything computed from unknowns."""
    return array.value if isinstance(array, Data) else None


def check_observed_range(family: Family, values: np.ndarray,
                          params: tuple[Array, ...]) -> None:
    """Observed values that the parameters rule out (labels past the last category,
    more successes than trials) are errors now, not a silent -inf or NaN later."""
    name = family.name.replace("_logit", "")
    if name == "categorical":
        n_categories = params[0].shape[-1]
        if values.max() >= n_categories:
            raise ModelError(f"categorical: observed labels must be 0-based integers below "
                             f"the number of categories ({n_categories}), got {values.max()}")
    elif name in ("binomial", "beta_binomial"):
        size = constant_value(params[0])
        if size is not None and np.any(values > size):
            raise ModelError(f"{name}: observed counts must not exceed size (the number of "
                             f"trials), got {values.max()} with size {size.max()}")
    elif name == "discrete_uniform":
        low, high = (constant_value(p) for p in params)
        if np.any(values != np.round(values)) or np.any(values < low) or np.any(
                values > high):
            raise ModelError(f"discrete_uniform: observed values must be integers from low "
                             f"to high, got values from {values.min()} to {values.max()}")
    elif name in ("multinomial", "dirichlet_multinomial"):
        size = constant_value(params[0])
        if size is not None and np.any(values.sum(axis=-1) != size):
            raise ModelError(f"{name}: observed counts must sum to size along the last axis, "
                             f"got sums {np.unique(values.sum(axis=-1))} for size {size}")
    elif name in ("uniform", "pareto"):  # support [lower, upper] and [scale b, inf)
        low = constant_value(params[0] if name == "uniform" else params[1])
        high = constant_value(params[1]) if name == "uniform" else None
        if (low is not None and np.any(values < low)) or (high is not None and np.any(
                values > high)):
            bounds = "from lower to upper" if name == "uniform" else "at least the scale b"
            raise ModelError(f"{name}: observed data must be {bounds}, got values from "
                             f"{values.min()} to {values.max()}")
    elif name == "hypergeometric":
        m, n, k = (constant_value(p) for p in params)
        if (m is not None and np.any(values > m)) or (k is not None and np.any(values > k)) or (
                n is not None and k is not None and np.any(k - values > n)):
            raise ModelError("hypergeometric: observed counts must lie between max(0, k - n) "
                             "and min(m, k)")


def check_truncated(name: str, values: np.ndarray | None,
                     truncation: tuple[Array | None, Array | None] | None) -> None:
    """Observed values outside constant truncation bounds are errors now, not -inf later.

    Examples
    --------
    >>> import numpy as np
    >>> from tfstats.arrays import as_array
    >>> check_truncated("normal", np.array([0.5, -1.0]), (as_array(0.0), None))
    Traceback (most recent call last):
    ...
    tfstats.errors.ModelError: normal: observed data must lie within the truncation bounds; \
got -1.0, below the lower bound 0.0
    """
    if values is None or not values.size or truncation is None:
        return
    for which, bound in zip(("lower", "upper"), truncation, strict=True):
        limit = None if bound is None else constant_value(bound)
        if limit is None:
            continue
        outside = values < limit if which == "lower" else values > limit
        if np.any(outside):
            first = np.broadcast_to(values, outside.shape)[outside][0]
            raise ModelError(f"{name}: observed data must lie within the truncation bounds; "
                             f"got {first}, {'below' if which == 'lower' else 'above'} the "
                             f"{which} bound {np.broadcast_to(limit, outside.shape)[outside][0]}")
