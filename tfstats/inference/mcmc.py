"""mcmc(): vectorised chains in one compiled loop (or each chain in its own loop,
``parallel_chains.py``), run in chunks for the progress bar.

Warmup and sampling share one compiled function (one compilation per model, sampler and
chain count): each chunk runs up to ``CHUNK`` iterations of the sampler's kernel, the
dual-averaging step size and the windowed diagonal (or dense) mass matrix. The driver
knows samplers only through the ``Sampler`` interface (``samplers/base.py``). On one
device the chunk is compiled in a background thread while the starting points are found
(``compile_ahead.py``).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from tfstats.draws import Draws
from tfstats.inference import adaptation
from tfstats.inference.active_chains import active_batch, with_active_batch
from tfstats.inference.batched_density import batched_density as batched_log_density
from tfstats.inference.batched_density import batched_value_and_gradient
from tfstats.inference.chain_state import ChainState, backend_seed
from tfstats.inference.compile_ahead import ahead_of_time, start_chunk, while_compiling
from tfstats.inference.devices import OneDevice, placement
from tfstats.inference.initial import initial_state
from tfstats.inference.metric import gradient, position, scaled
from tfstats.inference.parallel_chains import (
    chain_method_for,
    chunk_length,
    kept_iterations,
    run_parallel,
)
from tfstats.inference.pathfinder import INITS, pathfinder_starts
from tfstats.inference.progress import ChunkProgress
from tfstats.inference.samplers import Sampler, nuts
from tfstats.minibatch import check_no_minibatch
from tfstats.model import Model
from tfstats.tracking import tracked

__all__ = ["mcmc", "extra_samples", "CHUNK", "ChainState"]

CHUNK = 50
_STATS = ("accept", "divergent", "n_steps", "energy", "step_size", "log_density")
_SEARCH_STREAMS = 2**20  # the step-size search's draws from the chunk's seed (see find_step_size)


def _build_chunk(model: Model, spec: Sampler, chains: int, active: int = 0) -> Callable:
    """The compiled chunk; ``active``: the smaller batch NUTS evaluates when at most that
    many chains are active (``active_chains.py``; 0: always all)."""
    B = model.backend
    dtype = model.float_dtype

    batched_density = batched_log_density(model)
    value_and_grads = batched_value_and_gradient(model)

    def scaled_value_and_grad(scale: Any, data: tuple) -> Callable:
        """Density and gradient in ``z`` (the space of the mass matrix)."""

        def fn(z: Any, rows: Any = None) -> tuple[Any, Any]:
            # rows: the chains of z's rows, when NUTS evaluates only some (active_chains.py)
            s = scale if rows is None else B.gather(scale, rows, 0)
            values, grads = value_and_grads(position(B, s, z), *data)
            return values, gradient(B, s, grads)

        return with_active_batch(fn, active)

    def kernel_for(adapt: dict, use_final: Any, data: tuple,
                   jitter: Any = 1.0) -> tuple[Any, Any]:
        scale = adapt["scale"]
        log_step = B.np.where(use_final, adapt["log_step_bar"], adapt["log_step"])
        step = B.np.exp(log_step)[:, None] * jitter
        kernel = spec.kernel(B, lambda z: batched_density(position(B, scale, z), *data),
                             scaled_value_and_grad(scale, data), step)
        return kernel, step

    def find_step_size(x: Any, adapt: dict, seed: Any, results: Any, data: tuple) -> dict:
        """Stan's ``init_stepsize``: a step size for the current metric, from the density
        and gradient the kernel has already evaluated at ``x``. Its momenta are streams of
        the chunk's ``seed`` far above the counters a split of it uses (no split of its own)."""
        scale = adapt["scale"]
        log_step = adaptation.reasonable_step_size(
            B, scaled_value_and_grad(scale, data), scaled(B, scale, x), spec.log_density(results),
            spec.gradient(results), adapt["log_step"], seed, first_stream=_SEARCH_STREAMS)
        return dict(adapt, log_step=log_step, mu=log_step + math.log(10.0))

    def chunk(x: Any, adapt: dict, seed: Any, start: Any, n_iter: Any, restart: Any,
              schedule: dict, *data: Any) -> tuple:
        warmup = schedule["warmup"]

        def bootstrap(x_: Any, adapt_: dict, g: Any) -> Any:
            kernel, step = kernel_for(adapt_, g >= warmup, data)
            z_ = scaled(B, adapt_["scale"], x_)
            return spec.bootstrap(kernel, z_, step)

        results = bootstrap(x, adapt, start)  # the body sets the step size it uses
        start_finite = _finite_at(B, spec, results)
        if spec.restarts_step_size:
            adapt = B.cond(restart, lambda: find_step_size(x, adapt, seed, results, data),
                           lambda: adapt)

        # one buffer, one write per iteration: each row is the position then the statistics
        width = model.n_free + len(_STATS)
        buffer = B.np.zeros((CHUNK, chains, width), dtype=dtype)

        def body(i: Any, g: Any, x_: Any, results: Any, adapt_: dict, seed_: Any,
                 buf: Any) -> tuple:
            adapting = g < warmup
            seeds = B.split_seed(seed_, 3 if spec.step_jitter else 2)
            step_seed, next_seed = seeds[0], seeds[1]
            jitter = 1.0
            if spec.step_jitter:
                j = spec.step_jitter
                jitter = B.tfp.distributions.Uniform(
                    B.cast(1.0 - j, dtype), B.cast(1.0 + j, dtype)).sample(
                        (chains, 1), seed=seeds[2])
            kernel, step = kernel_for(adapt_, ~adapting, data, jitter)
            results = spec.with_step_size(results, step)
            z, results = kernel.one_step(scaled(B, adapt_["scale"], x_), results, seed=step_seed)
            x_new = position(B, adapt_["scale"], z)
            stats = spec.statistics(B, results, dtype)
            if spec.adapts_step_size:
                adapt_ = adaptation.dual_averaging(B, adapt_, stats["accept"],
                                                   spec.target_accept, adapting)
            in_window = (g >= schedule["init_buffer"]) & (g < schedule["term_start"])
            adapt_ = adaptation.welford(B, adapt_, x_new, in_window)
            ends_now = B.np.any(B.np.equal(schedule["ends"], g + 1))
            old_scale = adapt_["scale"]
            adapt_ = adaptation.end_window(B, adapt_, ends_now)
            results = spec.rescale(B, results, old_scale, adapt_["scale"])
            record = dict(stats, step_size=step[:, 0], log_density=spec.log_density(results))
            row = B.np.concatenate([x_new, B.np.stack([B.cast(record[k], dtype)
                                                       for k in _STATS], axis=-1)], axis=-1)
            return i + 1, g + 1, x_new, results, adapt_, next_seed, B.write(buf, i, row)

        # the iteration count is a loop variable: captured, XLA would recompile per value
        state = (B.convert(0), start, x, results, adapt, seed, buffer)
        _, _, x, _, adapt, seed, buffer = B.while_loop(lambda i, *_: i < n_iter,
                                                       lambda *s: body(*s), state)
        n = model.n_free
        buffers = {"x": buffer[..., :n]}
        buffers.update({k: buffer[..., n + j] for j, k in enumerate(_STATS)})
        # laid out as the statistics (rows, chains) for every placement of the chunk
        buffers["start_finite"] = B.np.broadcast_to(start_finite[None], (CHUNK, chains))
        return x, adapt, seed, buffers

    return B.compile_function(chunk)


def _finite_at(B: Any, spec: Sampler, results: Any) -> Any:
    """Per chain: whether the log density in ``results`` is finite, and its gradient too
    for samplers that keep one."""
    ok = B.np.isfinite(spec.log_density(results))
    try:
        grad = spec.gradient(results)
    except NotImplementedError:
        return ok
    return ok & B.np.all(B.np.isfinite(grad), axis=-1)


def _chunk_finite(model: Model, runner: tuple[Callable, bool], adaptation0: dict,
                  schedule: dict[str, np.ndarray]) -> Callable[[np.ndarray], np.ndarray]:
    """``flats -> finite`` per row for ``initial_state``, from zero-iteration calls of the
    sampling chunk ``runner`` (the chunk and whether it runs one chain): the chunk's start
    evaluates the density and gradient anyway, so the check traces and compiles nothing
    of its own (about 0.3-0.4 s of a process's first call)."""
    B = model.backend
    dtype = model.float_dtype
    chunk, one_chain = runner
    data = model.data_tensors()
    windows = {k: B.convert(v) for k, v in schedule.items()}

    def run(rows: np.ndarray) -> np.ndarray:
        adapt = {k: B.convert(np.asarray(v)[:len(rows)], dtype) for k, v in adaptation0.items()}
        out = chunk(B.convert(rows, dtype), adapt, B.make_seed(0), B.convert(0), B.convert(0),
                    B.convert(False), windows, *data)
        return np.asarray(B.to_numpy(out[3]["start_finite"]))[0]

    def finite(flats: np.ndarray) -> np.ndarray:
        if one_chain:
            return np.concatenate([run(flats[c:c + 1]) for c in range(len(flats))])
        return run(flats)

    return finite


def _restarts(spec: Sampler, schedule: dict[str, np.ndarray]) -> set[int]:
    """Iterations before which a sampler that ``restarts_step_size`` searches the step size
    afresh (Stan's ``init_stepsize``): the start of warmup and each mass-matrix update. A
    chunk starts at each."""
    warmup = int(schedule["warmup"])
    if not spec.restarts_step_size or warmup == 0:
        return set()
    return {0} | {int(e) for e in schedule["ends"] if 0 < e < warmup}


def _runner(model: Model, spec: Sampler, chains: int, place: Any, chain_method: str | None,
            device: str | None) -> tuple[Callable, bool]:
    """The compiled chunk a fit calls (for one chain when the chains run in parallel) and
    whether they do. On one device it is compiled ahead of time (``compile_ahead.py``)."""
    on_gpu = device == "gpu" or (device is None and model.backend.has_gpu())
    if chain_method_for(chain_method, chains, place.size == 1, on_gpu, spec,
                        model) == "parallel":
        key = ("mcmc", spec, 1, CHUNK)
        return model.compiled(key, lambda: ahead_of_time(
            model, _build_chunk(model, spec, 1), key)), True
    if place.size == 1:
        active = active_batch(model, chains, on_gpu)
        key = ("mcmc", spec, chains, CHUNK, active)
        return model.compiled(key, lambda: ahead_of_time(
            model, _build_chunk(model, spec, chains, active), key)), False
    return model.compiled(("mcmc", spec, chains, CHUNK, *place.key), lambda: place.chunk(
        lambda n: _build_chunk(model, spec, n), chains)), False


def _run(model: Model, spec: Sampler, state: ChainState, n_iterations: int, thin: int,
         progress: bool, desc: str, place: Any = None, chain_method: str | None = None,
         device: str | None = None, runner: tuple[Callable, bool] | None = None,
         ) -> tuple[ChainState, dict[str, np.ndarray], bool]:
    """Run ``n_iterations`` more iterations in chunks; keep every ``thin``-th one after
    warmup. Returns the new state, the kept draws and whether it was interrupted.
    ``runner``: the compiled chunk and whether the chains run in parallel, when the caller
    has chosen them already (``_runner``)."""
    B = model.backend
    chains = state.x.shape[0]
    place = place or OneDevice()  # devices.py: chains or data split over devices
    runner, parallel = runner or _runner(model, spec, chains, place, chain_method, device)
    if parallel:
        return run_parallel(model, runner, state, n_iterations, thin, progress, desc,
                            chunk=CHUNK, restarts=_restarts(spec, state.schedule),
                            stats=_STATS, scope=lambda: B.device_scope(device))
    data = place.put(model.data_tensors())
    kept: dict[str, list[np.ndarray]] = {k: [] for k in ("x", *_STATS)}
    schedule = {k: B.convert(v) for k, v in state.schedule.items()}
    warmup = int(state.schedule["warmup"])
    divergences = 0
    x = B.convert(state.x, model.float_dtype)
    adapt = {k: B.convert(v, model.float_dtype) for k, v in state.adaptation.items()}
    seed = backend_seed(B, state.seed)
    if len(B.shape_of(seed)) == 2:  # one seed per chain, from parallel chains
        seed = seed[0]
    restarts = _restarts(spec, state.schedule)
    with ChunkProgress(progress, n_iterations, desc, "iterations",
                       "the draws made so far") as run:
        while run.done < n_iterations:
            start = state.iteration + run.done
            n = chunk_length(start, n_iterations - run.done, CHUNK, restarts)
            x, adapt, seed, buffers = runner(x, adapt, seed, B.convert(start), B.convert(n),
                                             B.convert(start in restarts), schedule, *data)
            buffers = B.to_numpy(buffers)
            keep = kept_iterations(start, n, warmup, thin)
            for k in kept:
                kept[k].append(buffers[k][:n][keep])
            divergences += int(buffers["divergent"][:n][start + np.arange(n) >= warmup].sum())
            run.update(n, divergences=divergences)
    new_state = ChainState(np.asarray(B.to_numpy(x)), {k: np.asarray(v) for k, v in
                                                      B.to_numpy(adapt).items()},
                           seed, state.iteration + run.done, state.schedule)
    draws = {k: np.concatenate(v) if v else np.zeros((0, chains)) for k, v in kept.items()}
    if not kept["x"]:
        draws["x"] = np.zeros((0, chains, model.n_free))
    return new_state, draws, run.interrupted


@tracked("mcmc")
def mcmc(model: Model, n_samples: int = 1000, warmup: int = 1000, chains: int = 4,
         sampler: Sampler | None = None, thin: int = 1, seed: int | None = None,
         initial_values: Any = None, progress: bool = True, device: str | None = None,
         devices: Any = None, shard: str | None = None, init: str = "random",
         chain_method: str | None = None) -> Draws:
    """Draw from the posterior by MCMC: each chain in its own compiled loop, the chains
    running at once on a CPU's cores, or all chains vectorised in one compiled loop.

    Warmup tunes the step size by dual averaging toward the sampler's ``target_accept``
    and a diagonal mass matrix (dense with ``nuts(metric="dense")``) in Stan's widening
    windows.

    Parameters
    ----------
    model : Model
        The model.
    n_samples : int
        Draws kept per chain (before thinning).
    warmup : int
        Warmup (adaptation) iterations per chain, discarded.
    chains : int
        Chains, run together.
    sampler : Sampler, optional
        ``nuts()`` (default), ``hmc()``, ``rwmh()``, ``slice()``, or an instance of your
        own :class:`Sampler` subclass.
    thin : int
        Keep every ``thin``-th draw.
    seed : int, optional
        Seed for reproducible draws.
    initial_values : dict or list of dict, optional
        Constrained starting values by unknown name: one dict for all chains or one per
        chain. By default, random unconstrained values in (-2, 2), retried where the
        density is not finite.
    progress : bool
        Show a progress bar with the divergences so far.
    device : {"cpu", "gpu"}, optional
        Where to run; by default the backend's choice (a GPU when one is visible).
    devices : int or list of JAX devices, optional
        JAX backend: how many of the visible devices to use (1: one device). By default
        all of them when JAX sees several (GPUs, or forced CPU devices): see
        ``docs/backends.md``, "Several devices". On TensorFlow only None or 1.
    shard : {"chains", "data"}, optional
        With several devices: spread the chains over them, each device running its own
        chains (default; the chains are split evenly), or split the rows of the data
        over them with all chains on every device and the likelihood summed across them.
    init : {"random", "pathfinder"}
        Where the chains start when ``initial_values`` is not given: random values as
        above, or independent draws from a Pathfinder approximation (``vi(method=
        "pathfinder")``: one L-BFGS run), near the bulk of the posterior.
    chain_method : {"parallel", "vectorized"}, optional
        ``"parallel"``: each chain runs its own compiled loop in its own thread, with its
        own step size and mass matrix, so no chain waits for another's longest NUTS tree
        and the chains use the CPU's cores at once (NumPyro's name). ``"vectorized"``: all
        chains in lockstep in one compiled loop, each iteration as long as the chains'
        longest. By default parallel on a CPU with several cores and one device,
        vectorized on a GPU, with one chain, with the chains spread over several
        devices (``devices=``), or for a model whose matrix products read at least 4 MB
        of float32 data per gradient (one pass over the data then serves every chain:
        ``chain_choice.prefers_vectorized``); see ``docs/inference.md``. The draws of a
        seed differ between the two (the posterior is the same).

    Returns
    -------
    Draws
        The draws of every unknown and target. Ctrl-C returns the draws made so far.

    Examples
    --------
    >>> import numpy as np, tfstats as ts
    >>> mu = ts.normal(0, 10)
    >>> y = ts.normal(mu, 1, observed=np.array([0.5, 1.5, 1.0]))
    >>> draws = ts.mcmc(ts.model(mu), n_samples=200, warmup=200, chains=2, seed=1,
    ...                 progress=False)
    >>> draws["mu"].shape
    (2, 200)
    """
    check_no_minibatch(model, "mcmc")
    spec = sampler or nuts()
    if not isinstance(spec, Sampler):
        raise TypeError(f"sampler must be made by ts.nuts(), ts.hmc(), ts.rwmh() or "
                        f"ts.slice() (or be a ts.Sampler subclass), got {spec!r}")
    for name, value, low in (("n_samples", n_samples, 0), ("warmup", warmup, 0),
                             ("chains", chains, 1), ("thin", thin, 1)):
        if not isinstance(value, int | np.integer) or value < low:
            raise ValueError(f"{name} must be an int >= {low}, got {value!r}")
    chain_method_for(chain_method, chains, True, False, spec)  # a bad value fails here
    if init not in INITS:
        raise ValueError(f"init must be one of {INITS}, got {init!r}")
    if init == "pathfinder" and initial_values is not None:
        raise ValueError("init='pathfinder' chooses the starting points: give it without "
                         "initial_values")
    B = model.backend
    rng_seed = np.random.default_rng(seed).integers(2**31 - 1) if seed is not None else None
    with B.device_scope(device):
        place = placement(model, devices, shard, chains=chains, platform=device)
        adapt0 = adaptation.initial_adaptation(chains, model.n_free, spec.initial_step_size,
                                               spec.metric)
        schedule = adaptation.window_schedule(warmup)
        chosen = _runner(model, spec, chains, place, chain_method, device)
        start_chunk(model, chosen[0], 1 if chosen[1] else chains, adapt0, schedule,
                    chains * len(range(0, n_samples, thin)), device)
        while_compiling(chosen[0])
        # on one device the chunk's start checks the starting points (it waits for the
        # compilation); on several, a program of their own does
        finite = _chunk_finite(model, chosen, adapt0, schedule) if place.size == 1 else None
        x0 = (pathfinder_starts(model, chains, seed) if init == "pathfinder"
              else initial_state(model, chains, initial_values, seed, finite=finite))
        state = ChainState(x0, adapt0, B.make_seed(rng_seed), 0, schedule)
        state, draws, interrupted = _run(model, spec, state, warmup + n_samples, thin,
                                         progress, "warmup + sampling", place, chain_method,
                                         device, runner=chosen)
    result = Draws.from_chains(model, draws, state, spec, thin, interrupted)
    if not interrupted:
        result.warn_if_unhealthy()
    return result


@tracked("mcmc")
def extra_samples(draws: Draws, n_samples: int, thin: int | None = None,
                  progress: bool = True, devices: Any = None,
                  shard: str | None = None, chain_method: str | None = None) -> Draws:
    """Continue the chains of ``draws`` for ``n_samples`` more iterations (thinned as the
    draws were), with the tuned step size and mass matrix, and return all draws together.
    ``devices``, ``shard`` and ``chain_method`` are as in :func:`mcmc`.

    Examples
    --------
    >>> import numpy as np, tfstats as ts
    >>> mu = ts.normal(0, 10)
    >>> y = ts.normal(mu, 1, observed=np.array([0.5, 1.5, 1.0]))
    >>> draws = ts.mcmc(ts.model(mu), n_samples=100, warmup=100, chains=2, seed=1,
    ...                 progress=False)
    >>> more = ts.extra_samples(draws, 50, progress=False)
    >>> more["mu"].shape
    (2, 150)
    """
    if draws.chain_state is None:
        raise ValueError("these draws carry no sampler state to continue from")
    if thin is not None and thin != draws.thin:
        raise ValueError(f"extra_samples keeps the thinning of the draws ({draws.thin}); "
                         f"got thin={thin}")
    place = placement(draws.model, devices, shard, chains=draws.chain_state.x.shape[0])
    state, new, interrupted = _run(draws.model, draws.sampler, draws.chain_state, n_samples,
                                   draws.thin, progress, "sampling", place, chain_method)
    return draws.extended(new, state, interrupted)
