"""Independent chains: ``mcmc(chain_method="parallel")``.

Each chain runs its own compiled loop (the chunk compiled once for one chain, shared by
all) in its own thread, with its own step size and mass matrix, as Stan and NumPyro's
``chain_method="parallel"`` do: a chain never waits for another chain's longest NUTS
tree, and on a CPU with several cores the chains' loops run at the same time (both
backends release the GIL while a compiled function runs). ``vectorized`` runs all chains
in lockstep in one program (``mcmc.py``).
"""

from __future__ import annotations

import os
import queue
import threading
from collections.abc import Callable
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from typing import Any

import numpy as np

from tfstats.inference.chain_choice import prefers_vectorized
from tfstats.inference.chain_state import ChainState, backend_seed
from tfstats.inference.progress import ChunkProgress
from tfstats.model import Model

__all__ = ["CHAIN_METHODS", "chain_method_for", "chunk_length", "kept_iterations",
           "run_parallel"]

CHAIN_METHODS = ("vectorized", "parallel")


def chain_method_for(chain_method: str | None, chains: int, on_one_device: bool,
                     on_gpu: bool, sampler: Any = None, model: Model | None = None) -> str:
    """The chain method a fit uses: ``chain_method`` when given (checked), else
    ``"parallel"`` on a CPU with several cores and one device, ``"vectorized"`` otherwise
    (a GPU, one chain, one core, chains spread over several devices, a ``sampler``
    whose kernel cannot run one chain alone: ``Sampler.runs_one_chain``, or a ``model``
    whose matrix products read enough data per gradient that one pass for all chains
    wins: ``chain_choice.prefers_vectorized``).

    Examples
    --------
    >>> chain_method_for(None, 4, on_one_device=True, on_gpu=True)
    'vectorized'
    >>> chain_method_for("parallel", 4, on_one_device=True, on_gpu=True)
    'parallel'
    """
    if chain_method is not None and chain_method not in CHAIN_METHODS:
        raise ValueError(f"chain_method must be one of {CHAIN_METHODS} or None, "
                         f"got {chain_method!r}")
    if chain_method == "parallel" and not on_one_device:
        raise ValueError("chain_method='parallel' runs the chains on one device; with the "
                         "chains spread over several devices (devices= / shard=) each "
                         "device runs its own chains already: pass devices=1 for parallel "
                         "chains on one device, or leave chain_method unset")
    alone = sampler is None or sampler.runs_one_chain(_backend())
    if chain_method == "parallel" and not alone:
        raise ValueError(f"chain_method='parallel': the {sampler.method} sampler cannot run "
                         f"one chain alone on the {_backend().name} backend; use "
                         f"chain_method='vectorized'")
    if chain_method is not None:
        return chain_method
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    parallel = on_one_device and not on_gpu and alone and chains > 1 and (cores or 1) > 1
    if parallel and model is not None and prefers_vectorized(model):
        parallel = False
    return "parallel" if parallel else "vectorized"


def _backend() -> Any:
    from tfstats.backends import get_backend

    return get_backend()


def chunk_length(start: int, left: int, chunk: int, restarts: set[int]) -> int:
    """Iterations in the chunk that starts at iteration ``start``: up to the next multiple
    of ``chunk``, the end of the run (``left`` iterations away) or the next step-size
    restart, whichever comes first.

    Examples
    --------
    >>> chunk_length(40, 100, 50, {0, 45})
    5
    """
    upcoming = [r - start for r in restarts if r > start]
    return min(chunk - start % chunk, left, *upcoming)


def kept_iterations(start: int, n: int, warmup: int, thin: int) -> np.ndarray:
    """Which of the iterations ``start .. start + n - 1`` are kept as draws (a mask).

    Examples
    --------
    >>> kept_iterations(8, 4, warmup=10, thin=1).tolist()
    [False, False, True, True]
    """
    iterations = np.arange(start, start + n)
    return (iterations >= warmup) & ((iterations - warmup) % thin == 0)


class _Chain:
    """One chain's loop: its state, its kept draws and a snapshot of its state at each
    chunk's end (to cut every chain back to the slowest one after Ctrl-C)."""

    def __init__(self, x: Any, adapt: dict, seed: Any) -> None:
        self.x, self.adapt, self.seed = x, adapt, seed
        self.done = 0
        self.kept: list[tuple[int, dict[str, np.ndarray]]] = []  # (iterations done, draws)
        self.snapshots = {0: (x, adapt, seed)}


def _per_chain_seeds(B: Any, seed: Any, chains: int) -> list[Any]:
    """One seed per chain: the rows of a (chains, 2) seed (parallel chains continued),
    or ``chains`` seeds split from one."""
    seed = backend_seed(B, seed)
    seeds = seed if len(B.shape_of(seed)) == 2 else B.split_seed(seed, chains)
    rows = np.asarray(B.to_numpy(seeds))  # rows taken in numpy: JAX compiles eager slices
    return [B.convert(rows[c]) for c in range(chains)]


def run_parallel(model: Model, runner: Callable, state: ChainState, n_iterations: int,
                 thin: int, progress: bool, desc: str, *, chunk: int, restarts: set[int],
                 stats: tuple[str, ...], scope: Callable[[], Any]
                 ) -> tuple[ChainState, dict[str, np.ndarray], bool]:
    """Run ``n_iterations`` more iterations of every chain, each chain in its own thread
    calling ``runner`` (the chunk compiled for one chain); ``scope()`` is the device
    context each thread enters. Returns as ``mcmc._run``: the new state (its seed one
    per chain), the kept draws and whether Ctrl-C stopped the run (every chain is then
    cut back to the iterations the slowest one finished)."""
    B = model.backend
    dtype = model.float_dtype
    n_chains = state.x.shape[0]
    schedule = {k: B.convert(v) for k, v in state.schedule.items()}
    warmup = int(state.schedule["warmup"])
    data = model.data_tensors()
    seeds = _per_chain_seeds(B, state.seed, n_chains)
    chains = [_Chain(B.convert(state.x[c:c + 1], dtype),
                     {k: B.convert(v[c:c + 1], dtype) for k, v in state.adaptation.items()},
                     seeds[c]) for c in range(n_chains)]
    stop = threading.Event()
    events: queue.Queue[tuple[int, int]] = queue.Queue()  # (iterations, divergences)

    def call(chain: _Chain, start: int, n: int, restart: bool) -> tuple:
        return runner(chain.x, chain.adapt, chain.seed, B.convert(start), B.convert(n),
                      B.convert(restart), schedule, *data)

    def run_chain(chain: _Chain) -> None:
        with scope():
            while chain.done < n_iterations and not stop.is_set():
                start = state.iteration + chain.done
                n = chunk_length(start, n_iterations - chain.done, chunk, restarts)
                try:
                    chain.x, chain.adapt, chain.seed, buffers = call(chain, start, n,
                                                                     start in restarts)
                    buffers = B.to_numpy(buffers)
                except KeyboardInterrupt:  # raised in this thread: stop every chain
                    stop.set()
                    raise
                keep = kept_iterations(start, n, warmup, thin)
                chain.done += n
                chain.kept.append((chain.done, {k: v[:n][keep] for k, v in buffers.items()}))
                chain.snapshots[chain.done] = (chain.x, chain.adapt, chain.seed)
                slowest = min(other.done for other in chains)  # older ones are not needed
                for upto in [k for k in chain.snapshots if k < slowest]:
                    del chain.snapshots[upto]
                after_warmup = np.arange(start, start + n) >= warmup
                events.put((n, int(buffers["divergent"][:n][after_warmup].sum())))

    divergences = 0
    bar_desc = f"{desc} ({n_chains} chains in parallel)"
    with ChunkProgress(progress, n_iterations * n_chains, bar_desc, "iterations of all chains",
                       "the draws made so far") as run:
        try:
            with scope():  # compile on this thread first (zero iterations): one program
                call(chains[0], state.iteration, 0, False)
            with ThreadPoolExecutor(n_chains, thread_name_prefix="tfstats-chain") as pool:
                futures = [pool.submit(run_chain, chain) for chain in chains]
                try:
                    pending = set(futures)
                    while pending:
                        finished, pending = wait(pending, timeout=0.1,
                                                 return_when=FIRST_EXCEPTION)
                        while not events.empty():
                            n, new = events.get()
                            divergences += new
                            run.update(n, divergences=divergences)
                        for future in finished:
                            future.result()  # a chain's error (or KeyboardInterrupt) here
                finally:
                    stop.set()  # the other chains end their current chunk
                    wait(futures)
        finally:
            done = min(chain.done for chain in chains)
            run.done, run.total, run.unit = done, n_iterations, "iterations"
    return _gathered(model, state, chains, done), _draws(model, chains, done, stats), \
        run.interrupted


def _gathered(model: Model, state: ChainState, chains: list[_Chain], done: int
              ) -> ChainState:
    """The chains' state after ``done`` iterations each, stacked."""
    B = model.backend
    snaps = [B.to_numpy(chain.snapshots[done]) for chain in chains]
    x = np.concatenate([np.asarray(s[0]) for s in snaps])
    adapt = {k: np.concatenate([np.asarray(s[1][k]) for s in snaps]) for k in snaps[0][1]}
    seed = np.stack([np.asarray(s[2]) for s in snaps])
    return ChainState(x, adapt, seed, state.iteration + done, state.schedule)


def _draws(model: Model, chains: list[_Chain], done: int, stats: tuple[str, ...]
           ) -> dict[str, np.ndarray]:
    """The kept draws of the first ``done`` iterations, (draws, chains[, n_free])."""
    per_chain = []
    for chain in chains:
        parts = [kept for upto, kept in chain.kept if upto <= done]
        per_chain.append({k: np.concatenate([p[k] for p in parts]) if parts
                          else np.zeros((0, 1) + ((model.n_free,) if k == "x" else ()))
                          for k in ("x", *stats)})
    return {k: np.concatenate([c[k] for c in per_chain], axis=1) for k in ("x", *stats)}
