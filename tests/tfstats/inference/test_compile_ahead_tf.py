"""mcmc on TensorFlow traces its sampling loop before the starting points and compiles it
with XLA in a background thread while they are found: one compilation per call, the
same draws as the loop compiled at its first call, and an error there raised by mcmc."""

from __future__ import annotations

import threading
from typing import Any

import numpy as np
import pytest

import tfstats as ts
from tests.tfstats.inference.short_fits import (
    errors_of_a_fit_in_a_thread,
    short_fit,
    tiny_model,
    when_the_search_begins,
)
from tfstats import compile_cache
from tfstats.backends.tf_ahead import CompiledAhead
from tfstats.inference import mcmc as mcmc_module


def _fit(model: ts.Model, **kwargs: Any) -> ts.Draws:
    return short_fit(model, chain_method="parallel", **kwargs)


def _loops(model: ts.Model) -> list[Any]:
    return [r for k, r in model._cache.items() if k[-1][0] == "mcmc"]


def test_the_loop_compiles_in_the_background_once_with_the_same_draws(
        tensorflow_backend: str, fresh_compile_cache: None,
        monkeypatch: pytest.MonkeyPatch) -> None:
    model = tiny_model()
    seen = when_the_search_begins(monkeypatch, lambda: [  # traced and compiling by then
        (r, r.compilations, list(r._compilations._futures.values())) for r in _loops(model)])
    draws = _fit(model)
    again = _fit(model)  # compiled already: nothing started
    [(runner, compilations, futures)] = seen
    assert isinstance(runner, CompiledAhead) and compilations == 1 and len(futures) == 1
    assert runner.compilations == 1 and futures[0].done() and futures[0].exception() is None
    assert np.array_equal(draws["mu"], again["mu"])  # one seed, one result
    # the loop compiled at its first call, as before: the same draws
    monkeypatch.setattr(mcmc_module, "ahead_of_time", lambda model, jitted, key=None: jitted)
    compile_cache.clear()
    plain = _fit(tiny_model())
    assert np.array_equal(draws["mu"], plain["mu"])


def test_a_compile_error_in_the_background_is_raised_by_mcmc(
        tensorflow_backend: str, fresh_compile_cache: None,
        monkeypatch: pytest.MonkeyPatch) -> None:
    compiling = []

    def broken(self: CompiledAhead, future: Any, args: tuple, scope: Any) -> None:
        compiling.append(threading.current_thread().name)
        future.set_exception(RuntimeError("XLA ran out of registers"))

    monkeypatch.setattr(CompiledAhead, "_compile", broken)
    outcome = errors_of_a_fit_in_a_thread(chain_method="parallel")
    assert compiling == ["tfstats-compile"]
    assert len(outcome) == 1 and isinstance(outcome[0], RuntimeError)
    assert "out of registers" in str(outcome[0])
