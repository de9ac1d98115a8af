"""The size of the row blocks of a large-data GLM gradient (``tfstats/blocked_glm.py``,
``BLOCK_BYTES``): A/B of block sizes on one backend, family and dtype.

One worker process (``--backend``) builds the GLM of ``bench_gradient.py`` (D = 20 and an
intercept; ``--family``) at each N once per setting (``--mib``), and times the batched
value and gradient of ``--chains`` chains inside a compiled loop (as ``bench_gradient.py``),
the settings interleaved round by round, wall and CPU time. A setting is ``default``
(``BLOCK_BYTES`` and ``MIN_BLOCKS``), MiB of the design per block (``4``), the same with
the fewest blocks a design is split into (``4/1``: two blocks where ``MIN_BLOCKS`` would
make one), or ``plain`` (the rewrite off, ``TFSTATS_ROW_BLOCKS=0``); all are fixed when a
model is built. The table gives the blocks each setting made and each setting's median
time over the first one's. The load average is printed beside: on this shared 2-core
machine, rerun when it is above 1 before the run.

Usage::

    python benchmarks/bench_block_size.py                  # JAX, Bernoulli, mixed: 4 and 2 MiB
    python benchmarks/bench_block_size.py --mib default,2,8 --dtype float32
    python benchmarks/bench_block_size.py --backend tensorflow --mib default,8,2
    python benchmarks/bench_block_size.py --family poisson --sizes 300000,1000000
    python benchmarks/bench_block_size.py --backend tensorflow --sizes 100000 \
        --mib default,4/1,plain --chains 1
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
from bench_roofline import integer_list
from bench_row_split import run_worker

__all__ = ["main", "parse_sizes"]

HERE = Path(__file__).resolve().parent
PRECISIONS = {"float32": "single", "float64": "double", "mixed": "mixed"}
FAMILIES = ("bernoulli", "poisson")


def parse_sizes(text: str, parser: argparse.ArgumentParser) -> list[str]:
    """``--mib``: comma-separated settings without repeats: ``default``, ``plain``, or a
    positive number of MiB, optionally ``/`` a positive whole number of blocks."""
    items = [t.strip() for t in text.split(",") if t.strip()]
    for item in items:
        if item not in ("default", "plain"):
            mib, _, blocks = item.partition("/")
            try:
                ok = float(mib) > 0 and (not blocks or int(blocks) > 0)
            except ValueError:
                ok = False
            if not ok:
                parser.error(f"--mib: {item!r} is neither 'default', 'plain' nor a positive "
                             "number of MiB (optionally '/' the fewest blocks)")
    if not items or len(set(items)) != len(items):
        parser.error(f"--mib needs distinct sizes, got {text!r}")
    return items


def _model(family: str, n: int, dtype: str, setting: str) -> Any:
    from bench_gradient import D, glm_data

    import tfstats as ts
    from tfstats import blocked_glm

    defaults = blocked_glm.BLOCK_BYTES, blocked_glm.MIN_BLOCKS
    if setting not in ("default", "plain"):
        mib, _, blocks = setting.partition("/")
        blocked_glm.BLOCK_BYTES = int(float(mib) * 2**20)
        blocked_glm.MIN_BLOCKS = int(blocks) if blocks else defaults[1]
    os.environ[blocked_glm.ENVIRONMENT] = "0" if setting == "plain" else "1"
    x, y = glm_data(family, n)
    alpha, beta = ts.normal(0, 5), ts.normal(0, 1, dim=D)
    if family == "bernoulli":
        ts.bernoulli(ts.ilogit(alpha + x @ beta), observed=y)
    else:
        ts.poisson(np.exp(alpha + x @ beta), observed=y)
    model = ts.model(alpha=alpha, beta=beta, precision=PRECISIONS[dtype])
    blocked_glm.BLOCK_BYTES, blocked_glm.MIN_BLOCKS = defaults
    os.environ.pop(blocked_glm.ENVIRONMENT)
    if not model.blocked_glm and setting != "plain":
        raise SystemExit(f"N = {n:,} is below the rewrite's threshold (MIN_BYTES)")
    return model


def _blocks(model: Any, n: int) -> tuple[float | None, int]:
    """MiB a block and the blocks of the design (``None`` and 0 for the plain form)."""
    if not model.blocked_glm:
        return None, 0
    rewrite = model.blocked_glm[0]
    rows = rewrite.arguments(model.evaluator(model.data_tensors()), chains=True)[3]
    return rewrite.block_bytes / 2**20, -(-n // rows)


def worker(family: str, sizes: list[int], dtype: str, settings: list[str],
           rounds: int, chains: int) -> list[dict]:
    """Timings, one dict per (N, setting, round)."""
    from bench_gradient import gradient_loop

    results = []
    for n in sizes:
        runs = {}
        for setting in settings:
            model = _model(family, n, dtype, setting)
            loop, (flats, *data), B = gradient_loop(model, chains)
            np.asarray(loop(flats, B.convert(1), *data))  # compiled
            runs[setting] = (loop, flats, data, B, *_blocks(model, n))
        k = max(5, int(2e7 // n))
        for r in range(rounds):
            for setting in settings:
                loop, flats, data, B, used, blocks = runs[setting]
                row = {"n": n, "mib": setting, "block_mib": used, "blocks": blocks,
                       "chains": chains, "round": r, "load": os.getloadavg()[0]}
                wall, cpu = time.perf_counter(), time.process_time()
                np.asarray(loop(flats, B.convert(k), *data))
                row["gradient_ms"] = (time.perf_counter() - wall) / k * 1e3
                row["gradient_cpu_ms"] = (time.process_time() - cpu) / k * 1e3
                results.append(row)
    return results


def table(results: list[dict], settings: list[str], dtype: str) -> str:
    """Medians over rounds per N and block size; ratio to the first size."""
    lines = ["| N | setting | block MiB | blocks | gradient ms (CPU ms) | data GB/s | / first |",
             "|---:|---|---:|---:|---:|---:|---:|"]
    width = 8 if dtype == "float64" else 4
    for n in sorted({r["n"] for r in results}):
        med = {}
        for mib in settings:
            rows = [r for r in results if (r["n"], r["mib"]) == (n, mib)]
            med[mib] = (float(np.median([r["gradient_ms"] for r in rows])),
                        float(np.median([r["gradient_cpu_ms"] for r in rows])),
                        rows[0]["block_mib"], rows[0]["blocks"])
        for mib in settings:
            ms, cpu, used, blocks = med[mib]
            size = "-" if used is None else f"{used:g}"
            lines.append(f"| {n:,} | {mib} | {size} | {blocks or '-'} | {ms:.2f} ({cpu:.2f}) "
                         f"| {n * 21 * width / ms / 1e6:.1f} "
                         f"| {ms / med[settings[0]][0]:.3f} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backend", choices=("jax", "tensorflow"), default="jax")
    parser.add_argument("--family", choices=FAMILIES, default="bernoulli")
    parser.add_argument("--sizes", default="1000000")
    parser.add_argument("--dtype", choices=sorted(PRECISIONS), default="mixed")
    parser.add_argument("--mib", default="default,2",
                        help="settings: 'default', 'plain', MiB or MiB/fewest blocks")
    parser.add_argument("--chains", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--output", type=Path, default=HERE / "results" / "block_size.json")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    sizes = integer_list(args.sizes, "--sizes", parser)
    settings = parse_sizes(args.mib, parser)
    if args.rounds < 1:
        parser.error("--rounds must be at least 1")
    if args.chains < 1:
        parser.error("--chains must be at least 1")
    if args.worker:
        sys.path.insert(0, str(HERE))
        import warnings

        warnings.filterwarnings("ignore")
        args.out.write_text(json.dumps(worker(args.family, sizes, args.dtype, settings,
                                              args.rounds, args.chains)))
        return 0
    before = os.getloadavg()
    results = run_worker(Path(__file__), args.backend,
                         ["--backend", args.backend, "--family", args.family, "--sizes",
                          args.sizes, "--dtype", args.dtype, "--mib", args.mib, "--rounds",
                          str(args.rounds), "--chains", str(args.chains)], args.output)
    if results is None:
        return 1
    args.output.write_text(json.dumps({"backend": args.backend, "family": args.family,
                                       "dtype": args.dtype, "load_before": before,
                                       "load_after": os.getloadavg(), "results": results},
                                      indent=1))
    print(f"{args.backend}, {args.family}, {args.dtype}, {args.chains} chains")
    print(table(results, settings, args.dtype))
    print(f"\nload average before {before}, after {os.getloadavg()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
