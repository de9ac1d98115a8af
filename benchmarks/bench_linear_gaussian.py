"""Per-gradient cost of a Gaussian workload with and without sufficient statistics.

The "correlated" workload of ``bench_mcmc.py`` (Gaussian regression, N = 5,000 rows, 25
correlated predictors and an intercept, half-normal sd), or with ``--workload radon`` its
radon model (919 rows, an intercept per county gathered by the county index: 85 one-hot
columns): one evaluation of the log density
and its gradient, batched over 4 chains as the samplers do, timed inside a compiled loop
of K evaluations (each starting where the last one's gradient moved it), with the
Gaussian term summed from sufficient statistics (``tfstats/linear_gaussian.py``) and per
row (``TFSTATS_SUFFICIENT_STATISTICS=0`` when the model is built). Both variants run in
the same process, interleaved (on, off, on, off, ...), best of the rounds; wall and CPU
time (all threads of the process). One process per backend.

Usage::

    python benchmarks/bench_linear_gaussian.py                 # both backends, float64
    python benchmarks/bench_linear_gaussian.py --backends jax --precision single
    python benchmarks/bench_linear_gaussian.py --quick         # N = 500: a smoke test
    python benchmarks/bench_linear_gaussian.py --workload radon
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

__all__ = ["main"]

CHAINS = 4
EVALUATIONS = 2000
ROUNDS = 3


def _loop(rewrite: bool, precision: str, quick: bool,
          workload: str) -> tuple[Any, tuple, Any, int]:
    """(compiled loop, its arguments, backend, number of rewritten terms)."""
    from bench_gradient import gradient_loop
    from mcmc_systems import tfstats_model, workload_data

    import tfstats as ts

    os.environ["TFSTATS_SUFFICIENT_STATISTICS"] = "1" if rewrite else "0"
    model = tfstats_model(ts, workload, workload_data(workload, quick), precision)
    return (*gradient_loop(model), len(model.linear_gaussian))


def _worker(precision: str, quick: bool, workload: str) -> None:
    import warnings

    warnings.filterwarnings("ignore")
    evaluations = 20 if quick else EVALUATIONS
    loops = {mode: _loop(mode, precision, quick, workload) for mode in (True, False)}
    best = {mode: [float("inf"), float("inf")] for mode in loops}
    for loop, (flats, *data), B, _ in loops.values():
        np.asarray(loop(flats, B.convert(1), *data))  # compile
    for _ in range(ROUNDS):
        for mode, (loop, (flats, *data), B, _) in loops.items():
            start, start_cpu = time.perf_counter(), time.process_time()
            np.asarray(loop(flats, B.convert(evaluations), *data))
            best[mode][0] = min(best[mode][0], (time.perf_counter() - start) / evaluations)
            best[mode][1] = min(best[mode][1], (time.process_time() - start_cpu) / evaluations)
    backend = loops[True][2].name
    for mode in loops:
        wall, cpu = best[mode]
        label = "statistics" if mode else "per row"
        print(f"| {backend} | {precision} | {label} ({loops[mode][3]} rewritten) | "
              f"{wall * 1e6:.1f} | {cpu * 1e6:.1f} |", flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backends", default="tensorflow,jax")
    parser.add_argument("--precision", default="double", choices=("double", "single"))
    parser.add_argument("--quick", action="store_true", help="N = 500, 20 evaluations")
    parser.add_argument("--workload", default="correlated", choices=("correlated", "radon"))
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        _worker(args.precision, args.quick, args.workload)
        return 0
    print(f"{args.workload}: load average {os.getloadavg()[0]:.1f}; {CHAINS} chains, best of "
          f"{ROUNDS} loops "
          f"of {EVALUATIONS} evaluations")
    print("| backend | precision | Gaussian term | µs per 4-chain gradient | CPU µs |")
    print("|---|---|---|---:|---:|")
    for backend in args.backends.split(","):
        env = dict(os.environ, TFSTATS_BACKEND=backend,
                   PYTHONPATH=os.pathsep.join([str(HERE.parent), os.environ.get(
                       "PYTHONPATH", "")]))
        subprocess.run([sys.executable, __file__, "--worker", "--precision", args.precision,
                        "--workload", args.workload,
                        *(["--quick"] if args.quick else [])], env=env, check=True)
    print(f"load average {os.getloadavg()[0]:.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
