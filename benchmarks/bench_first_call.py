"""First ``ts.mcmc`` call on JAX: the sampling loop compiled ahead, in background threads
(``tfstats/inference/compile_ahead.py``), against the loop compiled at its first call as
before (one program, XLA's default options), A/B back to back.

Each run is a fresh process (``TFSTATS_BACKEND=jax``, persistent compilation cache off),
timing the model building plus the first ``ts.mcmc`` call (``first``) and a second call
(``warm``: sampling only), wall and process CPU time, and the XLA compile time JAX logs.
The variants alternate (before, after, before, after, ...) so that a shared machine's
load falls on both; ``uptime``'s load average is printed with each run.

Usage::

    python benchmarks/bench_first_call.py                           # four workloads, 2 pairs
    python benchmarks/bench_first_call.py --workloads eight_schools --pairs 3
    python benchmarks/bench_first_call.py --quick                   # a smoke test
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

__all__ = ["main", "VARIANTS"]

ROOT = Path(__file__).resolve().parents[1]
VARIANTS = ("before", "after")
WORKLOADS = ("eight_schools", "radon", "logistic", "correlated")


def _worker(workload: str, variant: str, quick: bool) -> dict:
    import collections
    import time

    import jax.monitoring

    compiles: dict[str, float] = collections.defaultdict(float)

    def listener(event: str, duration: float, **kwargs: object) -> None:
        if event.endswith("backend_compile_duration"):
            compiles[str(kwargs.get("fun_name", "?"))] += duration

    jax.monitoring.register_event_duration_secs_listener(listener)
    sys.path.insert(0, str(ROOT / "benchmarks"))
    import mcmc_systems as ms

    import tfstats as ts  # noqa: F401 - imported before the clock starts
    from tfstats.inference import mcmc as mcmc_module

    if variant == "before":  # the loop compiled at its first call, one program, as before
        mcmc_module.ahead_of_time = lambda model, jitted: jitted
        mcmc_module.start_chunk = lambda *args, **kwargs: None
    data, cfg = ms.workload_data(workload, quick), ms.settings(workload, quick)
    wall, cpu = time.perf_counter(), time.process_time()
    sample, _ = ms._tfstats(workload, data, cfg, "mixed")
    draws, _ = sample(1)
    first, first_cpu = time.perf_counter() - wall, time.process_time() - cpu
    wall, cpu = time.perf_counter(), time.process_time()
    sample(2)
    warm, warm_cpu = time.perf_counter() - wall, time.process_time() - cpu
    loop = sum(v for k, v in compiles.items() if any(n in k for n in ("chunk", "loop")))
    return {"workload": workload, "variant": variant, "first_s": first, "warm_s": warm,
            "first_cpu_s": first_cpu, "warm_cpu_s": warm_cpu,
            "compile_s": sum(compiles.values()), "loop_compile_s": loop,
            "ess": ms.min_bulk_ess(draws), "load": os.getloadavg()[0]}


def main(argv: list[str] | None = None) -> list[dict]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workloads", default=",".join(WORKLOADS))
    parser.add_argument("--pairs", type=int, default=2, help="before/after pairs per workload")
    parser.add_argument("--quick", action="store_true", help="tiny settings (a smoke test)")
    parser.add_argument("--worker", nargs=2, metavar=("WORKLOAD", "VARIANT"),
                        help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        print(json.dumps(_worker(*args.worker, args.quick)))
        return []
    env = dict(os.environ, TFSTATS_BACKEND="jax", TFSTATS_COMPILATION_CACHE="0",
               PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]))
    rows = []
    print("| workload | variant | first (s) | warm (s) | first CPU (s) | warm CPU (s) "
          "| XLA compile (s) | loop compile (s) | min bulk ESS | load |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for workload in args.workloads.split(","):
        for _ in range(args.pairs):
            for variant in VARIANTS:
                run = subprocess.run(
                    [sys.executable, __file__, "--worker", workload, variant,
                     *(["--quick"] if args.quick else [])],
                    capture_output=True, text=True, env=env, check=False)
                if run.returncode != 0:
                    raise RuntimeError(f"{workload} {variant} failed:\n{run.stderr[-3000:]}")
                row = json.loads(run.stdout.strip().splitlines()[-1])
                rows.append(row)
                print(f"| {workload} | {variant} | {row['first_s']:.2f} | {row['warm_s']:.2f} "
                      f"| {row['first_cpu_s']:.2f} | {row['warm_cpu_s']:.2f} "
                      f"| {row['compile_s']:.2f} | {row['loop_compile_s']:.2f} "
                      f"| {row['ess']:.0f} | {row['load']:.1f} |", flush=True)
    return rows


if __name__ == "__main__":
    main()
