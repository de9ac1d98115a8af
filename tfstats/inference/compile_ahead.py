"""MCMC's sampling loop compiled while the starting points are found (JAX backend).

On JAX, the chunk of ``mcmc`` that runs on one device becomes two programs, each
compiled ahead of time (``backends.jax_aot.AheadOfTime``: once per signature of the
arguments, with XLA options chosen from the traced program): the loop itself, and the
step-size search that NUTS runs before the chunks that start warmup or follow a
mass-matrix update (the chunk's ``restart`` branch, then run with zero iterations). Both
are the one chunk function with ``restart`` fixed, so the arithmetic is the chunk's; apart
they compile at the same time on two cores, and the loop is a third smaller. With one
core the chunk stays one program (two cost a little more CPU time than one).

``mcmc`` starts compiling the loop in a background thread before it looks for starting
points (which compiles and runs the log density on its own); once the loop is traced and
lowered (Python work, which holds the GIL) the search and the draws' constraining start
compiling in more threads, while XLA compiles the loop. The first chunk waits for them.
The arguments' shapes are known before the starting points are: the compilations use
placeholders of the same shapes and dtypes. On TensorFlow (and on several devices) the
chunk is compiled as before.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from typing import Any

import numpy as np

from tfstats.model import Model

__all__ = ["ahead_of_time", "start_chunk", "start_constrain", "cores"]

CONSTRAIN_BATCH = 2000  # rows per call of the draws' constraining (Model.constrain_draws)


def cores() -> int:
    """CPU cores this process may use."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


class _SplitChunk:
    """The chunk ``(x, adapt, seed, start, n, restart, schedule, *data)`` as its loop and
    its step-size search, compiled ahead of time apart (``split``; with one core, one
    program: the second compiles at the same time only on a second core, and the two
    together cost a little more than one)."""

    def __init__(self, chunk: Callable, split: bool) -> None:
        import jax

        from tfstats.backends.jax_aot import AheadOfTime

        def loop(x: Any, adapt: dict, seed: Any, start: Any, n: Any, schedule: dict,
                 *data: Any) -> tuple:
            return chunk(x, adapt, seed, start, n, False, schedule, *data)

        def search(x: Any, adapt: dict, seed: Any, start: Any, schedule: dict,
                   *data: Any) -> tuple:
            return chunk(x, adapt, seed, start, 0, True, schedule, *data)[1:3]

        self.split = split
        self.loop = AheadOfTime(jax.jit(loop if split else chunk))
        self.search = AheadOfTime(jax.jit(search))

    def start(self, x: Any, adapt: dict, seed: Any, start: Any, n: Any, restart: bool,
              schedule: dict, *data: Any, scope: Callable[[], Any] | None = None,
              then: Callable[[], Any] | None = None) -> None:
        """Compile the loop in a background thread; once it is traced and lowered (Python
        work, which holds the GIL), the search (when ``restart``) in another, and call
        ``then()``."""

        def lowered() -> None:
            if restart and self.split:
                self.search.start(x, adapt, seed, start, schedule, *data, scope=scope)
            if then is not None:
                then()

        flag = () if self.split else (np.asarray(False),)  # the whole chunk's argument
        self.loop.start(x, adapt, seed, start, n, *flag, schedule, *data, scope=scope,
                        lowered=lowered)

    def __call__(self, x: Any, adapt: dict, seed: Any, start: Any, n: Any, restart: Any,
                 schedule: dict, *data: Any) -> tuple:
        if not self.split:
            return self.loop(x, adapt, seed, start, n, restart, schedule, *data)
        if bool(restart):
            adapt, seed = self.search(x, adapt, seed, start, schedule, *data)
        return self.loop(x, adapt, seed, start, n, schedule, *data)


def ahead_of_time(model: Model, jitted: Callable) -> Callable:
    """``jitted`` (a compiled chunk for one device) as its loop and its step-size search
    (one program on one core), compiled ahead of time on JAX; as it is on other
    backends."""
    if model.backend.name != "jax":
        return jitted
    return _SplitChunk(getattr(jitted, "__wrapped__", jitted), split=cores() > 1)


def start_chunk(model: Model, runner: Callable, chains: int, adaptation: dict[str, Any],
                schedule: dict[str, Any], restarts: bool, rows: int,
                device: str | None) -> None:
    """Start compiling ``runner`` (a chunk made by :func:`ahead_of_time` for ``chains``
    chains) in background threads for the arguments ``mcmc`` will call it with: the
    initial ``adaptation`` (numpy, per chain: the first ``chains`` rows are used) and
    window ``schedule``; the step-size search too when the fit ``restarts`` it, and the
    constraining of ``rows`` draws (:func:`start_constrain`)."""
    B = model.backend
    if not isinstance(runner, _SplitChunk):
        start_constrain(model, rows, device)
        return
    dtype = model.float_dtype
    x = B.convert(np.zeros((chains, model.n_free)), dtype)
    adapt = {k: B.convert(np.asarray(v)[:chains], dtype) for k, v in adaptation.items()}
    seed = B.convert(np.zeros(2, np.uint32))  # a PRNG key's shape and dtype
    runner.start(x, adapt, seed, B.convert(0), B.convert(0), restarts,
                 {k: B.convert(v) for k, v in schedule.items()}, *model.data_tensors(),
                 scope=lambda: B.device_scope(device),
                 then=lambda: start_constrain(model, rows, device))


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
