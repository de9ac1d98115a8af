"""Pathfinder (Zhang, Carpenter, Gelman and Vehtari 2022): normal approximations along an
L-BFGS path, the best by its ELBO.

L-BFGS (scipy's, driving the compiled density and gradient, as ``opt`` and ``vi``'s start)
climbs the unconstrained log density from a random point, and the path is recorded. At
each iterate ``x_l`` the last ``HISTORY`` position and gradient changes that satisfy the
curvature condition give the L-BFGS inverse Hessian ``Sigma_l``, started from a diagonal
updated along the path (Gilbert and Lemarechal 1989, as in the paper's Algorithm 3); the
normal ``N(x_l + Sigma_l grad log p(x_l), Sigma_l)`` (one Newton step from ``x_l``) has
its ELBO estimated from ``ELBO_DRAWS`` (times ``vi``'s ``samples``) draws, and the best
one is the result. The covariance is held dense, so models of up to ``MAX_FREE``
unconstrained values. TFP's ``lbfgs_minimize`` returns only its last state, so the path
comes from scipy's L-BFGS-B, the optimiser of ``opt``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from tfstats.arrays import ModelError
from tfstats.inference.initial import initial_state, log_density_function
from tfstats.model import Model

__all__ = ["HISTORY", "ELBO_DRAWS", "MAX_FREE", "INITS", "pathfinder_path", "PathfinderFit",
           "pathfinder_starts"]

HISTORY = 6  # L-BFGS correction pairs (Stan's history_size is 5, blackjax's maxcor 6)
ELBO_DRAWS = 25  # draws per iterate's ELBO (Stan's num_elbo_draws)
MAX_FREE = 2000  # dense covariances up to this many unconstrained values
INITS = ("random", "pathfinder")  # mcmc's starts


class PathfinderFit:
    """The chosen normal: ``loc``, ``scale_tril`` (lower Cholesky factor of ``Sigma``),
    one ELBO estimate per L-BFGS iterate (``elbo``), the chosen iterate and whether
    L-BFGS converged."""

    def __init__(self, loc: np.ndarray, scale_tril: np.ndarray, elbo: np.ndarray,
                 best: int, converged: bool) -> None:
        self.loc, self.scale_tril, self.elbo = loc, scale_tril, elbo
        self.best, self.converged = best, converged


def _diagonal_update(alpha: np.ndarray, s: np.ndarray, y: np.ndarray) -> np.ndarray:
    """The diagonal inverse-Hessian estimate after the pair ``(s, y)`` (``y``: the change
    of the gradient of minus the log density), Gilbert and Lemarechal's formula."""
    a = y @ (alpha * y)
    b = y @ s
    c = s @ (s / alpha)
    inverse = a / (b * alpha) + y**2 / b - a * s**2 / (b * c * alpha**2)
    return np.where(inverse > 0, 1 / inverse, alpha)


def _inverse_hessian(alpha: np.ndarray, pairs: list[tuple[np.ndarray, np.ndarray]]
                     ) -> np.ndarray:
    """The (dense) L-BFGS inverse Hessian: BFGS updates of ``diag(alpha)`` by ``pairs``,
    oldest first."""
    H = np.diag(alpha)
    n = alpha.shape[0]
    for s, y in pairs:
        rho = 1 / (y @ s)
        left = np.eye(n) - rho * np.outer(s, y)
        H = left @ H @ left.T + rho * np.outer(s, s)
    return (H + H.T) / 2


def pathfinder_path(model: Model, seed: int | None, max_iterations: int, draws: int,
                    initial_values: dict[str, Any] | None = None,
                    place: Any = None) -> PathfinderFit:
    """Single-path Pathfinder on ``model``'s unconstrained density (see the module)."""
    from scipy.optimize import minimize

    from tfstats.inference.optimize import _Evaluations, _objective_scale

    if model.n_free > MAX_FREE:
        raise ModelError(f"method='pathfinder' holds dense covariances: this model has "
                         f"{model.n_free} unconstrained values, more than {MAX_FREE}; use "
                         f"method='meanfield'")
    evaluate = _Evaluations(model, adjust=True, place=place)
    scale = _objective_scale(model)
    x0 = initial_state(model, 1, initial_values, seed, finite=evaluate.finite)[0]
    path = [np.array(x0, copy=True)]

    def fun(x: np.ndarray) -> tuple[float, np.ndarray]:
        value, grad = evaluate(x)
        if not np.isfinite(value):  # a failed step: let the line search back off
            return np.inf, np.zeros_like(x)
        return value, grad

    result = minimize(fun, x0, jac=True, method="L-BFGS-B",
                      callback=lambda x: path.append(np.array(x, copy=True)),
                      options={"maxiter": max_iterations, "gtol": 1e-8, "maxcor": HISTORY,
                               "ftol": 10 * np.finfo(np.float64).eps})
    # gradients of minus the log density (times the objective's scale)
    grads = [evaluate(x)[1] * scale for x in path]
    rng = np.random.default_rng(seed)
    n = model.n_free
    alpha, pairs = np.ones(n), []
    trace = np.full(len(path) - 1, -np.inf)  # -inf: no estimate at that iterate
    best: tuple[int, np.ndarray, np.ndarray] | None = None  # (iterate, mean, Cholesky)
    for step in range(1, len(path)):
        s, y = path[step] - path[step - 1], grads[step] - grads[step - 1]
        if s @ y > 1e-12 * (y @ y):  # the curvature condition
            alpha = _diagonal_update(alpha, s, y)
            pairs = (pairs + [(s, y)])[-HISTORY:]
        sigma = _inverse_hessian(alpha, pairs)
        try:
            tril = np.linalg.cholesky(sigma)
        except np.linalg.LinAlgError:
            continue
        mean = path[step] - sigma @ grads[step]
        u = rng.standard_normal((draws, n))
        log_q = (-0.5 * np.sum(u**2, axis=1) - np.sum(np.log(np.diag(tril)))
                 - 0.5 * n * np.log(2 * np.pi))
        log_p = _log_density(model, mean + u @ tril.T)  # one compiled call
        if not np.all(np.isfinite(log_p)):  # a draw outside the support, or overflowing
            continue
        trace[step - 1] = np.mean(log_p - log_q)
        if best is None or trace[step - 1] > trace[best[0] - 1]:
            best = (step, mean, tril)
    if best is None:
        raise ModelError("pathfinder found no normal with a finite ELBO on its L-BFGS path "
                         "(the log density may be flat); use method='meanfield'")
    return PathfinderFit(best[1], best[2], trace, best[0], bool(result.success))


def _log_density(model: Model, flats: np.ndarray) -> np.ndarray:
    """The Jacobian-adjusted log density at each row of ``flats``, in one compiled call."""
    B = model.backend
    lp, _ = B.to_numpy(log_density_function(model)(B.convert(flats, model.float_dtype),
                                                    *model.data_tensors()))
    return np.asarray(lp, np.float64)


def pathfinder_starts(model: Model, chains: int, seed: int | None, place: Any = None
                      ) -> np.ndarray:
    """``mcmc(init="pathfinder")``: one draw per chain, shape (chains, n_free), from the
    Pathfinder normal (redrawn where the density is not finite; its mean at last)."""
    fit = pathfinder_path(model, seed, 1000, ELBO_DRAWS, place=place)
    rng = np.random.default_rng(None if seed is None else seed + 1)
    starts = fit.loc + rng.standard_normal((chains, model.n_free)) @ fit.scale_tril.T
    for _ in range(10):
        bad = ~np.isfinite(_log_density(model, starts))
        if not bad.any():
            return starts
        starts[bad] = fit.loc + rng.standard_normal((int(bad.sum()), model.n_free)) @ \
            fit.scale_tril.T
    starts[~np.isfinite(_log_density(model, starts))] = fit.loc
    return starts
