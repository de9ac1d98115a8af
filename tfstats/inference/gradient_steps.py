"""Stochastic-gradient update rules for ``vi``, as pure functions on plain state.

Each rule is a pair ``init(params) -> state`` and ``update(B, grad, state, step, rate) ->
(change, state)`` on one flat parameter vector, so that it runs inside one compiled loop on
either backend (neither Keras' nor optax's optimisers run on both). ``step`` counts from 1.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

__all__ = ["GradientRule", "RULES", "get_rule"]


@dataclass(frozen=True)
class GradientRule:
    """An update rule: ``init`` builds its state, ``update`` gives the ascent step.
    ``normalised``: the step divides the gradient by its running root mean square (so its
    size is about ``rate`` times the gradient's signal-to-noise ratio)."""

    name: str
    init: Callable[[Any], tuple]
    update: Callable[..., tuple]
    normalised: bool = True


def _adam_update(B: Any, grad: Any, state: tuple, step: Any, rate: float) -> tuple:
    b1, b2, eps = 0.9, 0.999, 1e-8
    m, v = state
    m = b1 * m + (1 - b1) * grad
    v = b2 * v + (1 - b2) * grad * grad
    t = B.cast(step, grad.dtype)
    change = rate * (m / (1 - b1**t)) / (B.np.sqrt(v / (1 - b2**t)) + eps)
    return change, (m, v)


def _rmsprop_update(B: Any, grad: Any, state: tuple, step: Any, rate: float) -> tuple:
    (v,) = state
    v = 0.9 * v + 0.1 * grad * grad
    return rate * grad / (B.np.sqrt(v) + 1e-8), (v,)


def _adagrad_update(B: Any, grad: Any, state: tuple, step: Any, rate: float) -> tuple:
    (v,) = state
    v = v + grad * grad
    return rate * grad / (B.np.sqrt(v) + 1e-8), (v,)


def _sgd_update(B: Any, grad: Any, state: tuple, step: Any, rate: float) -> tuple:
    (velocity,) = state  # heavy-ball momentum 0.9
    velocity = 0.9 * velocity + grad
    return rate * velocity, (velocity,)


RULES: dict[str, GradientRule] = {
    "adam": GradientRule("adam", lambda p: (p * 0.0, p * 0.0), _adam_update),
    "rmsprop": GradientRule("rmsprop", lambda p: (p * 0.0,), _rmsprop_update),
    "adagrad": GradientRule("adagrad", lambda p: (p * 0.0,), _adagrad_update),
    "sgd": GradientRule("sgd", lambda p: (p * 0.0,), _sgd_update, normalised=False),
}


def get_rule(name: str) -> GradientRule:
    """The rule called ``name`` (one of ``RULES``); a clear error otherwise."""
    if not isinstance(name, str) or name.lower() not in RULES:
        raise ValueError(f"optimizer must be one of {sorted(RULES)}, got {name!r}")
    return RULES[name.lower()]
