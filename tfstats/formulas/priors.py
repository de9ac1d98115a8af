"""Priors of ``glm``: bambi's weakly informative defaults scaled to the data, and the
user's ``(distribution name, *arguments)`` by unknown name, made into tfstats unknowns.

The defaults follow bambi's ``PriorScaler`` (2.5 standard deviations of the response per
standard deviation of the predictor, as rstanarm): for a gaussian or student response
``y``, ``Intercept ~ normal(mean(y), s_0)``, a slope on a column ``x`` ``~ normal(0,
2.5 sd(y) / sd(x))``, ``sigma ~ half_student(4, sd(y))``; for the other families the same
with ``mean(y) = 0`` and ``sd(y) = 1``. ``s_0 = sqrt((2.5 sd(y))^2 + sum_j s_j^2
mean(x_j)^2)`` over the slopes' scales ``s_j``. A group-specific term's sd is
``half_normal`` with the scale its common counterpart would have; ``nu ~ gamma(2, 0.1)``
and ``alpha ~ half_cauchy(1)`` (bambi's and brms's). The correlation matrix of a group's
correlated effects is ``lkj(1)``, uniform over correlation matrices (brms's default).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from tfstats import distributions as dist
from tfstats import scale_priors, variables
from tfstats.errors import ModelError

__all__ = ["PRIOR_NAMES", "Prior", "make_unknown", "check_prior"]

STD = 2.5

Prior = tuple  # ("normal", 0, 1)


# name -> (constructor(*args, dim), number of arguments, real line?)
_CONSTRUCTORS: dict[str, tuple[Any, int, bool]] = {
    "normal": (lambda m, s, dim: dist.normal(m, s, dim=dim), 2, True),
    "student": (lambda df, m, s, dim: dist.student(df, m, s, dim=dim), 3, True),
    "cauchy": (lambda m, s, dim: dist.cauchy(m, s, dim=dim), 2, True),
    "laplace": (lambda m, s, dim: dist.laplace(m, s, dim=dim), 2, True),
    "logistic": (lambda m, s, dim: dist.logistic(m, s, dim=dim), 2, True),
    "uniform": (lambda lo, hi, dim: dist.uniform(lo, hi, dim=dim), 2, False),
    "half_normal": (lambda s, dim: scale_priors.half_normal(s, dim=dim), 1, False),
    "half_cauchy": (lambda s, dim: scale_priors.half_cauchy(s, dim=dim), 1, False),
    "half_student": (lambda df, s, dim: scale_priors.half_student(df, s, dim=dim), 2, False),
    "exponential": (lambda r, dim: dist.exponential(r, dim=dim), 1, False),
    "gamma": (lambda a, r, dim: dist.gamma(a, r, dim=dim), 2, False),
    "inverse_gamma": (lambda a, b, dim: dist.inverse_gamma(a, b, dim=dim), 2, False),
    "lognormal": (lambda m, s, dim: dist.lognormal(m, s, dim=dim), 2, False),
    "weibull": (lambda k, s, dim: dist.weibull(k, s, dim=dim), 2, False),
    "flat": (None, 0, True),
    # the LKJ prior of a correlation matrix; ``dim`` is the shape of its Cholesky factor
    "lkj": (lambda eta, dim: scale_priors.lkj_cholesky(eta, dim[0]), 1, False),
}
PRIOR_NAMES = tuple(_CONSTRUCTORS)


def check_prior(name: str, prior: Any, correlation: bool = False) -> Prior:
    """``prior`` as a validated tuple, or an error naming the unknown it was given for.
    A correlation matrix (``correlation``) takes only ``("lkj", eta)``, and only it."""
    if isinstance(prior, str):
        prior = (prior,)
    if not isinstance(prior, tuple | list) or not prior or not isinstance(prior[0], str):
        raise TypeError(f"the prior of {name!r} must be (distribution name, *arguments), e.g. "
                        f"('normal', 0, 1); got {prior!r}")
    if prior[0] not in _CONSTRUCTORS:
        raise ValueError(f"the prior of {name!r}: unknown distribution {prior[0]!r}; choose "
                         f"one of {list(PRIOR_NAMES)}")
    if correlation != (prior[0] == "lkj"):
        raise ValueError(f"the prior of {name!r}: " + (
            f"a correlation matrix takes ('lkj', eta), got {tuple(prior)!r}" if correlation
            else "'lkj' is the prior of a group's correlation matrix (named like 'g_corr')"))
    n_args = _CONSTRUCTORS[prior[0]][1]
    if len(prior) - 1 != n_args:
        raise ValueError(f"the prior of {name!r}: {prior[0]!r} takes {n_args} argument(s), "
                         f"got {len(prior) - 1} in {tuple(prior)!r}")
    return tuple(prior)


def make_unknown(prior: Prior, shape: tuple[int, ...], positive: bool = False,
                 name: str = "") -> Any:
    """A new unknown of ``shape`` with this prior. A prior on the real line given to a
    positive parameter is truncated at zero (as a Stan model's ``<lower=0>`` does). An
    argument outside its support is a ModelError naming the unknown (``name``)."""
    try:
        return _make_unknown(prior, shape, positive)
    except ModelError as error:
        raise ModelError(f"the prior of {name!r}: {error}") from None


def _make_unknown(prior: Prior, shape: tuple[int, ...], positive: bool) -> Any:
    make, _, real_line = _CONSTRUCTORS[prior[0]]
    dim = shape or None
    args = [np.asarray(a, dtype=np.float64) if np.ndim(a) else a for a in prior[1:]]
    if make is None:
        return variables.variable(lower=0 if positive else -np.inf, dim=dim)
    if positive and real_line:
        family = getattr(dist, prior[0])
        return family(*args, dim=dim, truncation=(0, None))
    return make(*args, dim=dim)


# --- bambi's defaults --------------------------------------------------------------------------

def _slope_scale(column: np.ndarray, response_sd: float) -> float:
    sd = float(np.std(column))
    return STD * response_sd / sd if sd > 0 else STD * response_sd


def default_priors(design: Any, gaussian_like: bool, y: np.ndarray) -> dict[str, Prior]:
    """bambi's default prior of every common term, the intercept and each group term's sd,
    by unknown name."""
    mean, sd = (float(np.mean(y)), float(np.std(y))) if gaussian_like else (0.0, 1.0)
    sd = sd if sd > 0 else 1.0
    priors: dict[str, Prior] = {}
    slopes = np.array([_slope_scale(c, sd) for c in design.X.T])
    for term in design.common:
        scales = slopes[term.columns]
        priors[term.name] = ("normal", 0.0, scales if len(scales) > 1 else float(scales[0]))
    intercept_sd = float(np.sqrt((STD * sd) ** 2 + np.sum(slopes**2 * design.X.mean(axis=0)**2)))
    if design.intercept:
        priors["Intercept"] = ("normal", mean, intercept_sd)
    for term in design.group:
        if term.is_intercept:
            scale = np.full(term.width, intercept_sd)
        else:
            scale = np.array([_slope_scale(c, sd) for c in term.predictor.T])
        priors[f"{term.name}_sigma"] = ("half_normal", scale if term.width > 1 else
                                        float(scale[0]))
    priors["sigma"] = ("half_student", 4.0, sd)
    priors["nu"] = ("gamma", 2.0, 0.1)
    priors["alpha"] = ("half_cauchy", 1.0)
    return priors
