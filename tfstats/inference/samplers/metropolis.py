"""Random-walk Metropolis: TFP's ``RandomWalkMetropolis`` with normal proposals whose
scale is the step size."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar

from tfstats.inference.samplers.base import Sampler, accept_probability

__all__ = ["RWMH", "rwmh"]


@dataclass(frozen=True)
class RWMH(Sampler):
    """Random-walk Metropolis-Hastings (made by :func:`rwmh`)."""

    method: ClassVar[str] = "rwmh"

    target_accept: float = 0.234

    def kernel(self, B: Any, target: Callable, value_and_grad: Callable, step: Any) -> Any:
        mcmc = B.tfp.mcmc
        return mcmc.RandomWalkMetropolis(target,
                                         new_state_fn=mcmc.random_walk_normal_fn(scale=step))

    def log_density(self, results: Any) -> Any:
        return results.accepted_results.target_log_prob

    def statistics(self, B: Any, results: Any, dtype: Any) -> dict[str, Any]:
        lp = self.log_density(results)
        one = B.np.ones_like(lp)
        return {"accept": accept_probability(B, results.log_accept_ratio),
                "divergent": one * 0.0, "n_steps": one, "energy": -lp}


def rwmh(target_accept: float = 0.234, initial_step_size: float = 1.0) -> RWMH:
    """Random-walk Metropolis-Hastings with normal proposals (scale tuned in warmup).

    Examples
    --------
    >>> import tfstats as ts
    >>> ts.rwmh().target_accept
    0.234
    """
    return RWMH(target_accept=target_accept, initial_step_size=initial_step_size)
