"""NUTS: the project's batched No-U-Turn kernel (``inference/nuts.py``, Stan's robust
U-turn checks) as a sampler."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar

from tfstats.inference.metric import regrade
from tfstats.inference.nuts import NoUTurn
from tfstats.inference.samplers.base import Sampler, accept_probability, check_positive_ints

__all__ = ["NUTS", "nuts", "MAX_TREE_DEPTH"]

MAX_TREE_DEPTH = 30


@dataclass(frozen=True)
class NUTS(Sampler):
    """The No-U-Turn sampler (made by :func:`nuts`).

    Attributes
    ----------
    max_tree_depth : int
        The largest tree depth (``2**depth - 1`` leapfrog steps at most), 1 to 30.
    """

    method: ClassVar[str] = "nuts"
    restarts_step_size: ClassVar[bool] = True

    max_tree_depth: int = 10

    def __post_init__(self) -> None:
        super().__post_init__()
        check_positive_ints(self, "max_tree_depth")
        if self.max_tree_depth > MAX_TREE_DEPTH:  # 2**depth leapfrog steps; int32 indices
            raise ValueError(f"max_tree_depth must be <= {MAX_TREE_DEPTH} (at most "
                             f"2**depth - 1 leapfrog steps per draw), got {self.max_tree_depth}")

    def kernel(self, B: Any, target: Callable, value_and_grad: Callable, step: Any) -> Any:
        return NoUTurn(B, value_and_grad, step, max_tree_depth=self.max_tree_depth)

    def with_step_size(self, results: Any, step: Any) -> Any:
        return results._replace(step_size=step)  # NoUTurn reads it from its results

    def log_density(self, results: Any) -> Any:
        return results.target_log_prob

    def gradient(self, results: Any) -> Any:
        return results.grads_target_log_prob

    def rescale(self, B: Any, results: Any, old: Any, new: Any) -> Any:
        return results._replace(grads_target_log_prob=regrade(
            B, old, new, results.grads_target_log_prob))

    def statistics(self, B: Any, results: Any, dtype: Any) -> dict[str, Any]:
        return {"accept": accept_probability(B, results.log_accept_ratio),
                "divergent": B.cast(results.has_divergence, dtype),
                "n_steps": B.cast(results.leapfrogs_taken, dtype), "energy": results.energy}


def nuts(max_tree_depth: int = 10, target_accept: float = 0.8,
         initial_step_size: float = 1.0, metric: str = "diag") -> NUTS:
    """The No-U-Turn sampler (the default).

    ``metric="dense"`` adapts a full mass matrix (Stan's ``dense_e``) instead of a
    diagonal one: for strongly correlated posteriors of moderate dimension.

    Examples
    --------
    >>> import tfstats as ts
    >>> ts.nuts(target_accept=0.9)
    NUTS(target_accept=0.9, initial_step_size=1.0, step_jitter=0.0, metric='diag', max_tree_depth=10)
    >>> ts.nuts(metric="dense").metric
    'dense'
    """  # noqa: E501
    return NUTS(target_accept=target_accept, max_tree_depth=max_tree_depth,
                initial_step_size=initial_step_size, metric=metric)
