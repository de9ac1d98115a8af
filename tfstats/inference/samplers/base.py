"""The sampler interface. A sampler is a frozen, validated dataclass of its settings (the
spec users make with ``ts.nuts()`` and the like) that also knows its kernel: how to build
it, read its statistics and carry its state to a new mass matrix. The driver
(``inference/mcmc.py``) calls only these methods, so adding a sampler is one subclass,
as numpyro's ``MCMCKernel`` or greta's sampler classes.

Kernels run on ``z``, the space the mass matrix scales (``x = z * scale``, or
``x = scale @ z`` for a dense metric: see ``metric.py``), with one step size per chain.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar

from tfstats.inference.metric import METRICS

__all__ = ["Sampler", "sampler_class", "accept_probability", "check_positive_ints"]

_CLASSES: dict[str, type[Sampler]] = {}


@dataclass(frozen=True)
class Sampler(ABC):
    """A sampler: its settings, and the kernel machinery the driver calls.

    Subclass it (as a frozen dataclass) to add a sampler; ``ts.mcmc(m, sampler=...)``
    then runs it. Every sampler has the settings below; a subclass adds its own.

    Attributes
    ----------
    target_accept : float
        Mean acceptance probability the warmup tunes the step size toward.
    initial_step_size : float
        The step size warmup starts from (on the scale the mass matrix sets).
    step_jitter : float
        Each iteration multiplies each chain's step size by a uniform factor in
        ``[1 - step_jitter, 1 + step_jitter]`` (0: no jitter).
    metric : str
        The mass matrix warmup adapts: "diag" (a variance per coordinate) or "dense" (a
        full covariance, for strongly correlated posteriors; O(n^2) per step).

    Class attributes
    ----------------
    method : str
        The sampler's name (in saved draws and messages); one per class.
    adapts_step_size : bool
        Whether warmup tunes the step size by dual averaging toward ``target_accept``.
    restarts_step_size : bool
        Whether the step size is searched afresh (Stan's ``init_stepsize``) at the start
        of warmup and after each mass-matrix update; needs :meth:`gradient`.
    """

    method: ClassVar[str] = ""
    adapts_step_size: ClassVar[bool] = True
    restarts_step_size: ClassVar[bool] = False

    target_accept: float = 0.8
    initial_step_size: float = 1.0
    step_jitter: float = 0.0
    metric: str = "diag"

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if not cls.method:
            raise TypeError(f"sampler class {cls.__name__} must set the class attribute "
                            f"`method` (its name)")
        _CLASSES[cls.method] = cls

    def __post_init__(self) -> None:
        if not 0.0 < self.target_accept < 1.0:
            raise ValueError(f"target_accept must be in (0, 1), got {self.target_accept}")
        if self.initial_step_size <= 0:
            raise ValueError("initial_step_size must be positive")
        if not 0.0 <= self.step_jitter < 1.0:
            raise ValueError(f"step_jitter must be in [0, 1), got {self.step_jitter}")
        if self.metric not in METRICS:
            raise ValueError(f"metric must be 'diag' or 'dense', got {self.metric!r}")

    # --- the interface the driver calls -------------------------------------------------------

    @abstractmethod
    def kernel(self, B: Any, target: Callable, value_and_grad: Callable, step: Any) -> Any:
        """The transition kernel (``bootstrap_results(z)`` and ``one_step(z, results,
        seed)``, as TFP's kernels) for per-chain step sizes ``step`` (chains, 1).
        ``target(z)`` is the log density (chains,); ``value_and_grad(z)`` also gives its
        gradient (chains, n)."""

    @abstractmethod
    def log_density(self, results: Any) -> Any:
        """The log density (chains,) at the current state, from the kernel's results."""

    @abstractmethod
    def statistics(self, B: Any, results: Any, dtype: Any) -> dict[str, Any]:
        """Per-chain statistics of the last transition: ``accept`` (acceptance
        probability), ``divergent`` (0 or 1), ``n_steps`` (gradient evaluations) and
        ``energy``, each (chains,)."""

    def bootstrap(self, kernel: Any, z: Any, step: Any) -> Any:
        """The kernel's results at ``z`` before the first transition."""
        return self.with_step_size(kernel.bootstrap_results(z), step)

    def with_step_size(self, results: Any, step: Any) -> Any:
        """``results`` set to use ``step``, for kernels that read the step size from
        their results rather than from the kernel (by default: unchanged)."""
        return results

    def rescale(self, B: Any, results: Any, old: Any, new: Any) -> Any:
        """``results`` after the mass-matrix scale changes from ``old`` to ``new``. The
        density is unchanged by the change of variables; a gradient kept in the results
        is carried over with ``metric.regrade`` (by default: unchanged, no gradient)."""
        return results

    def runs_one_chain(self, B: Any) -> bool:
        """Whether the kernel runs on a batch of one chain on backend ``B``, as parallel
        chains (``mcmc(chain_method="parallel")``) need (by default: yes)."""
        return True

    def gradient(self, results: Any) -> Any:
        """The gradient in ``z`` (chains, n) at the current state (for
        ``restarts_step_size``, and checked finite at the starting points)."""
        raise NotImplementedError(f"the {self.method} sampler keeps no gradient")


def sampler_class(method: str) -> type[Sampler]:
    """The sampler class named ``method`` (to rebuild a saved spec).

    Examples
    --------
    >>> sampler_class("nuts").__name__
    'NUTS'
    """
    if method not in _CLASSES:
        raise ValueError(f"unknown sampler {method!r}: known samplers are {sorted(_CLASSES)} "
                         f"(define a sampler class before loading draws made with it)")
    return _CLASSES[method]


def accept_probability(B: Any, log_accept_ratio: Any) -> Any:
    """``min(1, exp(log_accept_ratio))``, 0 where the ratio is not finite."""
    one = B.np.ones_like(log_accept_ratio)
    safe = B.np.where(B.np.isfinite(log_accept_ratio), log_accept_ratio, -B.np.inf * one)
    return B.np.exp(B.np.minimum(safe, 0.0 * one))


def check_positive_ints(spec: Sampler, *names: str) -> None:
    """Raise a ValueError naming the first of ``names`` that is not an int >= 1."""
    for name in names:
        value = getattr(spec, name)
        if not isinstance(value, int) or value < 1:
            raise ValueError(f"{name} must be an int >= 1, got {value!r}")
