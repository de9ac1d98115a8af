"""Parallel against vectorised chains: ``ts.mcmc(chain_method=...)`` back to back.

In one process, on the backend ``TFSTATS_BACKEND`` selects, one workload of
``bench_mcmc.py`` (same data, model and settings): a first call of each chain method
(compilation included: the vectorised one runs first, so the parallel one finds the
starting-point functions compiled), then ``--reps`` pairs of warm calls, interleaved
(vectorized, parallel, vectorized, ...). Each line gives the wall and CPU seconds of the
process (all threads), the minimum bulk ESS, the leapfrog steps per draw and the load.
The CPU seconds say what a call costs whatever the load; the wall seconds what it takes
on this machine at this load.

Usage::

    TFSTATS_COMPILATION_CACHE=0 python benchmarks/bench_chains.py radon --reps 2
    TFSTATS_BACKEND=jax python benchmarks/bench_chains.py logistic --iterations 250
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import mcmc_systems  # noqa: E402

__all__ = ["main"]

METHODS = ("vectorized", "parallel")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("workload", choices=mcmc_systems.WORKLOADS)
    parser.add_argument("--reps", type=int, default=2, help="pairs of warm calls")
    parser.add_argument("--iterations", type=int,
                        help="warmup and draws per chain (default: bench_mcmc.py's)")
    parser.add_argument("--no-first", action="store_true", help="skip the first calls")
    args = parser.parse_args(argv)
    warnings.simplefilter("ignore")
    import tfstats as ts

    cfg = mcmc_systems.settings(args.workload, False)
    if args.iterations:
        cfg.update(warmup=args.iterations, draws=args.iterations)
    data = mcmc_systems.workload_data(args.workload, False)
    model = mcmc_systems.tfstats_model(ts, args.workload, data, "double")
    print(f"# {args.workload}, {ts.backend_name()}, {cfg['chains']} x ({cfg['warmup']} + "
          f"{cfg['draws']}), float64", flush=True)

    def call(method: str, seed: int, label: str) -> None:
        wall, cpu = time.perf_counter(), time.process_time()
        draws = ts.mcmc(model, n_samples=cfg["draws"], warmup=cfg["warmup"],
                        chains=cfg["chains"], seed=seed, progress=False, chain_method=method)
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        ess = mcmc_systems.min_bulk_ess({k: draws[k] for k in draws.targets})
        print(f"{label:5s} {method:10s} wall {wall:7.2f} s  cpu {cpu:7.2f} s  min ESS "
              f"{ess:6.0f}  ESS/s {ess / wall:8.1f}  leapfrogs/draw "
              f"{draws.stats['n_steps'].mean():5.1f}  load {os.getloadavg()[0]:.1f}",
              flush=True)

    if not args.no_first:
        for method in METHODS:
            call(method, 1, "first")
    for rep in range(args.reps):
        for method in METHODS:
            call(method, 10 + rep, "warm")
    return 0


if __name__ == "__main__":
    sys.exit(main())
