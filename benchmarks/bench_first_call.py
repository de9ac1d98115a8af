"""First ``ts.mcmc`` call: the sampling loop compiled ahead, in background threads
(``tfstats/inference/compile_ahead.py``), against the loop compiled at its first call as
before (on JAX: one program, XLA's default options), A/B back to back.

Each run is a fresh process (``TFSTATS_BACKEND`` from ``--backend``, persistent
compilation cache off unless ``--cache``), timing the model building plus the first
``ts.mcmc`` call (``first``) and a second call (``warm``: sampling only), wall and process
CPU time, and the XLA compile time the backend logs (JAX's monitoring events;
TensorFlow's ``device_compiler`` log lines). The variants alternate (before, after,
before, after, ...) so that a shared machine's load falls on both; ``uptime``'s load
average is printed with each run. With ``--cache`` each variant first fills its own
persistent cache directory in a run that is not shown, so every run shown is a second
process with a warm cache.

Usage::

    python benchmarks/bench_first_call.py                           # four workloads, 2 pairs
    python benchmarks/bench_first_call.py --workloads eight_schools --pairs 3
    python benchmarks/bench_first_call.py --backend tensorflow      # the TF backend
    python benchmarks/bench_first_call.py --backend tensorflow --cache --workloads eight_schools
    python benchmarks/bench_first_call.py --quick                   # a smoke test
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

__all__ = ["main", "VARIANTS"]

ROOT = Path(__file__).resolve().parents[1]
VARIANTS = ("before", "after")
WORKLOADS = ("eight_schools", "radon", "logistic", "correlated")


def _tf_compiles(log: str) -> dict[str, float]:
    """Seconds of XLA compilation per function from TensorFlow's ``device_compiler`` log
    (``TF_CPP_VMODULE=device_compiler=2``): each "Compilation of XLA executable time"
    line belongs to the last "Instantly compiling" line of its thread."""
    compiles: dict[str, float] = {}
    current: dict[str, str] = {}
    for line in log.splitlines():
        parts = line.split()
        if len(parts) < 4:
            continue
        thread = parts[2]
        if (found := re.search(r"Instantly compiling for signature: (\S+)", line)):
            current[thread] = found.group(1)
        elif (found := re.search(r"Compilation of XLA executable time: .*?\((\d+) us\)", line)):
            name = current.get(thread, "?")
            compiles[name] = compiles.get(name, 0.0) + int(found.group(1)) / 1e6
    return compiles


def _worker(workload: str, variant: str, quick: bool) -> dict:
    import collections
    import time

    compiles: dict[str, float] = collections.defaultdict(float)
    if os.environ.get("TFSTATS_BACKEND") == "jax":
        import jax.monitoring

        def listener(event: str, duration: float, **kwargs: object) -> None:
            if event.endswith("backend_compile_duration"):
                compiles[str(kwargs.get("fun_name", "?"))] += duration

        jax.monitoring.register_event_duration_secs_listener(listener)
    sys.path.insert(0, str(ROOT / "benchmarks"))
    import mcmc_systems as ms

    import tfstats as ts  # noqa: F401 - imported before the clock starts
    from tfstats.backends import get_backend
    from tfstats.inference import mcmc as mcmc_module

    get_backend()  # TensorFlow or JAX imported before the clock starts too

    if variant == "before":  # the loop compiled at its first call, one program, as before
        mcmc_module.ahead_of_time = lambda model, jitted, key=None: jitted
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
    parser.add_argument("--backend", default="jax", choices=("jax", "tensorflow"))
    parser.add_argument("--cache", action="store_true",
                        help="second processes with a warm persistent compilation cache")
    parser.add_argument("--worker", nargs=2, metavar=("WORKLOAD", "VARIANT"),
                        help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        print(json.dumps(_worker(*args.worker, args.quick)))
        return []
    env = dict(os.environ, TFSTATS_BACKEND=args.backend, TFSTATS_COMPILATION_CACHE="0",
               PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]))
    if args.backend == "tensorflow":  # XLA's compile times, from its log
        env.update(TF_CPP_MIN_LOG_LEVEL="0", TF_CPP_VMODULE="device_compiler=2")
    with tempfile.TemporaryDirectory() as caches:
        return _runs(args, env, Path(caches))


def _run(args: argparse.Namespace, env: dict, workload: str, variant: str) -> dict:
    run = subprocess.run(
        [sys.executable, __file__, "--worker", workload, variant,
         *(["--quick"] if args.quick else [])],
        capture_output=True, text=True, env=env, check=False)
    if run.returncode != 0:
        raise RuntimeError(f"{workload} {variant} failed:\n{run.stderr[-3000:]}")
    row = json.loads(run.stdout.strip().splitlines()[-1])
    if args.backend == "tensorflow":
        compiles = _tf_compiles(run.stderr)
        row["compile_s"] = sum(compiles.values())
        row["loop_compile_s"] = sum(v for k, v in compiles.items() if "chunk" in k)
    return row


def _runs(args: argparse.Namespace, env: dict, caches: Path) -> list[dict]:
    rows = []
    print("| workload | variant | first (s) | warm (s) | first CPU (s) | warm CPU (s) "
          "| XLA compile (s) | loop compile (s) | min bulk ESS | load |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for workload in args.workloads.split(","):
        cache = {v: str(caches / workload / v) if args.cache else "0" for v in VARIANTS}
        if args.cache:  # each variant fills its own cache first (not shown)
            for variant in VARIANTS:
                _run(args, dict(env, TFSTATS_COMPILATION_CACHE=cache[variant]), workload,
                     variant)
        for _ in range(args.pairs):
            for variant in VARIANTS:
                row = _run(args, dict(env, TFSTATS_COMPILATION_CACHE=cache[variant]),
                           workload, variant)
                rows.append(row)
                print(f"| {workload} | {variant} | {row['first_s']:.2f} | {row['warm_s']:.2f} "
                      f"| {row['first_cpu_s']:.2f} | {row['warm_cpu_s']:.2f} "
                      f"| {row['compile_s']:.2f} | {row['loop_compile_s']:.2f} "
                      f"| {row['ess']:.0f} | {row['load']:.1f} |", flush=True)
    return rows


if __name__ == "__main__":
    main()
