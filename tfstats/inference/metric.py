"""The mass matrix as a change of variables: the kernels run on ``z`` with a unit metric,
and positions are ``x = scale * z`` (diagonal metric: ``scale`` is (chains, n), the
square root of the inverse mass) or ``x = scale @ z`` (dense metric: ``scale`` is
(chains, n, n), the lower Cholesky factor of the inverse mass, a covariance). Which one
is read from the shape of ``scale``, so the same functions serve both. Pure functions on
backend tensors."""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["METRICS", "is_dense", "identity_scale", "position", "scaled", "gradient",
           "regrade", "inverse_mass"]

METRICS = ("diag", "dense")


def is_dense(scale: Any) -> bool:
    return len(scale.shape) == 3


def identity_scale(chains: int, n_free: int, metric: str) -> np.ndarray:
    """The unit metric before warmup has estimated one (numpy)."""
    if metric == "dense":
        return np.tile(np.eye(n_free), (chains, 1, 1))
    return np.ones((chains, n_free))


def _matvec(B: Any, matrix: Any, vector: Any) -> Any:
    return B.np.matmul(matrix, vector[..., None])[..., 0]


def _transpose(B: Any, matrix: Any) -> Any:
    return B.np.swapaxes(matrix, -1, -2)


def position(B: Any, scale: Any, z: Any) -> Any:
    """``x`` from the kernel's ``z`` (chains, n)."""
    return _matvec(B, scale, z) if is_dense(scale) else z * scale


def scaled(B: Any, scale: Any, x: Any) -> Any:
    """The kernel's ``z`` from ``x``."""
    if is_dense(scale):
        return B.linalg.triangular_solve(scale, x[..., None], lower=True)[..., 0]
    return x / scale


def gradient(B: Any, scale: Any, grad_x: Any) -> Any:
    """The gradient in ``z`` from the gradient in ``x`` (chain rule: ``scale^T grad_x``)."""
    return _matvec(B, _transpose(B, scale), grad_x) if is_dense(scale) else grad_x * scale


def regrade(B: Any, old: Any, new: Any, grad_z: Any) -> Any:
    """A gradient in the ``z`` of scale ``old`` carried to the ``z`` of scale ``new``
    (the density value is unchanged by the change of variables, so nothing is
    recomputed)."""
    if not is_dense(old):
        return grad_z * (new / old)
    grad_x = B.linalg.triangular_solve(_transpose(B, old), grad_z[..., None],
                                       lower=False)[..., 0]
    return gradient(B, new, grad_x)


def inverse_mass(scale: np.ndarray) -> np.ndarray:
    """The inverse mass matrix (numpy): (chains, n) diagonal or (chains, n, n) dense."""
    if scale.ndim == 3:
        return scale @ np.swapaxes(scale, -1, -2)
    return scale**2
