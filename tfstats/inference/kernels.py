"""Sampler machinery: TFP kernels for each sampler spec, on a space scaled by the mass
matrix (``x = z * scale``, or ``x = scale @ z`` for a dense metric: see ``metric.py``),
and the statistics the driver records."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tfstats.inference.metric import regrade
from tfstats.inference.nuts import NoUTurn
from tfstats.inference.samplers import Sampler

__all__ = ["make_kernel", "with_step_size", "statistics", "target_log_prob", "rescale"]


def make_kernel(B: Any, spec: Sampler, target: Callable, value_and_grad: Callable,
                step: Any) -> Any:
    """The kernel for ``spec`` with per-chain ``step`` (shape (chains, 1)): our NUTS
    (robust U-turn checks) on ``value_and_grad``, TFP's kernels on ``target``."""
    mcmc = B.tfp.mcmc
    if spec.method == "nuts":
        return NoUTurn(B, value_and_grad, step, max_tree_depth=spec.max_tree_depth)
    if spec.method == "hmc":
        return mcmc.HamiltonianMonteCarlo(target, step_size=step,
                                          num_leapfrog_steps=spec.n_leapfrog)
    if spec.method == "rwmh":
        return mcmc.RandomWalkMetropolis(
            target, new_state_fn=mcmc.random_walk_normal_fn(scale=step))
    if spec.method == "slice":
        return mcmc.SliceSampler(target, step_size=step, max_doublings=spec.max_doublings)
    raise ValueError(f"unknown sampler {spec.method!r}")


def with_step_size(spec: Sampler, results: Any, step: Any) -> Any:
    """NUTS reads its step size from the results; the others from the kernel."""
    if spec.method == "nuts":
        return results._replace(step_size=step)
    return results


def rescale(B: Any, spec: Sampler, results: Any, old: Any, new: Any) -> Any:
    """Results after the mass-matrix scale changes from ``old`` to ``new``: the state
    ``z`` is new but the density value is the same, and the gradient in ``z`` is
    ``scale^T grad_x``, so no gradient needs recomputing."""
    if spec.method == "nuts":
        return results._replace(grads_target_log_prob=regrade(
            B, old, new, results.grads_target_log_prob))
    if spec.method == "hmc":
        inner = results.accepted_results
        return results._replace(accepted_results=inner._replace(
            grads_target_log_prob=[regrade(B, old, new, inner.grads_target_log_prob[0])]))
    return results


def target_log_prob(spec: Sampler, results: Any) -> Any:
    if spec.method in ("hmc", "rwmh"):
        return results.accepted_results.target_log_prob
    return results.target_log_prob


def statistics(B: Any, spec: Sampler, results: Any, dtype: Any) -> dict[str, Any]:
    """Per-chain acceptance probability, divergence, gradient evaluations and energy."""
    lp = target_log_prob(spec, results)
    one = B.np.ones_like(lp)
    if spec.method == "slice":
        return {"accept": one, "divergent": one * 0.0, "n_steps": one, "energy": -lp}
    log_ratio = results.log_accept_ratio
    safe = B.np.where(B.np.isfinite(log_ratio), log_ratio, -B.np.inf * one)
    accept = B.np.exp(B.np.minimum(safe, 0.0 * one))
    if spec.method == "nuts":
        return {"accept": accept, "divergent": B.cast(results.has_divergence, dtype),
                "n_steps": B.cast(results.leapfrogs_taken, dtype), "energy": results.energy}
    divergent = B.cast(~(safe > -1000.0), dtype)
    steps = float(spec.n_leapfrog) if spec.method == "hmc" else 1.0
    return {"accept": accept, "divergent": divergent if spec.method == "hmc" else one * 0.0,
            "n_steps": one * steps, "energy": -lp}
