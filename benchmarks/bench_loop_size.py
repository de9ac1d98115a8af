"""Size and compile time of MCMC's compiled sampling loop (one chunk of
``inference/mcmc.py``) per workload, without sampling: on JAX the StableHLO lines, the
optimised HLO's lines and fusions and the XLA compile time (wall and process CPU); on
TensorFlow the trace and the XLA compile (first call with zero iterations). Each
workload in its own process; persistent compilation cache off.

Usage::

    python benchmarks/bench_loop_size.py                        # JAX, four workloads
    python benchmarks/bench_loop_size.py --backend tensorflow --workloads eight_schools
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

__all__ = ["main"]

ROOT = Path(__file__).resolve().parents[1]
# chains per loop as the default chain method runs them (logistic: vectorised)
CHAINS = {"eight_schools": 1, "radon": 1, "correlated": 1, "logistic": 4}


def _worker(workload: str) -> dict:
    sys.path.insert(0, str(ROOT / "benchmarks"))
    import mcmc_systems as ms
    import numpy as np

    import tfstats as ts
    from tfstats.backends import get_backend
    from tfstats.inference import adaptation
    from tfstats.inference import mcmc as mcmc_module

    B = get_backend()
    chains = CHAINS[workload]
    model = ms.tfstats_model(ts, workload, ms.workload_data(workload, False), "mixed")
    fn = mcmc_module._build_chunk(model, ts.nuts(), chains)
    dtype = model.float_dtype
    adapt = {k: B.convert(np.asarray(v), dtype) for k, v in
             adaptation.initial_adaptation(chains, model.n_free, 1.0).items()}
    args = (B.convert(np.zeros((chains, model.n_free)), dtype), adapt, B.make_seed(0),
            B.convert(0), B.convert(0), B.convert(False),
            {k: B.convert(v) for k, v in adaptation.window_schedule(1000).items()},
            *model.data_tensors())
    row: dict = {"workload": workload, "chains": chains}
    wall, cpu = time.perf_counter(), time.process_time()
    if B.name == "jax":
        from tfstats.backends.jax_aot import compiler_options

        traced = fn.trace(*args)
        lowered = traced.lower()
        row["trace_s"] = time.perf_counter() - wall
        row["stablehlo_lines"] = len(lowered.as_text().splitlines())
        wall, cpu = time.perf_counter(), time.process_time()
        compiled = lowered.compile(compiler_options=compiler_options(traced.jaxpr) or None)
        row["compile_s"], row["compile_cpu_s"] = (time.perf_counter() - wall,
                                                  time.process_time() - cpu)
        text = compiled.as_text()
        row["hlo_lines"] = len(text.splitlines())
        row["fusions"] = len(re.findall(r" fusion\(", text))
    else:
        fn.get_concrete_function(*args)
        row["trace_s"] = time.perf_counter() - wall
        wall, cpu = time.perf_counter(), time.process_time()
        fn(*args)  # zero iterations: XLA compiles
        row["compile_s"], row["compile_cpu_s"] = (time.perf_counter() - wall,
                                                  time.process_time() - cpu)
    row["load"] = os.getloadavg()[0]
    return row


def main(argv: list[str] | None = None) -> list[dict]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workloads", default=",".join(CHAINS))
    parser.add_argument("--backend", default="jax", choices=("jax", "tensorflow"))
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    unknown = sorted(set(args.workloads.split(",")) - set(CHAINS))
    if unknown:
        parser.error(f"--workloads: unknown {', '.join(unknown)}; choose from "
                     f"{', '.join(CHAINS)}")
    if args.worker:
        print(json.dumps(_worker(args.worker)))
        return []
    env = dict(os.environ, TFSTATS_BACKEND=args.backend, TFSTATS_COMPILATION_CACHE="0",
               PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]))
    rows = []
    print("| workload | chains | StableHLO lines | HLO lines | fusions | trace (s) "
          "| compile (s) | compile CPU (s) | load |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for workload in args.workloads.split(","):
        run = subprocess.run([sys.executable, __file__, "--worker", workload],
                             capture_output=True, text=True, env=env, check=False)
        if run.returncode != 0:
            raise RuntimeError(f"{workload} failed:\n{run.stderr[-3000:]}")
        row = json.loads(run.stdout.strip().splitlines()[-1])
        rows.append(row)
        print(f"| {workload} | {row['chains']} | {row.get('stablehlo_lines', '-')} "
              f"| {row.get('hlo_lines', '-')} | {row.get('fusions', '-')} "
              f"| {row['trace_s']:.2f} | {row['compile_s']:.2f} | {row['compile_cpu_s']:.2f} "
              f"| {row['load']:.1f} |", flush=True)
    return rows


if __name__ == "__main__":
    main()
