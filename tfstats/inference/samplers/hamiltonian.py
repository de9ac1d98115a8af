"""HMC: TFP's ``HamiltonianMonteCarlo`` with a fixed number of leapfrog steps."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar

from tfstats.inference.metric import regrade
from tfstats.inference.samplers.base import Sampler, accept_probability, check_positive_ints

__all__ = ["HMC", "hmc"]

_DIVERGENCE = -1000.0  # a log acceptance ratio below this (an energy error) is a divergence


@dataclass(frozen=True)
class HMC(Sampler):
    """Hamiltonian Monte Carlo (made by :func:`hmc`).

    Attributes
    ----------
    n_leapfrog : int
        Leapfrog steps per iteration.
    """

    method: ClassVar[str] = "hmc"

    target_accept: float = 0.65
    step_jitter: float = 0.15
    n_leapfrog: int = 16

    def __post_init__(self) -> None:
        super().__post_init__()
        check_positive_ints(self, "n_leapfrog")

    def kernel(self, B: Any, target: Callable, value_and_grad: Callable, step: Any) -> Any:
        return B.tfp.mcmc.HamiltonianMonteCarlo(target, step_size=step,
                                                num_leapfrog_steps=self.n_leapfrog)

    # TFP's results: MetropolisHastingsKernelResults around the leapfrog's results
    def log_density(self, results: Any) -> Any:
        return results.accepted_results.target_log_prob

    def gradient(self, results: Any) -> Any:
        grads = results.accepted_results.grads_target_log_prob
        return grads[0] if isinstance(grads, list | tuple) else grads

    def rescale(self, B: Any, results: Any, old: Any, new: Any) -> Any:
        inner = results.accepted_results
        grads = inner.grads_target_log_prob  # a list of one part: TFP lists the state

        def carried(grad: Any) -> Any:
            return regrade(B, old, new, grad)

        new_grads = (type(grads)(carried(g) for g in grads) if isinstance(grads, list | tuple)
                     else carried(grads))
        return results._replace(accepted_results=inner._replace(
            grads_target_log_prob=new_grads))

    def statistics(self, B: Any, results: Any, dtype: Any) -> dict[str, Any]:
        lp = self.log_density(results)
        log_ratio = results.log_accept_ratio
        finite = B.np.where(B.np.isfinite(log_ratio), log_ratio,
                            -B.np.inf * B.np.ones_like(log_ratio))
        divergent = ~(finite > _DIVERGENCE)
        return {"accept": accept_probability(B, log_ratio),
                "divergent": B.cast(divergent, dtype),
                "n_steps": B.np.ones_like(lp) * float(self.n_leapfrog), "energy": -lp}


def hmc(n_leapfrog: int = 16, target_accept: float = 0.65,
        initial_step_size: float = 1.0, step_jitter: float = 0.15,
        metric: str = "diag") -> HMC:
    """Hamiltonian Monte Carlo with a fixed number of leapfrog steps per iteration.

    The step size is jittered by up to ``step_jitter`` (15 %, as PyMC does) at each
    iteration: with a fixed trajectory length, draws can otherwise become periodic (on a
    gamma posterior the effective sample size fell to 6 % of the draws for some seeds).
    ``metric`` is "diag" or "dense", as for :func:`nuts`.

    Examples
    --------
    >>> import tfstats as ts
    >>> ts.hmc(n_leapfrog=32).step_jitter
    0.15
    """
    return HMC(target_accept=target_accept, n_leapfrog=n_leapfrog,
               initial_step_size=initial_step_size, step_jitter=step_jitter, metric=metric)
