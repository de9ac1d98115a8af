"""Slice sampling: TFP's ``SliceSampler`` (per coordinate, by doubling) on the scale the
mass matrix sets."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar

from tfstats.inference.samplers.base import Sampler, check_positive_ints

__all__ = ["Slice", "slice"]


@dataclass(frozen=True)
class Slice(Sampler):
    """Slice sampling (made by :func:`slice`); every proposal is accepted, so the step
    size (the initial bracket width) is not tuned.

    Attributes
    ----------
    max_doublings : int
        Doublings of the bracket.
    """

    method: ClassVar[str] = "slice"
    adapts_step_size: ClassVar[bool] = False

    max_doublings: int = 10

    def __post_init__(self) -> None:
        super().__post_init__()
        check_positive_ints(self, "max_doublings")

    def kernel(self, B: Any, target: Callable, value_and_grad: Callable, step: Any) -> Any:
        return B.tfp.mcmc.SliceSampler(target, step_size=step,
                                       max_doublings=self.max_doublings)

    def runs_one_chain(self, B: Any) -> bool:
        # TFP's SliceSampler under XLA on TensorFlow loses the static shape of a batch of
        # one chain in its acceptance loop (a ValueError while tracing)
        return B.name != "tensorflow"

    def log_density(self, results: Any) -> Any:
        return results.target_log_prob

    def statistics(self, B: Any, results: Any, dtype: Any) -> dict[str, Any]:
        lp = self.log_density(results)
        one = B.np.ones_like(lp)
        return {"accept": one, "divergent": one * 0.0, "n_steps": one, "energy": -lp}


def slice(max_doublings: int = 10, initial_step_size: float = 1.0) -> Slice:  # noqa: A001
    """Slice sampling (per-coordinate, by doubling) on the scale the mass matrix sets.

    Examples
    --------
    >>> import tfstats as ts
    >>> ts.slice(max_doublings=5).max_doublings
    5
    """
    return Slice(max_doublings=max_doublings, initial_step_size=initial_step_size)
