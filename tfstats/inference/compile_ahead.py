"""MCMC's sampling loop compiled while the starting points are found.

On JAX, the chunk of ``mcmc`` that runs on one device is compiled ahead of time
(``backends.jax_aot.AheadOfTime``: once per signature of its arguments, with XLA options
chosen from the traced program). ``mcmc`` starts that compilation in a background thread
before it looks for starting points (which compiles and runs the log density on its own);
once the chunk is traced and lowered (Python work, which holds the GIL), the draws'
constraining starts compiling in another thread while XLA compiles the chunk (which
releases it). The first chunk waits for the compilation. The arguments' shapes are known
before the starting points are: the compilation uses placeholders of the same shapes and
dtypes.

On TensorFlow (``backends.tf_ahead.CompiledAhead``) the chunk's ``tf.function`` is traced
on the calling thread first (the tracing holds the GIL: beside the starting points'
own tracing it would only delay the compilation), then called with zero iterations in a
background thread, where XLA compiles it (or loads it from the persistent cache) into
TensorFlow's compilation cache, which the real calls hit; the draws' constraining is
traced in another thread meanwhile, and once the starting points are found, if the loop
is still compiling, the diagnostics' library is imported in the wait
(:func:`while_compiling`; on JAX, where the wait is shorter, that delayed the first chunk
by 0.07 s for 0.03 s saved in all, so it is not done there). With the chains spread over
several devices the chunk is compiled as before, at its first call.

Compiling the step-size search apart, as a second program in a second thread, was
measured and dropped: on the 2-core machine it cost more CPU time than it saved
(``docs/performance_mcmc.md``, "First call on JAX").
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable
from typing import Any

import numpy as np

from tfstats.model import Model

__all__ = ["ahead_of_time", "start_chunk", "start_constrain", "while_compiling"]

CONSTRAIN_BATCH = 2000  # rows per call of the draws' constraining (Model.constrain_draws)


def ahead_of_time(model: Model, jitted: Callable, key: Any = None) -> Callable:
    """``jitted`` (a compiled chunk for one device) made to compile ahead of time:
    ``AheadOfTime`` on JAX, ``CompiledAhead`` on TensorFlow; as it is on other
    backends. With ``key`` (the chunk's key in ``Model.compiled``), its traced program
    (JAX) or graph (TensorFlow, with XLA) is kept in the ``trace_store`` for later
    processes."""
    from tfstats import trace_store

    store = None if key is None else trace_store.digest(model, key)
    if model.backend.name == "jax":
        from tfstats.backends.jax_aot import AheadOfTime

        return AheadOfTime(jitted, store)
    if model.backend.name == "tensorflow":
        from tfstats.backends.tf_ahead import CompiledAhead

        return CompiledAhead(jitted, store if model.backend.xla_enabled() else None)
    return jitted


def start_chunk(model: Model, runner: Callable, chains: int, adaptation: dict[str, Any],
                schedule: dict[str, Any], rows: int, device: str | None) -> None:
    """Start compiling ``runner`` (a chunk made by :func:`ahead_of_time` for ``chains``
    chains) in a background thread for the arguments ``mcmc`` will call it with: the
    initial ``adaptation`` (numpy, per chain: the first ``chains`` rows are used) and
    window ``schedule``; then the constraining of ``rows`` draws
    (:func:`start_constrain`)."""
    if not hasattr(runner, "start"):
        start_constrain(model, rows, device)
        return
    B = model.backend
    dtype = model.float_dtype
    x = B.convert(np.zeros((chains, model.n_free)), dtype)
    adapt = {k: B.convert(np.asarray(v)[:chains], dtype) for k, v in adaptation.items()}
    seed = B.make_seed(0)  # a seed's shape and dtype
    runner.start(x, adapt, seed, B.convert(0), B.convert(0), B.convert(False),
                 {k: B.convert(v) for k, v in schedule.items()}, *model.data_tensors(),
                 scope=lambda: B.device_scope(device),
                 lowered=lambda: start_constrain(model, rows, device))


def while_compiling(runner: Callable) -> None:
    """Work that fits in the wait for ``runner``'s compilation, done on the caller's
    thread while XLA compiles in the background (with the GIL free): the import of the
    draws' diagnostics library (arviz-stats, about 0.2 s of Python on a process's first
    fit, otherwise paid after sampling). Nothing when ``runner`` is not compiling, or
    does not say (``CompiledAhead.compiling``: TensorFlow)."""
    if getattr(runner, "compiling", False) and "arviz_stats.base" not in sys.modules:
        import arviz_stats.base  # noqa: F401


def start_constrain(model: Model, rows: int, device: str | None) -> threading.Thread | None:
    """Compile (JAX) or trace (TensorFlow) the draws' constraining
    (``Model.constrain_draws``) for ``rows`` draws in a background thread (it runs after
    sampling otherwise). Returns the thread. An error there is left to the call that
    needs the function, which raises it."""
    if model.backend.name not in ("jax", "tensorflow") or rows <= 0:
        return None
    B = model.backend
    fn = model.constrain_function()
    shape = (min(rows, CONSTRAIN_BATCH), model.n_free)
    data = model.data_tensors()
    if B.name == "jax":
        import jax

        flats = jax.ShapeDtypeStruct(shape, model.float_dtype)

        def ahead() -> None:  # fills jit's cache: the call reuses it
            fn.lower(flats, *data).compile()
    else:
        import tensorflow as tf

        def ahead() -> None:  # fills tf.function's cache: the call reuses the trace
            fn.get_concrete_function(tf.TensorSpec(shape, model.float_dtype), *data)

    def compile_() -> None:
        try:
            with B.device_scope(device):
                ahead()
        except Exception:  # noqa: BLE001, S110 - raised again by the call that needs it
            pass

    thread = threading.Thread(target=compile_, name="tfstats-compile", daemon=True)
    thread.start()
    return thread
