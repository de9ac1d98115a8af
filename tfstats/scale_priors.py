"""Priors for the scales and correlations of hierarchical models: the half-normal,
half-Cauchy and half-Student-t distributions on (0, inf), and ``lkj_cholesky``, the LKJ
distribution on the Cholesky factor of a correlation matrix. Thin wrappers over TFP's
``HalfNormal``, ``HalfCauchy``, ``HalfStudentT`` and ``CholeskyLKJ``."""

from __future__ import annotations

from typing import Any

import numpy as np

from tfstats.arrays import Array, Data, ModelError, Variable
from tfstats.distributions import as_parameters, attach, distribution, validate_parameters
from tfstats.families import FAMILIES, Density, Family
from tfstats.variables import CorrelationCholesky

__all__ = ["half_normal", "half_cauchy", "half_student", "lkj_cholesky"]


def _half_normal(B: Any, sd: Any) -> Any:
    return B.tfd.HalfNormal(sd)


def _half_cauchy(B: Any, scale: Any) -> Any:
    return B.tfd.HalfCauchy(scale * 0.0, scale)


def _half_student(B: Any, df: Any, sigma: Any) -> Any:
    return B.tfd.HalfStudentT(df, sigma * 0.0, sigma)


def _cholesky_lkj(B: Any, eta: Any, size_marker: Any) -> Any:
    # the dimension is read from the static shape of a marker array: a number would be a
    # traced value inside compiled JAX code, where TFP needs a Python int
    return B.tfd.CholeskyLKJ(B.shape_of(size_marker)[-1], eta)


for _family in (
    Family("half_normal", _half_normal, "positive", checks=("positive",),
           observed_check="nonnegative"),
    Family("half_cauchy", _half_cauchy, "positive", checks=("positive",),
           observed_check="nonnegative"),
    Family("half_student", _half_student, "positive", checks=("positive", "positive"),
           observed_check="nonnegative"),
    Family("lkj_cholesky", _cholesky_lkj, "correlation_cholesky", event_ndims=2,
           checks=("positive",)),
):
    FAMILIES.setdefault(_family.name, _family)


def half_normal(sd: Any, *, dim: Any = None, truncation: Any = None,
                observed: Any = None) -> Array:
    """Half-normal distribution on (0, inf): ``|x|`` for ``x ~ normal(0, sd)``.

    The usual prior for a standard deviation. Like every distribution, it is a prior
    when called without ``observed`` (positive support handled for you) and a
    likelihood with ``observed=`` (non-negative data).

    Examples
    --------
    >>> import numpy as np, tfstats as ts
    >>> tau = ts.half_normal(1)
    >>> m = ts.model(tau)
    >>> bool(np.isclose(m.log_prob({"tau": 0.5}), np.log(2) - 0.9189385 - 0.125))
    True
    """
    return distribution("half_normal", ("sd",), (sd,), dim=dim, truncation=truncation,
                        observed=observed)


def half_cauchy(scale: Any, *, dim: Any = None, truncation: Any = None,
                observed: Any = None) -> Array:
    """Half-Cauchy distribution on (0, inf): ``|x|`` for ``x ~ cauchy(0, scale)``.

    Examples
    --------
    >>> import tfstats as ts
    >>> tau = ts.half_cauchy(5, dim=3)
    >>> tau.shape
    (3,)
    """
    return distribution("half_cauchy", ("scale",), (scale,), dim=dim, truncation=truncation,
                        observed=observed)


def half_student(df: Any, sigma: Any, *, dim: Any = None, truncation: Any = None,
                 observed: Any = None) -> Array:
    """Half Student's t distribution on (0, inf): ``|x|`` for ``x ~ student(df, 0, sigma)``.

    Examples
    --------
    >>> import tfstats as ts
    >>> _ = ts.half_student(3, 2.5, observed=[0.4, 1.2, 3.0])
    """
    return distribution("half_student", ("df", "sigma"), (df, sigma), dim=dim,
                        truncation=truncation, observed=observed)


def lkj_cholesky(eta: Any, dim: int) -> Variable:
    """An unknown Cholesky factor ``L`` of a ``dim x dim`` correlation matrix, with the
    LKJ(``eta``) density on the correlation ``R = L @ L.T`` it implies (TFP's
    ``CholeskyLKJ``, sampled through the ``CorrelationCholesky`` bijector).

    ``eta = 1`` is uniform over correlation matrices; larger ``eta`` shrinks toward the
    identity. Each correlation ``R[i, j]`` then has ``(R[i, j] + 1) / 2 ~
    Beta(eta - 1 + dim / 2, eta - 1 + dim / 2)``. The factor goes where a covariance's
    Cholesky factor is needed, e.g. ``diag(sigma) @ L`` scales it to a covariance factor.

    Parameters
    ----------
    eta : float or Array
        The LKJ concentration (positive).
    dim : int
        The matrix size (>= 2).

    Returns
    -------
    Array
        The lower-triangular factor, shape ``(dim, dim)``.

    Examples
    --------
    >>> import numpy as np, tfstats as ts
    >>> L = ts.lkj_cholesky(2.0, 3)
    >>> R = L @ L.T
    >>> m = ts.model(L)
    >>> m.n_free
    3
    """
    if isinstance(dim, bool) or not isinstance(dim, int | np.integer) or dim < 2:
        raise ModelError(f"lkj_cholesky: dim must be an int >= 2, got {dim!r}")
    family = FAMILIES["lkj_cholesky"]
    params = as_parameters(family, ("eta", "dim"), (eta, Data(np.zeros(int(dim)), name="dim")))
    if params[0].shape:
        raise ModelError(f"lkj_cholesky: eta must be a scalar, got shape {params[0].shape}")
    validate_parameters(family, ("eta", "dim"), params)
    unknown = Variable(CorrelationCholesky(), (int(dim), int(dim)))
    unknown.prior = Density(family, params, unknown)
    attach(unknown.prior)
    return unknown
