"""mcmc on JAX compiles its sampling loop once, in a background thread started before the
starting points are searched; an error there is raised by mcmc, not a hang."""

from __future__ import annotations

import threading
import types
from typing import Any

import pytest

from tests.tfstats.inference.short_fits import (
    errors_of_a_fit_in_a_thread,
    short_fit,
    tiny_model,
    when_the_search_begins,
)

jax = pytest.importorskip("jax")


def _chunk_traces() -> tuple[list[tuple[str, str]], Any]:
    from jax import monitoring

    traced: list[tuple[str, str]] = []

    def listener(event: str, duration: float, **kwargs: Any) -> None:
        name = kwargs.get("fun_name")
        if event.endswith("jaxpr_trace_duration") and name == "chunk":
            traced.append((name, threading.current_thread().name))

    monitoring.register_event_duration_secs_listener(listener)
    return traced, listener


@pytest.mark.parametrize(("chain_method", "device"), [("parallel", None),
                                                      ("vectorized", "cpu")])
def test_the_loop_compiles_once_in_the_background_before_the_starting_points(
        chain_method: str, device: str | None, jax_backend: str, fresh_compile_cache: None,
        monkeypatch: pytest.MonkeyPatch) -> None:
    from jax._src import monitoring as jax_monitoring

    from tfstats.backends.jax_aot import AheadOfTime

    model = tiny_model()
    started = when_the_search_begins(monkeypatch, lambda: [  # compiling by then
        (r, len(r._compilations._futures)) for k, r in model._cache.items()
        if k[-1][0] == "mcmc"])
    traced, listener = _chunk_traces()
    try:
        draws = short_fit(model, chain_method=chain_method, device=device)
        short_fit(model, chain_method=chain_method, device=device)  # compiled already
    finally:
        jax_monitoring.unregister_event_duration_listener(listener)
    assert draws["mu"].shape == (2, 60)
    [(runner, compiling)] = started
    assert isinstance(runner, AheadOfTime) and compiling == 1
    assert runner.compilations == 1
    assert traced == [("chunk", "tfstats-compile")]  # traced once, in the background


def test_a_compile_error_in_the_background_is_raised_by_mcmc(
        jax_backend: str, fresh_compile_cache: None, monkeypatch: pytest.MonkeyPatch) -> None:
    from tfstats.backends.jax_aot import AheadOfTime

    def broken(self: AheadOfTime, args: tuple, lowered: Any = None) -> Any:
        raise RuntimeError("XLA ran out of registers")

    monkeypatch.setattr(AheadOfTime, "_compile", broken)
    outcome = errors_of_a_fit_in_a_thread(chain_method="parallel")
    assert len(outcome) == 1 and isinstance(outcome[0], RuntimeError)
    assert "out of registers" in str(outcome[0])


def test_other_backends_run_the_loop_as_before() -> None:
    from tfstats.inference.compile_ahead import ahead_of_time, start_chunk

    model = types.SimpleNamespace(backend=types.SimpleNamespace(name="other"))
    loop = object()
    assert ahead_of_time(model, loop) is loop  # type: ignore[arg-type]
    assert start_chunk(model, loop, 2, {}, {}, 100, None) is None  # type: ignore[arg-type]

