"""Parallel against vectorised chains: ``ts.mcmc(chain_method=...)`` back to back.

In one process, on the backend ``TFSTATS_BACKEND`` selects, one workload of
``bench_mcmc.py`` (same data, model and settings; the default precision, or
``--precision``): a first call of each chain method
(compilation included: the vectorised one runs first, so the parallel one finds the
starting-point functions compiled), then ``--reps`` pairs of warm calls, interleaved
(vectorized, parallel, vectorized, ...). Each line gives the wall and CPU seconds of the
process (all threads), the minimum bulk ESS, the leapfrog steps per draw and the load.
The CPU seconds say what a call costs whatever the load; the wall seconds what it takes
on this machine at this load.

Besides ``bench_mcmc.py``'s workloads: ``poisson`` (a Poisson GLM, ``y ~ poisson(exp(alpha +
X @ beta))``, D = 20) and ``formula`` (``bench_formulas.py``'s ``y ~ x + (1 + x | g)``
logistic GLM, 20,000 rows, 200 groups). ``--n`` sets the rows of ``logistic`` and
``poisson`` (default 100,000). The header names the method ``chain_method=None`` picks
for the model (``tfstats/inference/chain_choice.py``).

Usage::

    TFSTATS_COMPILATION_CACHE=0 python benchmarks/bench_chains.py radon --reps 2
    TFSTATS_BACKEND=jax python benchmarks/bench_chains.py logistic --iterations 250
    python benchmarks/bench_chains.py logistic --n 1000000 --iterations 150 --reps 1
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

import mcmc_systems  # noqa: E402

__all__ = ["main"]

METHODS = ("vectorized", "parallel")
WORKLOADS = (*mcmc_systems.WORKLOADS, "poisson", "formula")


def _model(ts: Any, workload: str, n: int, precision: str | None = None) -> Any:
    """The model of ``workload`` at ``precision`` (None: the default)."""
    if workload == "poisson":
        rng = np.random.default_rng(20261130)
        x = rng.normal(size=(n, 20))
        beta_true = rng.normal(0.0, 0.1, size=20)
        y = rng.poisson(np.exp(0.5 + x @ beta_true)).astype(np.float64)
        alpha = ts.normal(0, 5)
        beta = ts.normal(0, 1, dim=20)
        ts.poisson(np.exp(alpha + x @ beta), observed=y)
        return ts.model(alpha=alpha, beta=beta, precision=precision)
    if workload == "formula":
        import bench_formulas
        import pandas as pd

        frame = pd.DataFrame(bench_formulas.simulate(20_000, 200))
        priors = {"Intercept": ("normal", 0, 2.5), "x": ("normal", 0, 2.5),
                  "1|g_sigma": ("half_normal", 1), "x|g_sigma": ("half_normal", 1)}
        return ts.glm("y ~ x + (1 + x | g)", frame, family="bernoulli", priors=priors,
                      correlated=False, precision=precision)
    mcmc_systems_settings = mcmc_systems.settings

    def settings(w: str, quick: bool) -> dict[str, int]:
        return dict(mcmc_systems_settings(w, quick), n=n)

    mcmc_systems.settings = settings  # the logistic regression's rows
    data = mcmc_systems.workload_data(workload, False)
    return mcmc_systems.tfstats_model(ts, workload, data, precision)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("workload", choices=WORKLOADS)
    parser.add_argument("--n", type=int, default=100_000, help="rows (logistic, poisson)")
    parser.add_argument("--precision", choices=("mixed", "double", "single"),
                        help="the model's precision (default: the default, mixed on a CPU)")
    parser.add_argument("--reps", type=int, default=2, help="pairs of warm calls")
    parser.add_argument("--iterations", type=int,
                        help="warmup and draws per chain (default: bench_mcmc.py's)")
    parser.add_argument("--no-first", action="store_true", help="skip the first calls")
    args = parser.parse_args(argv)
    warnings.simplefilter("ignore")
    import tfstats as ts
    from tfstats.inference.chain_choice import dense_data_bytes
    from tfstats.inference.parallel_chains import chain_method_for

    cfg = mcmc_systems.settings(args.workload if args.workload in mcmc_systems.WORKLOADS
                                else "radon", False)
    if args.iterations:
        cfg.update(warmup=args.iterations, draws=args.iterations)
    model = _model(ts, args.workload, args.n, args.precision)
    default = chain_method_for(None, cfg["chains"], True, False, model=model)
    rows = f" N = {args.n:,}," if args.workload in ("logistic", "poisson") else ""
    print(f"# {args.workload},{rows} {ts.backend_name()}, {cfg['chains']} x ({cfg['warmup']}"
          f" + {cfg['draws']}), precision {model.precision}; dense data "
          f"{dense_data_bytes(model) / 1e6:.2f} MB per gradient; default: {default}",
          flush=True)

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
