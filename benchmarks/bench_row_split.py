"""JAX's pass over row blocks split into one share of the rows per usable core
(``TFSTATS_ROW_BLOCKS_SPLIT``, ``tfstats/blocked_glm.py``): A/B against one share, on the
lone 4-chain value and gradient and inside NUTS. (TensorFlow's sweep sums one share: its
XLA already runs each block's work on every core, and splitting it did not pay.)

One JAX process builds the Bernoulli-logit GLM of ``bench_gradient.py`` (D = 20
and an intercept) at each N twice, with the switch on and off (the number of shares is
fixed when a model is built), and times them interleaved (on, off, on, off, ...), wall and
CPU time: ``gradient``, the batched value and gradient inside a compiled loop (as
``bench_gradient.py``); ``nuts``, a warm ``ts.mcmc`` call, 4 chains x (``--warmup`` +
``--draws``), seed 1 (the same draws with either setting, up to rounding). The data GB/s
is N x 21 values over the time of one evaluation. The load average is printed beside.

Usage::

    python benchmarks/bench_row_split.py                        # N = 1,000,000, mixed
    python benchmarks/bench_row_split.py --sizes 300000,1000000 --rounds 4
    python benchmarks/bench_row_split.py --no-nuts --dtype float32
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
from bench_roofline import integer_list

__all__ = ["main", "run_worker"]

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
PRECISIONS = {"float32": "single", "float64": "double", "mixed": "mixed"}


def _model(n: int, dtype: str, split: bool) -> Any:
    from bench_gradient import D, glm_data

    import tfstats as ts

    os.environ["TFSTATS_ROW_BLOCKS_SPLIT"] = "1" if split else "0"
    x, y = glm_data("bernoulli", n)
    alpha, beta = ts.normal(0, 5), ts.normal(0, 1, dim=D)
    ts.bernoulli(ts.ilogit(alpha + x @ beta), observed=y)
    model = ts.model(alpha=alpha, beta=beta, precision=PRECISIONS[dtype])
    return ts, model


def worker(sizes: list[int], dtype: str, rounds: int, nuts: tuple[int, int] | None) -> list:
    """Timings (JAX), one dict per (N, setting, round)."""
    from bench_gradient import gradient_loop

    results = []
    for n in sizes:
        runs = {}
        for split in (True, False):
            ts, model = _model(n, dtype, split)
            loop, (flats, *data), B = gradient_loop(model)
            np.asarray(loop(flats, B.convert(1), *data))  # compiled
            if nuts:
                ts.mcmc(model, n_samples=nuts[1], warmup=nuts[0], chains=4, seed=1,
                        progress=False)  # compiled
            runs[split] = (ts, model, loop, flats, data, B,
                           [r.row_parts for r in model.blocked_glm])
        k = max(5, int(2e7 // n))
        for r in range(rounds):
            for split in (True, False):
                ts, model, loop, flats, data, B, parts = runs[split]
                row = {"n": n, "dtype": dtype, "split": split, "shares": parts, "round": r,
                       "load": os.getloadavg()[0]}
                wall, cpu = time.perf_counter(), time.process_time()
                np.asarray(loop(flats, B.convert(k), *data))
                row["gradient_ms"] = (time.perf_counter() - wall) / k * 1e3
                row["gradient_cpu_ms"] = (time.process_time() - cpu) / k * 1e3
                if nuts:
                    wall, cpu = time.perf_counter(), time.process_time()
                    draws = ts.mcmc(model, n_samples=nuts[1], warmup=nuts[0], chains=4,
                                    seed=1, progress=False)
                    row["nuts_s"] = time.perf_counter() - wall
                    row["nuts_cpu_s"] = time.process_time() - cpu
                    row["alpha_mean"] = float(np.mean(draws["alpha"]))
                results.append(row)
    return results


def table(results: list[dict]) -> str:
    """Medians over rounds, per N and setting; the split's ratio to one share."""
    lines = ["| N | dtype | shares | gradient ms (CPU ms) | data GB/s | NUTS s (CPU s) "
             "| gradient: split / one | NUTS: split / one |",
             "|---:|---|---|---:|---:|---:|---:|---:|"]
    for n, dtype in sorted({(r["n"], r["dtype"]) for r in results}):
        med = {}
        for split in (True, False):
            rows = [r for r in results if (r["n"], r["dtype"], r["split"]) == (n, dtype, split)]
            med[split] = {k: float(np.median([r[k] for r in rows])) for k in rows[0]
                          if k.endswith(("_ms", "_s"))}
            med[split]["shares"] = rows[0]["shares"]
        for split in (True, False):
            m, width = med[split], 4 if dtype != "float64" else 8
            nuts = f"{m['nuts_s']:.2f} ({m['nuts_cpu_s']:.2f})" if "nuts_s" in m else "-"
            ratio = (f"{med[True]['gradient_ms'] / med[False]['gradient_ms']:.2f}"
                     if split else "")
            nuts_ratio = (f"{med[True]['nuts_s'] / med[False]['nuts_s']:.2f}"
                          if split and "nuts_s" in m else "")
            lines.append(f"| {n:,} | {dtype} | {m['shares']} "
                         f"| {m['gradient_ms']:.2f} ({m['gradient_cpu_ms']:.2f}) "
                         f"| {n * 21 * width / m['gradient_ms'] / 1e6:.1f} | {nuts} "
                         f"| {ratio} | {nuts_ratio} |")
    return "\n".join(lines)


def run_worker(script: Path, backend: str, arguments: list[str],
               output: Path) -> list[dict] | None:
    """Run ``script --worker`` with ``arguments`` in a new process on ``backend`` (the
    project first on its path); its results, or None after printing why it failed."""
    out = output.with_suffix(".part.json")
    env = {**os.environ, "TFSTATS_BACKEND": backend,
           "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    output.parent.mkdir(parents=True, exist_ok=True)
    run = subprocess.run([sys.executable, str(script.resolve()), "--worker", "--out", str(out),
                          *arguments], env=env, capture_output=True, text=True, check=False)
    if run.returncode or not out.exists():
        print(f"the {backend} worker failed:\n{run.stdout[-2000:]}{run.stderr[-2000:]}",
              file=sys.stderr)
        return None
    results = json.loads(out.read_text())
    out.unlink()
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="1000000")
    parser.add_argument("--dtype", choices=sorted(PRECISIONS), default="mixed")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--warmup", type=int, default=100)
    parser.add_argument("--draws", type=int, default=100)
    parser.add_argument("--no-nuts", action="store_true", help="the lone gradient only")
    parser.add_argument("--output", type=Path, default=HERE / "results" / "row_split.json")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    sizes = integer_list(args.sizes, "--sizes", parser)
    if args.rounds < 1 or args.warmup < 1 or args.draws < 1:
        parser.error("--rounds, --warmup and --draws must be at least 1")
    nuts = None if args.no_nuts else (args.warmup, args.draws)
    if args.worker:
        sys.path.insert(0, str(HERE))
        import warnings

        warnings.filterwarnings("ignore")
        rows = worker(sizes, args.dtype, args.rounds, nuts)
        args.out.write_text(json.dumps(rows))
        return 0
    before = os.getloadavg()
    arguments = ["--sizes", args.sizes, "--dtype", args.dtype, "--rounds", str(args.rounds),
                 "--warmup", str(args.warmup), "--draws", str(args.draws)]
    results = run_worker(Path(__file__), "jax", arguments + (["--no-nuts"] if args.no_nuts
                                                             else []), args.output)
    if results is None:
        return 1
    args.output.write_text(json.dumps({"load_before": before, "load_after": os.getloadavg(),
                                       "results": results}, indent=1))
    print(table(results))
    print(f"\nload average before {before}, after {os.getloadavg()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
