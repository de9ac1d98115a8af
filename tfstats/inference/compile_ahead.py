"""MCMC's sampling loop compiled while the starting points are found (JAX backend).

On JAX, the chunk of ``mcmc`` that runs on one device is compiled ahead of time
(``backends.jax_aot.AheadOfTime``: once per signature of its arguments, with XLA options
chosen from the traced program). ``mcmc`` starts that compilation in a background thread
before it looks for starting points (which compiles and runs the log density on its own);
once the chunk is traced and lowered (Python work, which holds the GIL), the draws'
constraining starts compiling in another thread while XLA compiles the chunk (which
releases it). The first chunk waits for the compilation. The arguments' shapes are known
before the starting points are: the compilation uses placeholders of the same shapes and
dtypes. On TensorFlow (and on several devices) the chunk is compiled as before, at its
first call.

Compiling the step-size search apart, as a second program in a second thread, was
measured and dropped: on the 2-core machine it cost more CPU time than it saved
(``docs/performance_mcmc.md``, "First call on JAX").
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import numpy as np

from tfstats.model import Model

__all__ = ["ahead_of_time", "start_chunk", "start_constrain"]

CONSTRAIN_BATCH = 2000  # rows per call of the draws' constraining (Model.constrain_draws)


def ahead_of_time(model: Model, jitted: Callable) -> Callable:
    """``jitted`` (a compiled chunk for one device) compiled ahead of time on JAX; as it
    is on other backends."""
    if model.backend.name != "jax":
        return jitted
    from tfstats.backends.jax_aot import AheadOfTime

    return AheadOfTime(jitted)


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
    seed = B.convert(np.zeros(2, np.uint32))  # a PRNG key's shape and dtype
    runner.start(x, adapt, seed, B.convert(0), B.convert(0), B.convert(False),
                 {k: B.convert(v) for k, v in schedule.items()}, *model.data_tensors(),
                 scope=lambda: B.device_scope(device),
                 lowered=lambda: start_constrain(model, rows, device))


def start_constrain(model: Model, rows: int, device: str | None) -> threading.Thread | None:
    """Compile the draws' constraining (``Model.constrain_draws``) for ``rows`` draws in
    a background thread on JAX (it runs after sampling otherwise). Returns the thread.
    An error there is left to the call that needs the function, which raises it."""
    if model.backend.name != "jax" or rows <= 0:
        return None
    import jax

    B = model.backend
    fn = model.constrain_function()
    flats = jax.ShapeDtypeStruct((min(rows, CONSTRAIN_BATCH), model.n_free), model.float_dtype)
    data = model.data_tensors()

    def compile_() -> None:
        try:
            with B.device_scope(device):
                fn.lower(flats, *data).compile()  # fills jit's cache: the call reuses it
        except Exception:  # noqa: BLE001, S110 - raised again by the call that needs it
            pass

    thread = threading.Thread(target=compile_, name="tfstats-compile", daemon=True)
    thread.start()
    return thread
