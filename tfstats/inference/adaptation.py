"""Stan-style warmup: step size by dual averaging, a diagonal (or dense) mass matrix
estimated in widening windows. Pure functions on backend tensors, run inside the compiled
loop; the metric is diagonal or dense as the state's ``m2`` is (chains, n) or (chains, n, n)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from tfstats.inference.metric import identity_scale, is_dense

__all__ = ["window_schedule", "initial_adaptation", "dual_averaging", "welford",
           "end_window", "reasonable_step_size", "MAX_WINDOWS"]

MAX_WINDOWS = 24
_GAMMA, _T0, _KAPPA = 0.05, 10.0, 0.75


def window_schedule(warmup: int) -> dict[str, np.ndarray]:
    """Where the mass matrix is estimated: Stan's buffers (75 / 25 doubling / 50),
    shrunk to 15% / 75% / 10% of a short warmup. ``ends`` are the iterations after
    which the metric is updated (padded with -1)."""
    ends: list[int] = []
    if warmup < 20:
        init_buffer, term_start = warmup, warmup
    else:
        init_buffer, term_buffer, base = 75, 50, 25
        if warmup < init_buffer + term_buffer + base:
            init_buffer = int(0.15 * warmup)
            term_buffer = int(0.1 * warmup)
            base = warmup - init_buffer - term_buffer
        term_start = warmup - term_buffer
        start, size = init_buffer, base
        while start < term_start:
            end = start + size
            if end + 2 * size > term_start:
                end = term_start
            ends.append(end)
            start, size = end, 2 * size
    padded = np.full(MAX_WINDOWS, -1, dtype=np.int32)
    padded[: len(ends)] = ends[:MAX_WINDOWS]
    return {"warmup": np.int32(warmup), "init_buffer": np.int32(init_buffer),
            "term_start": np.int32(term_start), "ends": padded}


def initial_adaptation(chains: int, n_free: int, step_size: float,
                       metric: str = "diag") -> dict[str, np.ndarray]:
    """The adaptation state before warmup (numpy; per chain). ``metric="dense"`` keeps a
    full covariance (``m2`` and ``scale`` of shape (chains, n, n))."""
    log_step = np.full(chains, math.log(step_size))
    scale = identity_scale(chains, n_free, metric)
    return {
        "log_step": log_step, "log_step_bar": log_step.copy(), "hbar": np.zeros(chains),
        "mu": log_step + math.log(10.0), "t": np.zeros(chains),
        "count": np.zeros(chains), "mean": np.zeros((chains, n_free)),
        "m2": np.zeros_like(scale), "scale": scale,
    }


def dual_averaging(B: Any, state: dict, accept: Any, target: float, active: Any) -> dict:
    """One dual-averaging update (Hoffman & Gelman 2014) where ``active``."""
    t = state["t"] + 1.0
    eta = 1.0 / (t + _T0)
    hbar = (1.0 - eta) * state["hbar"] + eta * (target - accept)
    log_step = state["mu"] - B.np.sqrt(t) / _GAMMA * hbar
    weight = t ** (-_KAPPA)
    log_step_bar = weight * log_step + (1.0 - weight) * state["log_step_bar"]
    new = dict(state, t=t, hbar=hbar, log_step=log_step, log_step_bar=log_step_bar)
    return {k: B.np.where(active, new[k], state[k]) for k in state}


def welford(B: Any, state: dict, x: Any, active: Any) -> dict:
    """Add ``x`` (chains, n) to the running per-chain mean and (co)variance where
    ``active``."""
    count = state["count"] + 1.0
    delta = x - state["mean"]
    mean = state["mean"] + delta / count[:, None]
    if is_dense(state["m2"]):
        m2 = state["m2"] + delta[:, :, None] * (x - mean)[:, None, :]
    else:
        m2 = state["m2"] + delta * (x - mean)
    new = dict(state, count=count, mean=mean, m2=m2)
    return {k: B.np.where(active, new[k], state[k]) for k in state}


def end_window(B: Any, state: dict, active: Any) -> dict:
    """Set the mass matrix from the window (Stan's regularised variance, or for a dense
    metric its regularised covariance ``(n / (n + 5)) * cov + 1e-3 * (5 / (n + 5)) * I``,
    as Stan's ``dense_e``), restart the estimate and the step-size averaging, where
    ``active``."""
    dense = is_dense(state["m2"])
    n = state["count"][:, None, None] if dense else state["count"][:, None]
    variance = state["m2"] / B.np.maximum(n - 1.0, 1.0)
    shrink = 1e-3 * (5.0 / (n + 5.0))
    if dense:
        eye = B.np.eye(B.shape_of(variance)[-1], dtype=variance.dtype)
        scale = B.cond(active,  # a factorisation only at a window's end
                       lambda: B.linalg.cholesky((n / (n + 5.0)) * variance + shrink * eye),
                       lambda: state["scale"])
    else:
        scale = B.np.sqrt((n / (n + 5.0)) * variance + shrink)
    new = dict(state, scale=scale, count=state["count"] * 0.0, mean=state["mean"] * 0.0,
               m2=state["m2"] * 0.0, mu=state["log_step"] + math.log(10.0), t=state["t"] * 0.0,
               hbar=state["hbar"] * 0.0, log_step_bar=state["log_step_bar"] * 0.0)
    return {k: B.np.where(active, new[k], state[k]) for k in state}


def reasonable_step_size(B: Any, value_and_grad: Any, z: Any, lp0: Any, grad0: Any,
                         log_step: Any, seed: Any, max_iterations: int = 50,
                         first_stream: int = 0) -> Any:
    """Stan's ``init_stepsize`` for each chain: from ``log_step``, double (or halve) the
    step until the acceptance probability of one leapfrog step from ``z`` with a fresh
    unit-scale momentum falls below (or rises above) 0.8. Run at the start of warmup
    and after each mass-matrix update, it spares dual averaging a long walk from a
    step size tuned for the old metric.

    ``lp0`` (chains,) and ``grad0`` (chains, n) are the log density and its gradient at
    ``z``; ``value_and_grad(z)`` gives them elsewhere. Try ``i`` draws its momentum from
    stream ``first_stream + i`` of ``seed`` (``Backend.normal``). Returns the new log step
    sizes.
    """
    log_08, log_2 = math.log(0.8), math.log(2.0)
    one = B.np.ones_like(log_step)

    def body(i: Any, log_eps: Any, direction: Any, done: Any) -> tuple:
        first = direction == 0.0  # the first pass tries the current step, sets direction
        candidate = log_eps + direction
        eps = B.np.exp(candidate)[:, None]
        p = B.normal(z, seed, first_stream + i)
        p_half = p + 0.5 * eps * grad0
        lp1, grad1 = value_and_grad(z + eps * p_half)
        p1 = p_half + 0.5 * eps * grad1
        delta = (lp1 - 0.5 * B.np.sum(p1**2, axis=-1)) - (lp0 - 0.5 * B.np.sum(p**2, axis=-1))
        delta = B.np.where(B.np.isnan(delta), -B.np.inf * one, delta)
        direction = B.np.where(first, B.np.where(delta > log_08, one, -one) * log_2, direction)
        crossed = ~first & B.np.where(direction > 0, ~(delta > log_08), ~(delta < log_08))
        bounded = (candidate < math.log(1e7)) & (candidate > math.log(1e-12))
        log_eps = B.np.where(done | first | ~bounded, log_eps, candidate)
        return i + 1, log_eps, direction, done | crossed | ~bounded

    state = (B.convert(0), log_step, one * 0.0, one < 0.0)
    _, log_step, _, _ = B.while_loop(
        lambda i, _, __, done: (i <= max_iterations) & ~B.np.all(done), body, state)
    return log_step
