"""Lockstep NUTS evaluating only the active chains (``tfstats/inference/active_chains.py``):
A/B against the full batch, and the two figures that explain it.

``ab``: one process per run, interleaved (on, off, on, off, ...), each timing a first call
(model built, compiled: ``TFSTATS_COMPILATION_CACHE=0``) and a warm call (a rebuilt model,
another seed) of a ``bench_mcmc.py`` workload with the default settings, wall and CPU time
with the load average beside them. ``TFSTATS_ACTIVE_CHAINS=0`` is the full batch.
``cost``: CPU and wall time of one batched value and gradient of the workload's density at
1, 2 and 4 chains, inside a compiled loop of 200. ``fraction`` (JAX): how many of a run's
batched leapfrog evaluations had 1, 2, 3 or 4 chains active (a host callback counts them:
instrumentation of this script only).

Usage::

    python benchmarks/bench_active_chains.py ab --backend jax --rounds 2
    python benchmarks/bench_active_chains.py ab --backend tensorflow --workload radon
    python benchmarks/bench_active_chains.py cost --backend tensorflow
    python benchmarks/bench_active_chains.py fraction --seed 1
"""

from __future__ import annotations

import argparse
import collections
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["main"]

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))


def _model(workload: str) -> tuple[Any, Any, dict]:
    from mcmc_systems import settings, tfstats_model, workload_data

    import tfstats as ts

    return ts, tfstats_model(ts, workload, workload_data(workload, False), None), \
        settings(workload, False)


def one_run(workload: str) -> None:
    """A first and a warm call in this process; prints one line."""
    from mcmc_systems import min_bulk_ess

    out = []
    for call, seed in (("first", 1), ("warm", 2)):
        wall, cpu = time.perf_counter(), time.process_time()
        ts, model, cfg = _model(workload)
        draws = ts.mcmc(model, n_samples=cfg["draws"], warmup=cfg["warmup"],
                        chains=cfg["chains"], seed=seed, progress=False)
        ess = min_bulk_ess({k: np.asarray(draws[k]) for k in draws.targets})
        out.append(f"{call} {time.perf_counter() - wall:.2f} s (CPU "
                   f"{time.process_time() - cpu:.2f} s), ESS {ess:.0f}")
    print("; ".join(out))


def ab(workload: str, backend: str, rounds: int) -> None:
    env = dict(os.environ, TFSTATS_BACKEND=backend, TFSTATS_COMPILATION_CACHE="0",
               PYTHONPATH=str(HERE.parent))
    for _ in range(rounds):
        for setting in ("1", "0"):
            load = os.getloadavg()[0]
            done = subprocess.run([sys.executable, __file__, "one", "--workload", workload],
                                  env=dict(env, TFSTATS_ACTIVE_CHAINS=setting),
                                  capture_output=True, text=True, check=True)
            print(f"{backend} {workload} active={setting} (load {load:.1f}): "
                  f"{done.stdout.strip().splitlines()[-1]}", flush=True)


def cost(workload: str) -> None:
    from tfstats.inference.batched_density import batched_value_and_gradient

    _, model, _ = _model(workload)
    B, loops = model.backend, 200
    value_and_grad = batched_value_and_gradient(model)

    def loop(z: Any, *data: Any) -> Any:
        def body(i: Any, z_: Any, total: Any) -> tuple:
            values, grads = value_and_grad(z_, *data)
            return i + 1, z_ + 1e-6 * grads, total + B.np.sum(values)

        return B.while_loop(lambda i, *_: i < loops, body,
                            (B.convert(0), z, B.np.sum(z) * 0.0))[1:]

    compiled = B.compile_function(loop)
    data = model.data_tensors()
    rng = np.random.default_rng(0)
    best: dict[int, list[float]] = {k: [np.inf, np.inf] for k in (1, 2, 4)}
    for repeat in range(6):
        for chains in best:
            z = B.convert(rng.normal(0, 0.1, size=(chains, model.n_free)), model.float_dtype)
            wall, cpu = time.perf_counter(), time.process_time()
            B.to_numpy(compiled(z, *data))
            if repeat:  # the first is the compilation
                best[chains][0] = min(best[chains][0], (time.perf_counter() - wall) / loops)
                best[chains][1] = min(best[chains][1], (time.process_time() - cpu) / loops)
    for chains, (wall, cpu) in best.items():
        print(f"{B.name} {workload} {chains} chains: {wall * 1e6:.0f} us wall, "
              f"{cpu * 1e6:.0f} us CPU per evaluation (best of 5)")


def fraction(workload: str, seed: int) -> None:
    import jax

    from tfstats.inference import nuts

    counts: collections.Counter = collections.Counter()
    evaluate = nuts.evaluate_active

    def counted(B: Any, value_and_grad: Any, z: Any, active: Any) -> tuple:
        n = B.np.sum(B.cast(active, B.int_dtype()))
        jax.debug.callback(lambda k: counts.update([int(k)]), n)
        return evaluate(B, value_and_grad, z, active)

    nuts.evaluate_active = counted
    ts, model, cfg = _model(workload)
    draws = ts.mcmc(model, n_samples=cfg["draws"], warmup=cfg["warmup"],
                    chains=cfg["chains"], seed=seed, progress=False,
                    chain_method="vectorized")
    total, half = sum(counts.values()), cfg["chains"] // 2
    few = sum(v for k, v in counts.items() if k <= half)
    print(f"{workload} seed {seed}: {total} batched evaluations, by active chains "
          f"{dict(sorted(counts.items()))}; at most {half} active: {few / total:.3f}; "
          f"leapfrogs per draw {float(np.mean(draws.stats['n_steps'])):.2f}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("mode", choices=["ab", "one", "cost", "fraction"])
    parser.add_argument("--workload", default="logistic",
                        choices=["eight_schools", "logistic", "radon", "correlated"])
    parser.add_argument("--backend", default="jax", choices=["jax", "tensorflow"])
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    if args.rounds < 1:
        parser.error(f"--rounds must be at least 1, got {args.rounds}")
    if args.mode in ("cost", "fraction"):
        os.environ["TFSTATS_BACKEND"] = "jax" if args.mode == "fraction" else args.backend
    if args.mode == "ab":
        ab(args.workload, args.backend, args.rounds)
    elif args.mode == "one":
        one_run(args.workload)
    elif args.mode == "cost":
        cost(args.workload)
    else:
        fraction(args.workload, args.seed)


if __name__ == "__main__":
    main()
