"""factor(): an arbitrary term added to a model's log density (Stan's ``target +=``,
PyMC's ``Potential``, ``numpyro.factor``)."""

from __future__ import annotations

from typing import Any

from tfstats.arrays import Array, ModelError, as_array
from tfstats.families import FAMILIES, Density, Family
from tfstats.structure import replace_duplicate

__all__ = ["factor"]


def _factor_log_prob(B: Any, x: Any) -> Any:
    return x


def _no_distribution(B: Any) -> None:
    return None  # a factor is not a distribution: nothing to simulate from


FACTOR = Family("factor", _no_distribution, log_prob=_factor_log_prob)
FAMILIES.setdefault(FACTOR.name, FACTOR)


def factor(expr: Any) -> Array:
    """Add ``expr`` to the model's log density (summed when it is an array).

    ``expr`` may use any unknowns. The term counts wherever the density does:
    ``Model.log_prob``, MCMC, MAP and MLE (``opt(adjust=False)`` leaves out only the
    Jacobians of the transformations, as PyMC's ``Potential`` counts in its MLE), and
    variational inference. It is not a distribution, so posterior and prior predictive
    simulation (``calculate(..., nsim=)``) leave it out.

    Parameters
    ----------
    expr : Array
        A scalar or array of the model that depends on at least one unknown.

    Returns
    -------
    Array
        ``expr``, as an array.

    Examples
    --------
    >>> import tfstats as ts
    >>> mu = ts.variable()
    >>> _ = ts.factor(-0.5 * mu**2)          # a standard normal density, up to a constant
    >>> m = ts.model(mu)
    >>> m.log_prob({"mu": 2.0})
    -2.0
    """
    array = as_array(expr, name="factor")
    if not isinstance(array, Array) or array.kind == "bool":
        raise ModelError(f"factor() takes a numeric array of the model, got {expr!r}")
    if not array.variables:
        raise ModelError("factor(): the expression depends on no unknown, so it is a "
                         "constant and cannot change the model; write it with the model's "
                         "unknowns")
    density = Density(FACTOR, (), array)
    replace_duplicate(density, "factor")  # a re-run line is counted once
    for var in array.variables:
        var.terms.append(density)
    return array
