"""Unknowns: variable() with bounds, and the constrained supports (simplex, ordered, Cholesky).

Each unknown has a constraint that maps an unconstrained vector to its support with a TFP
bijector; samplers and optimisers work on the unconstrained space.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from tfstats.arrays import Array, Data, ModelError, Variable
from tfstats.labels import dim_size, remember_dim
from tfstats.operations import broadcast_shapes

__all__ = [
    "Constraint", "Interval", "Simplex", "Ordered", "CholeskyFactor", "CorrelationCholesky",
    "CorrelationMatrix", "CovarianceMatrix", "variable", "ordered_variable", "simplex_variable",
    "cholesky_variable", "as_shape", "make_variable",
]


def as_shape(dim: Any) -> tuple[int, ...] | None:
    """``dim`` (None, an int or a tuple of ints) as a shape tuple; a pandas Categorical
    or Index stands for its length (and labels the axis: see ``tfstats.labels``)."""
    if dim is None:
        return None
    dim = dim_size(dim)
    try:
        shape = (dim,) if isinstance(dim, int | np.integer) else tuple(dim)
    except TypeError:
        raise ModelError(f"dim must be a positive int or a tuple of them, got {dim!r}") from None
    if not all(isinstance(n, int | np.integer) and n >= 1 for n in shape):
        raise ModelError(f"dim must be a positive int or a tuple of them, got {dim!r}")
    return tuple(int(n) for n in shape)


@dataclass(frozen=True)
class Constraint:
    """How an unknown's support is reached from unconstrained space."""

    event_ndims: int = 0

    def free_shape(self, shape: tuple[int, ...]) -> tuple[int, ...]:
        return shape

    def bijector(self, tfb: Any, bounds: list[Any]) -> Any:
        return tfb.Identity()

    def log_det_jacobian(self, B: Any, bijector: Any, free: Any) -> Any:
        """log |det d(value)/d(free)|, per event, for the density of the value's free
        coordinates (by default, the bijector's own)."""
        return bijector.forward_log_det_jacobian(free, event_ndims=self.event_ndims)


@dataclass(frozen=True)
class Interval(Constraint):
    """Elementwise bounds; either end may be absent. Bounds are the variable's parents."""

    has_lower: bool = False
    has_upper: bool = False

    def bijector(self, tfb: Any, bounds: list[Any]) -> Any:
        if self.has_lower and self.has_upper:
            return tfb.Sigmoid(low=bounds[0], high=bounds[1])
        if self.has_lower:
            return tfb.Chain([tfb.Shift(bounds[0]), tfb.Exp()])
        if self.has_upper:
            minus_one = bounds[0] * 0.0 - 1.0  # in the bound's dtype (a bare -1.0 is float32)
            return tfb.Chain([tfb.Shift(bounds[0]), tfb.Scale(minus_one), tfb.Exp()])
        return tfb.Identity()


@dataclass(frozen=True)
class Simplex(Constraint):
    event_ndims: int = 1

    def free_shape(self, shape: tuple[int, ...]) -> tuple[int, ...]:
        return shape[:-1] + (shape[-1] - 1,)

    def bijector(self, tfb: Any, bounds: list[Any]) -> Any:
        return tfb.IteratedSigmoidCentered()


@dataclass(frozen=True)
class Ordered(Constraint):
    event_ndims: int = 1

    def bijector(self, tfb: Any, bounds: list[Any]) -> Any:
        return tfb.Ascending()


def _triangular(n: int, strict: bool) -> int:
    return n * (n - 1) // 2 if strict else n * (n + 1) // 2


@dataclass(frozen=True)
class CholeskyFactor(Constraint):
    """Lower-triangular with a positive diagonal (the Cholesky factor of a covariance)."""

    event_ndims: int = 1

    def free_shape(self, shape: tuple[int, ...]) -> tuple[int, ...]:
        return shape[:-2] + (_triangular(shape[-1], False),)

    def bijector(self, tfb: Any, bounds: list[Any]) -> Any:
        return tfb.FillScaleTriL(diag_bijector=tfb.Exp(), diag_shift=None)


@dataclass(frozen=True)
class CorrelationCholesky(Constraint):
    """The Cholesky factor of a correlation matrix."""

    event_ndims: int = 1

    def free_shape(self, shape: tuple[int, ...]) -> tuple[int, ...]:
        return shape[:-2] + (_triangular(shape[-1], True),)

    def bijector(self, tfb: Any, bounds: list[Any]) -> Any:
        return tfb.CorrelationCholesky()


@dataclass(frozen=True)
class CorrelationMatrix(CorrelationCholesky):
    """A correlation matrix, reached through its Cholesky factor L."""

    def bijector(self, tfb: Any, bounds: list[Any]) -> Any:
        return tfb.Chain([tfb.CholeskyOuterProduct(), tfb.CorrelationCholesky()])

    def log_det_jacobian(self, B: Any, bijector: Any, free: Any) -> Any:
        # The chain's own Jacobian treats the diagonals of L and R as free, but they are
        # fixed by the rest. From L's strictly lower triangle to R's, the Jacobian is
        # prod_i L_ii^(K - 1 - i) (0-based i; Lewandowski, Kurowicka and Joe 2009).
        to_cholesky = B.tfb.CorrelationCholesky()
        factor = to_cholesky.forward(free)
        n = int(factor.shape[-1])
        powers = B.cast(B.convert(np.arange(n - 1, -1, -1, dtype=np.float64)), factor.dtype)
        log_diagonal = B.np.log(B.linalg.diag_part(factor))
        return (to_cholesky.forward_log_det_jacobian(free, event_ndims=1)
                + B.np.sum(powers * log_diagonal, axis=-1))


@dataclass(frozen=True)
class CovarianceMatrix(CholeskyFactor):
    def bijector(self, tfb: Any, bounds: list[Any]) -> Any:
        return tfb.Chain([tfb.CholeskyOuterProduct(),
                          tfb.FillScaleTriL(diag_bijector=tfb.Exp(), diag_shift=None)])


def _bound(value: Any, which: str) -> Array | None:
    """A bound as an Array, or None when it is absent (None or infinite)."""
    if value is None:
        return None
    if not isinstance(value, Array):
        values = np.asarray(value, dtype=np.float64)
        if np.all(np.isneginf(values)) and which == "lower":
            return None
        if np.all(np.isposinf(values)) and which == "upper":
            return None
        if np.isnan(values).any():
            raise ModelError(f"the {which} bound is NaN")
        if np.isinf(values).any():
            raise ModelError(f"the {which} bound mixes finite and infinite values; "
                             f"give finite bounds or none")
        return Data(values, name=f"{which} bound")
    return value


def make_variable(lower: Any, upper: Any, shape: tuple[int, ...] | None,
                  name: str | None = None) -> Variable:
    """An unknown with elementwise bounds (numbers, arrays or arrays of the model)."""
    low, high = _bound(lower, "lower"), _bound(upper, "upper")
    bounds = tuple(b for b in (low, high) if b is not None)
    bound_shapes = [b.shape for b in bounds]
    try:
        full = broadcast_shapes(*bound_shapes, what="variable bounds")
    except ValueError as error:
        raise ModelError(str(error)) from None
    if shape is not None:
        # the bounds must broadcast to dim (dim is not stretched to fit them)
        if len(full) > len(shape) or any(
                a not in (1, b) for a, b in zip(full[::-1], shape[::-1], strict=False)):
            raise ModelError(f"bounds of shape {' and '.join(map(str, bound_shapes))} do not "
                             f"fit dim {shape}")
        full = shape
    if isinstance(low, Data) and isinstance(high, Data) and np.any(low.value >= high.value):
        raise ModelError("lower bound must be below the upper bound")
    constraint = Interval(has_lower=low is not None, has_upper=high is not None)
    return Variable(constraint, full, bounds=bounds, name=name)


def variable(lower: Any = -np.inf, upper: Any = np.inf, dim: Any = None) -> Variable:
    """An unknown with a flat (possibly improper) prior between ``lower`` and ``upper``.

    Parameters
    ----------
    lower, upper : float, array or Array, optional
        Elementwise bounds; infinite by default. Bounds may be arrays of the model,
        so that a bound can depend on another unknown.
    dim : int or tuple of int, optional
        The shape; by default the broadcast shape of the bounds. A pandas Categorical
        (or Index) stands for its length and labels the axis with its categories.

    Returns
    -------
    Array
        The unknown.

    Examples
    --------
    >>> import tfstats as ts
    >>> sigma = ts.variable(lower=0)
    >>> a = ts.uniform(0, 1)
    >>> b = ts.variable(lower=0, upper=1 - a)
    >>> b.shape
    ()
    """
    unknown = make_variable(lower, upper, as_shape(dim))
    remember_dim(unknown, dim)
    return unknown


def _event_shape(dim: Any, what: str, minimum: int = 1) -> tuple[int, ...]:
    shape = as_shape(dim)
    if shape is None:
        raise ModelError(f"{what} needs dim=")
    if shape[-1] < minimum:
        raise ModelError(f"{what} needs at least {minimum} elements on its last axis")
    return shape


def ordered_variable(dim: Any) -> Variable:
    """An unknown vector with increasing elements (along the last axis), flat prior.

    Examples
    --------
    >>> import tfstats as ts
    >>> ts.ordered_variable(dim=3).shape
    (3,)
    """
    return Variable(Ordered(), _event_shape(dim, "ordered_variable"))


def simplex_variable(dim: Any) -> Variable:
    """An unknown vector of positive elements summing to one (last axis), flat prior.

    Examples
    --------
    >>> import tfstats as ts
    >>> ts.simplex_variable(dim=4).shape
    (4,)
    """
    return Variable(Simplex(), _event_shape(dim, "simplex_variable", minimum=2))


def cholesky_variable(dim: int, correlation: bool = False) -> Variable:
    """An unknown lower-triangular Cholesky factor of a ``dim x dim`` covariance matrix
    (positive diagonal), or of a correlation matrix when ``correlation=True``; flat prior.

    Examples
    --------
    >>> import tfstats as ts
    >>> ts.cholesky_variable(3).shape
    (3, 3)
    """
    if not isinstance(dim, int | np.integer) or dim < 2:
        raise ModelError(f"cholesky_variable needs an int dim >= 2, got {dim!r}")
    constraint = CorrelationCholesky() if correlation else CholeskyFactor()
    return Variable(constraint, (int(dim), int(dim)))
