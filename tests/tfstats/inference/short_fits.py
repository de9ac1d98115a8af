"""A one-parameter model and a short NUTS fit of it, shared by the compile-ahead tests of
both backends."""

from __future__ import annotations

import threading
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np

import tfstats as ts

__all__ = ["errors_of_a_fit_in_a_thread", "short_fit", "tiny_model", "when_the_search_begins"]


def tiny_model() -> ts.Model:
    """``mu ~ normal(0, 2)`` with five observations."""
    mu = ts.normal(0.0, 2.0)
    ts.normal(mu, 1.5, observed=np.array([1.2, 0.4, 2.2, 1.9, 0.7]))
    return ts.model(mu=mu)


def short_fit(model: ts.Model, **kwargs: Any) -> ts.Draws:
    """2 chains x (60 + 60), seed 3, warnings off (short runs may be called unhealthy)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return ts.mcmc(model, n_samples=60, warmup=60, chains=2, seed=3, progress=False,
                       **kwargs)


def errors_of_a_fit_in_a_thread(**kwargs: Any) -> list[BaseException]:
    """What ``short_fit(tiny_model(), **kwargs)`` raised, run in a thread that must end
    within 120 s (a compile error must not hang the caller)."""
    outcome: list[BaseException] = []

    def fit() -> None:
        try:
            short_fit(tiny_model(), **kwargs)
        except BaseException as error:  # noqa: BLE001 - handed to the test
            outcome.append(error)

    caller = threading.Thread(target=fit)
    caller.start()
    caller.join(timeout=120)
    assert not caller.is_alive()
    return outcome


def when_the_search_begins(monkeypatch: Any, record: Callable[[], list]) -> list:
    """The list ``record()`` returns when MCMC first looks for starting points (the loop
    is compiling by then), filled once; MCMC's ``initial_state`` is wrapped to take it."""
    from tfstats.inference import mcmc as mcmc_module

    seen: list = []
    search = mcmc_module.initial_state

    def initial_state(*args: Any, **kwargs: Any) -> np.ndarray:
        if not seen:
            seen.extend(record())
        return search(*args, **kwargs)

    monkeypatch.setattr(mcmc_module, "initial_state", initial_state)
    return seen
