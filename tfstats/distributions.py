"""Distributions: each call makes an unknown with that prior, or, with ``observed=``, adds a
likelihood term. Thin wrappers over TFP distributions, with greta's names and
parameterisations, and truncation for continuous univariates (``mixture`` and ``joint``
build on these in ``mixtures``).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from tfstats.arrays import Array, Data, ModelError, MutableData, Variable, apply, as_array
from tfstats.families import FAMILIES, Density, Family
from tfstats.inference.enumeration import discrete_unknown
from tfstats.labels import name_observed, observed_name, remember_dim
from tfstats.observed_ranges import check_observed_range, check_truncated, constant_value
from tfstats.operations import ShapeError, broadcast_shapes
from tfstats.structure import replace_duplicate
from tfstats.variables import (
    CorrelationMatrix,
    CovarianceMatrix,
    Simplex,
    as_shape,
    make_variable,
)

__all__ = ["as_parameters", "validate_parameters", "check_values",
    "normal", "lognormal", "student", "cauchy", "laplace", "logistic",
    "uniform", "exponential", "gamma", "inverse_gamma", "weibull", "pareto", "beta",
    "chi_squared", "f", "bernoulli", "binomial", "beta_binomial", "negative_binomial",
    "poisson", "hypergeometric", "categorical", "discrete_uniform", "multinomial", "dirichlet",
    "dirichlet_multinomial", "multivariate_normal", "wishart", "lkj_correlation",
    "check_data_values",
]

# --- checks --------------------------------------------------------------------------------

def check_values(values: np.ndarray, check: str, what: str) -> None:
    values = np.asarray(values, dtype=np.float64)
    problems = {
        "positive": (values <= 0).any(), "nonnegative": (values < 0).any(),
        "probability": ((values < 0) | (values > 1)).any(),
        "unit": ((values <= 0) | (values >= 1)).any(),
        "count": ((values < 0) | (values != np.round(values))).any(),
        "binary": ((values != 0) & (values != 1)).any(),
        "simplex": (values < 0).any() or not np.allclose(values.sum(axis=-1), 1.0, atol=1e-6),
    }
    if check == "covariance":
        try:
            sym = np.allclose(values, np.swapaxes(values, -1, -2))
            np.linalg.cholesky(values)
        except (np.linalg.LinAlgError, ValueError):
            sym = False
        if not sym:
            raise ModelError(f"{what} must be a symmetric positive definite matrix")
        return
    labels = {
        "positive": "positive", "nonnegative": "non-negative",
        "probability": "between 0 and 1", "unit": "strictly between 0 and 1",
        "count": "non-negative integers", "binary": "0 or 1",
        "simplex": "non-negative and sum to 1 along the last axis",
    }
    if problems.get(check, False):
        shown = values.min() if check in ("positive", "nonnegative", "count") else values.ravel()[
            :5]
        raise ModelError(f"{what} must be {labels[check]}, got {shown}")


def validate_parameters(family: Family, names: tuple[str, ...], params: tuple[Array, ...]) -> None:
    for name, param, check in zip(names, params, family.checks, strict=False):
        values = constant_value(param)
        if check and values is not None:
            check_values(values, check, f"{family.name}: {name}")


# --- making unknowns and likelihoods -------------------------------------------------------------

def support_bounds(family: Family, params: tuple[Array, ...],
                   truncation: tuple[Array | None, Array | None] | None) -> tuple[Any, Any]:
    """The (lower, upper) bounds of a univariate family's support after truncation; None
    where unbounded."""
    lower: Any = None
    upper: Any = None
    if family.support == "positive":
        lower = 0.0
    elif family.support == "unit":
        lower, upper = 0.0, 1.0
    elif family.support == "bounded":
        lower, upper = params
    elif family.support == "pareto":
        lower = params[1]
    if truncation is not None:
        lower = truncation[0] if truncation[0] is not None else lower
        upper = truncation[1] if truncation[1] is not None else upper
    return lower, upper


def _support_constraint(family: Family, params: tuple[Array, ...],
                        truncation: tuple[Array | None, Array | None] | None,
                        shape: tuple[int, ...]) -> Variable:
    if family.support == "simplex":
        return Variable(Simplex(), shape)
    if family.support == "correlation":
        return Variable(CorrelationMatrix(), shape)
    if family.support == "covariance":
        return Variable(CovarianceMatrix(), shape)
    lower, upper = support_bounds(family, params, truncation)
    return make_variable(lower, upper, shape)


def _distribution_shape(family: Family, params: tuple[Array, ...], dim: Any) -> tuple[int, ...]:
    shape = as_shape(dim)
    name = family.name.replace("_logit", "").replace("_log", "")
    shapes = [p.shape for p in params]
    if name in ("dirichlet", "multinomial", "dirichlet_multinomial", "categorical"):
        event = params[-1].shape
        if not event:
            raise ShapeError(f"{name}: the last parameter must have a category axis")
        batch = broadcast_shapes(event, *([(*s, 1) for s in shapes[:-1]]), what=name)
        if name == "categorical":
            batch = batch[:-1]
        if shape is None:
            return batch
        if len(params[-1].shape) > 1:
            raise ShapeError(f"{name}: dim= needs a 1-D parameter, got shape {event}")
        return shape + (batch[-1:] if name != "categorical" else ())
    if name == "multivariate_normal":
        mean, sigma = shapes
        if len(sigma) < 2 or sigma[-1] != sigma[-2] or (mean and mean[-1] != sigma[-1]):
            raise ShapeError(f"multivariate_normal: mean of shape {mean} and Sigma of shape "
                             f"{sigma} do not fit (Sigma must be K x K with K = len(mean))")
        base = broadcast_shapes(mean if mean else sigma[-1:], sigma[:-1], what=name)
        return shape + base[-1:] if shape is not None else base
    if name == "wishart":
        return shapes[1]
    if name == "lkj_correlation":
        d = params[1].shape[-1]  # the dimension is the length of a marker (static in JAX)
        return (d, d)
    base = broadcast_shapes(*shapes, what=name)
    if shape is None:
        return base
    try:
        full = broadcast_shapes(base, shape, what=name)
    except ShapeError:
        raise ShapeError(f"{name}: parameters of shape {base} do not fit dim {shape}") from None
    if full != shape:
        raise ShapeError(f"{name}: parameters of shape {base} do not fit dim {shape}")
    return shape


def _truncation(family: Family, truncation: Any) -> tuple[Array | None, Array | None] | None:
    if truncation is None:
        return None
    if family.discrete or family.event_ndims:
        raise ModelError(f"truncation= is for continuous univariate distributions, "
                         f"not {family.name}")
    if family.name == "f":
        raise ModelError("truncation= is not available for the f distribution")
    try:
        low, high = truncation
    except (TypeError, ValueError):
        raise ModelError(f"truncation must be a pair (lower, upper), got {truncation!r}") from None
    bounds = []
    for which, bound in (("lower", low), ("upper", high)):
        if bound is None or (not isinstance(bound, Array) and np.all(np.isinf(bound))):
            bounds.append(None)
        else:
            bounds.append(as_array(bound, name=f"truncation {which}"))
    if all(b is None for b in bounds):
        return None
    lo, hi = bounds
    if isinstance(lo, Data) and isinstance(hi, Data) and np.any(lo.value >= hi.value):
        raise ModelError("truncation: the lower bound must be below the upper bound")
    return lo, hi


def _check_observed(family: Family, observed: Array, shape: tuple[int, ...],
                    params: tuple[Array, ...]) -> None:
    if family.event_ndims:
        nd = family.event_ndims
        if observed.shape[-nd:] != shape[-nd:]:
            raise ShapeError(f"{family.name}: observed shape {observed.shape} does not match the "
                             f"distribution's shape {shape} on the last {nd} axes")
        broadcast_shapes(observed.shape[:-nd], shape[:-nd], what=f"{family.name} observed")
    elif observed.shape != broadcast_shapes(observed.shape, shape,
                                            what=f"{family.name} observed"):
        raise ShapeError(f"{family.name}: parameters of shape {shape} do not fit observed data "
                         f"of shape {observed.shape}")
    values = constant_value(observed)
    if values is not None and family.observed_check:
        check_values(values, family.observed_check, f"{family.name}: observed data")
    if values is not None and values.size:
        check_observed_range(family, values, params)


def check_data_values(density: Density, node: Data, values: np.ndarray) -> None:
    """The checks made when ``density`` was written, for new ``values`` of its data ``node``
    (a parameter's support, the observed data's support and range): ``Model.set_data``."""
    family = density.family
    for k, (param, check) in enumerate(zip(density.params, family.checks, strict=False)):
        if param is node and check:
            check_values(values, check, f"{family.name}: parameter {k + 1}")
    if density.value is node:
        if family.observed_check:
            check_values(values, family.observed_check, f"{family.name}: observed data")
        if values.size:
            check_observed_range(family, values, density.params)
        check_truncated(family.name, values, density.truncation)


def attach(density: Density) -> None:
    """Register a density term on every unknown it involves, so ``model()`` finds it."""
    found: set[Variable] = set()
    for array in density.arrays():
        found |= array.variables
    for var in found:
        if density not in var.terms:
            var.terms.append(density)


def as_parameters(family: Family, names: tuple[str, ...], values: tuple[Any, ...]) -> tuple[Array,
                                                                                       ...]:
    params = tuple(as_array(v, name=f"{family.name} {n}") for v, n in zip(values, names,
                                                                           strict=True))
    for param in params:
        if isinstance(param, Variable) and param.discrete and param.kind != "int":
            raise ModelError(f"{param.discrete} is a discrete distribution: it cannot be a "
                             f"parameter of {family.name}; discrete unknowns summed out of the "
                             f"model are bernoulli, categorical, binomial and "
                             f"discrete_uniform")
    return params


def distribution(family_name: str, names: tuple[str, ...], values: tuple[Any, ...], *,
                 dim: Any = None, truncation: Any = None, observed: Any = None) -> Array:
    """Make an unknown with this prior, or (with ``observed``) a likelihood term."""
    family = FAMILIES[family_name]
    params = as_parameters(family, names, values)
    validate_parameters(family, names, params)
    trunc = _truncation(family, truncation)
    if observed is not None:
        data = as_array(observed, name="observed")
        shape = _distribution_shape(family, params, None)
        _check_observed(family, data, shape, params)
        check_truncated(family.name, constant_value(data), trunc)
        if not isinstance(data, Data) and family.discrete:
            raise ModelError(f"{family.name}: a discrete likelihood needs data as observed=")
        density = Density(family, params, data, trunc)
        if data.density is not None or isinstance(data, Variable) and data.prior is not None:
            data = _fresh_view(data)
            density.value = data
        data.density = density
        name_observed(data, observed, observed.name if isinstance(observed, Array) else None)
        replace_duplicate(density, observed_name(data))  # a re-run line is counted once
        attach(density)
        return data
    shape = _distribution_shape(family, params, dim)
    if trunc is not None and dim is None:  # array truncation bounds shape the unknown too
        bound_shapes = [b.shape for b in trunc if b is not None]
        shape = broadcast_shapes(shape, *bound_shapes, what=f"{family.name} truncation")
    if family.discrete:  # finite supports are summed out (inference/enumeration.py)
        unknown = discrete_unknown(family, params, shape)
        unknown.prior = Density(family, params, unknown, trunc)
        if unknown.kind == "int":
            attach(unknown.prior)
        return unknown
    unknown = _support_constraint(family, params, trunc, shape)
    unknown.prior = Density(family, params, unknown, trunc)
    attach(unknown.prior)
    remember_dim(unknown, dim)
    return unknown


def _fresh_view(array: Array) -> Array:
    """A second density on the same array gets its own node (so each keeps its own term)."""
    if isinstance(array, MutableData):
        return array.view()
    if isinstance(array, Data):
        return Data(array.value, name=array.name)
    return Array("cast_float", (array,), {}, array.shape, "float")


def _link_variant(family: str, prob: Any, link: str, variant: str) -> tuple[str, Any]:
    if isinstance(prob, Array) and prob.op == link:
        return variant, prob.parents[0]
    return family, prob


# --- the public distributions -------------------------------------------------------------------
# Each takes its parameters, then dim=, truncation= (continuous univariates) and observed=.

def normal(mean: Any, sd: Any, *, dim: Any = None, truncation: Any = None,
           observed: Any = None) -> Array:
    """Normal distribution with ``mean`` and standard deviation ``sd``.

    Called without ``observed``, it returns a new unknown with this prior; with
    ``observed=y`` it adds the likelihood of ``y`` (data, or an array of the model) and
    returns ``y`` as an array.

    Examples
    --------
    >>> import tfstats as ts
    >>> mu = ts.normal(0, 5)
    >>> z = ts.normal(0, 1, dim=8)
    >>> half = ts.normal(0, 1, truncation=(0, None))
    >>> y = ts.normal(mu, 1, observed=[0.3, -0.2, 1.1])
    """
    return distribution("normal", ("mean", "sd"), (mean, sd), dim=dim, truncation=truncation,
                        observed=observed)


def lognormal(meanlog: Any, sdlog: Any, *, dim: Any = None, truncation: Any = None,
              observed: Any = None) -> Array:
    """Log-normal distribution (``log(x)`` is normal with ``meanlog``, ``sdlog``)."""
    return distribution("lognormal", ("meanlog", "sdlog"), (meanlog, sdlog), dim=dim,
                        truncation=truncation, observed=observed)


def student(df: Any, mu: Any, sigma: Any, *, dim: Any = None, truncation: Any = None,
            observed: Any = None) -> Array:
    """Student's t distribution with ``df`` degrees of freedom, location and scale."""
    return distribution("student", ("df", "mu", "sigma"), (df, mu, sigma), dim=dim,
                        truncation=truncation, observed=observed)


def cauchy(location: Any, scale: Any, *, dim: Any = None, truncation: Any = None,
           observed: Any = None) -> Array:
    """Cauchy distribution; ``truncation=(0, None)`` gives the half-Cauchy."""
    return distribution("cauchy", ("location", "scale"), (location, scale), dim=dim,
                        truncation=truncation, observed=observed)


def laplace(mu: Any, sigma: Any, *, dim: Any = None, truncation: Any = None,
            observed: Any = None) -> Array:
    """Laplace (double exponential) distribution."""
    return distribution("laplace", ("mu", "sigma"), (mu, sigma), dim=dim,
                        truncation=truncation, observed=observed)


def logistic(location: Any, scale: Any, *, dim: Any = None, truncation: Any = None,
             observed: Any = None) -> Array:
    """Logistic distribution."""
    return distribution("logistic", ("location", "scale"), (location, scale), dim=dim,
                        truncation=truncation, observed=observed)


def uniform(lower: Any, upper: Any, *, dim: Any = None, observed: Any = None) -> Array:
    """Uniform distribution on ``(lower, upper)``; bounds may be arrays of the model."""
    return distribution("uniform", ("lower", "upper"), (lower, upper), dim=dim,
                        observed=observed)


def exponential(rate: Any, *, dim: Any = None, truncation: Any = None,
                observed: Any = None) -> Array:
    """Exponential distribution with ``rate``."""
    return distribution("exponential", ("rate",), (rate,), dim=dim, truncation=truncation,
                        observed=observed)


def gamma(shape: Any, rate: Any, *, dim: Any = None, truncation: Any = None,
          observed: Any = None) -> Array:
    """Gamma distribution with ``shape`` and ``rate``."""
    return distribution("gamma", ("shape", "rate"), (shape, rate), dim=dim,
                        truncation=truncation, observed=observed)


def inverse_gamma(alpha: Any, beta: Any, *, dim: Any = None, truncation: Any = None,
                  observed: Any = None) -> Array:
    """Inverse gamma distribution with shape ``alpha`` and scale ``beta``."""
    return distribution("inverse_gamma", ("alpha", "beta"), (alpha, beta), dim=dim,
                        truncation=truncation, observed=observed)


def weibull(shape: Any, scale: Any, *, dim: Any = None, truncation: Any = None,
            observed: Any = None) -> Array:
    """Weibull distribution with ``shape`` and ``scale``."""
    return distribution("weibull", ("shape", "scale"), (shape, scale), dim=dim,
                        truncation=truncation, observed=observed)


def pareto(a: Any, b: Any, *, dim: Any = None, truncation: Any = None,
           observed: Any = None) -> Array:
    """Pareto distribution with shape ``a`` and scale (minimum) ``b``."""
    return distribution("pareto", ("a", "b"), (a, b), dim=dim, truncation=truncation,
                        observed=observed)


def beta(shape1: Any, shape2: Any, *, dim: Any = None, truncation: Any = None,
         observed: Any = None) -> Array:
    """Beta distribution with ``shape1`` and ``shape2``."""
    return distribution("beta", ("shape1", "shape2"), (shape1, shape2), dim=dim,
                        truncation=truncation, observed=observed)


def chi_squared(df: Any, *, dim: Any = None, truncation: Any = None,
                observed: Any = None) -> Array:
    """Chi-squared distribution with ``df`` degrees of freedom."""
    return distribution("chi_squared", ("df",), (df,), dim=dim, truncation=truncation,
                        observed=observed)


def f(df1: Any, df2: Any, *, dim: Any = None, observed: Any = None) -> Array:
    """F distribution with ``df1`` and ``df2`` degrees of freedom."""
    return distribution("f", ("df1", "df2"), (df1, df2), dim=dim, observed=observed)


def bernoulli(prob: Any, *, dim: Any = None, observed: Any = None) -> Array:
    """Bernoulli distribution; ``bernoulli(ilogit(eta))`` is evaluated on the logit scale."""
    name, param = _link_variant("bernoulli", prob, "sigmoid", "bernoulli_logit")
    return distribution(name, ("prob",), (param,), dim=dim, observed=observed)


def binomial(size: Any, prob: Any, *, dim: Any = None, observed: Any = None) -> Array:
    """Binomial distribution with ``size`` trials and success probability ``prob``."""
    name, param = _link_variant("binomial", prob, "sigmoid", "binomial_logit")
    return distribution(name, ("size", "prob"), (size, param), dim=dim, observed=observed)


def beta_binomial(size: Any, alpha: Any, beta: Any, *, dim: Any = None,
                  observed: Any = None) -> Array:
    """Beta-binomial distribution."""
    return distribution("beta_binomial", ("size", "alpha", "beta"), (size, alpha, beta), dim=dim,
                        observed=observed)


def negative_binomial(size: Any, prob: Any, *, dim: Any = None, observed: Any = None) -> Array:
    """Negative binomial: failures before ``size`` successes, success probability ``prob``."""
    return distribution("negative_binomial", ("size", "prob"), (size, prob), dim=dim,
                        observed=observed)


def poisson(lambda_: Any, *, dim: Any = None, observed: Any = None) -> Array:
    """Poisson distribution; ``poisson(exp(eta))`` is evaluated on the log scale."""
    name, param = _link_variant("poisson", lambda_, "exp", "poisson_log")
    return distribution(name, ("lambda",), (param,), dim=dim, observed=observed)


def hypergeometric(m: Any, n: Any, k: Any, *, dim: Any = None, observed: Any = None) -> Array:
    """Hypergeometric: white balls drawn in ``k`` draws from ``m`` white and ``n`` black."""
    return distribution("hypergeometric", ("m", "n", "k"), (m, n, k), dim=dim, observed=observed)


def categorical(prob: Any, *, dim: Any = None, observed: Any = None) -> Array:
    """Categorical distribution over the last axis of ``prob``; observed labels are
    0-based integers. ``categorical(imultilogit(eta))`` is evaluated on the logit scale."""
    if isinstance(prob, Array) and prob.op == "imultilogit":
        eta = prob.parents[0]
        zeros = Data(np.zeros(eta.shape[:-1] + (1,)), name="imultilogit zeros")
        logits = apply("concatenate", eta, zeros, axis=-1)
        return distribution("categorical_logit", ("prob",), (logits,), dim=dim,
                            observed=observed)
    name, param = _link_variant("categorical", prob, "softmax", "categorical_logit")
    return distribution(name, ("prob",), (param,), dim=dim, observed=observed)


def discrete_uniform(low: Any, high: Any, *, dim: Any = None, observed: Any = None) -> Array:
    """Discrete uniform distribution on the integers ``low, low + 1, ..., high`` (both
    included); ``low`` and ``high`` are integer data (numbers or arrays).

    As an unknown it is summed out of the model's density (see "Discrete unknowns" in
    docs/model-language.md).

    Examples
    --------
    >>> import tfstats as ts
    >>> s = ts.discrete_uniform(1, 9)
    >>> rolls = ts.discrete_uniform(1, 6, observed=[3, 6, 1])
    """
    bounds = []
    for name, value in (("low", low), ("high", high)):
        if isinstance(value, Array) and not isinstance(value, Data):
            raise ModelError(f"discrete_uniform: {name} must be integer data, not an array "
                             f"of the model")
        array = as_array(value, name=f"discrete_uniform {name}")
        if np.any(array.value != np.round(array.value)):
            raise ModelError(f"discrete_uniform: {name} must hold integers, got "
                             f"{array.value.ravel()[:5]}")
        bounds.append(array)
    if np.any(bounds[0].value > bounds[1].value):
        raise ModelError("discrete_uniform: low must not exceed high")
    return distribution("discrete_uniform", ("low", "high"), tuple(bounds), dim=dim,
                        observed=observed)


def multinomial(size: Any, prob: Any, *, dim: Any = None, observed: Any = None) -> Array:
    """Multinomial counts over the last axis of ``prob``."""
    return distribution("multinomial", ("size", "prob"), (size, prob), dim=dim,
                        observed=observed)


def dirichlet(alpha: Any, *, dim: Any = None, observed: Any = None) -> Array:
    """Dirichlet distribution on the simplex (last axis of ``alpha``)."""
    return distribution("dirichlet", ("alpha",), (alpha,), dim=dim, observed=observed)


def dirichlet_multinomial(size: Any, alpha: Any, *, dim: Any = None,
                          observed: Any = None) -> Array:
    """Dirichlet-multinomial counts."""
    return distribution("dirichlet_multinomial", ("size", "alpha"), (size, alpha), dim=dim,
                        observed=observed)


def multivariate_normal(mean: Any, Sigma: Any, *, dim: Any = None,  # noqa: N803
                        observed: Any = None) -> Array:
    """Multivariate normal with ``mean`` (K,) and covariance ``Sigma`` (K, K); ``dim=n``
    makes n independent rows."""
    return distribution("multivariate_normal", ("mean", "Sigma"), (mean, Sigma), dim=dim,
                        observed=observed)


def wishart(df: Any, Sigma: Any, *, observed: Any = None) -> Array:  # noqa: N803
    """Wishart distribution over positive definite matrices."""
    dimension = np.shape(Sigma)[-1] if np.ndim(Sigma) >= 2 else None
    if dimension is not None and not isinstance(df, Array) and np.any(
            np.asarray(df) <= dimension - 1):
        raise ModelError(f"wishart: df must be greater than the dimension minus 1 "
                         f"({dimension - 1}), got {df}")
    return distribution("wishart", ("df", "Sigma"), (df, Sigma), observed=observed)


def lkj_correlation(eta: Any, dimension: int, *, observed: Any = None) -> Array:
    """LKJ distribution over ``dimension x dimension`` correlation matrices."""
    if not isinstance(dimension, int | np.integer) or dimension < 2:
        raise ModelError(f"lkj_correlation: dimension must be an int >= 2, got {dimension!r}")
    _check_lkj_observed(observed)
    marker = Data(np.zeros(int(dimension)), name="dimension")
    return distribution("lkj_correlation", ("eta", "dimension"), (eta, marker),
                        observed=observed)


def _check_lkj_observed(observed: Any) -> None:
    """A correlation matrix computed from unknowns (``L @ L.T``) would miss the Jacobian
    of that computation: only data or an lkj_correlation unknown itself may be observed."""
    if (isinstance(observed, Array) and observed.variables
            and not (isinstance(observed, Variable)
                     and isinstance(observed.constraint, CorrelationMatrix))):
        raise ModelError(
            "lkj_correlation(observed=...) got a matrix computed from unknowns (such as "
            "L @ L.T): its density would leave out the Jacobian of that computation. For "
            "an LKJ prior on a Cholesky factor use L = ts.lkj_cholesky(eta, dim); for a "
            "correlation matrix use R = ts.lkj_correlation(eta, dim) without observed=")
