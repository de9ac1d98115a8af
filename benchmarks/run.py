"""Run every benchmark script in this folder (``bench_*.py``), each in its own process.

This is what ``make bench`` runs. Each script prints its own markdown table and writes
its JSON results under ``benchmarks/results/`` (git-ignored).

Usage::

    python benchmarks/run.py                  # every benchmark, full settings
    python benchmarks/run.py --quick          # tiny settings: a smoke test of each script
    python benchmarks/run.py --only mcmc,glm  # bench_mcmc.py and bench_glm.py only
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

__all__ = ["main", "scripts"]

HERE = Path(__file__).resolve().parent
#: run first, in this order; any other bench_*.py follows in name order
ORDER = ("bench_mcmc.py", "bench_glm.py", "bench_dnn.py")


def scripts(only: list[str] | None = None) -> list[Path]:
    """The benchmark scripts present, in running order (``only``: names without the
    ``bench_`` prefix and ``.py`` suffix)."""
    found = sorted(HERE.glob("bench_*.py"), key=lambda p: (
        ORDER.index(p.name) if p.name in ORDER else len(ORDER), p.name))
    if only:
        found = [p for p in found if p.stem.removeprefix("bench_") in only]
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Run the benchmarks in benchmarks/.")
    parser.add_argument("--quick", action="store_true",
                        help="tiny settings, passed on to every script (a smoke test)")
    parser.add_argument("--only", default="",
                        help="comma-separated benchmark names, e.g. mcmc,glm (default: all)")
    args = parser.parse_args(argv)
    only = [n.strip() for n in args.only.split(",") if n.strip()] or None
    chosen = scripts(only)
    if not chosen:
        print(f"no benchmark scripts found in {HERE}"
              + (f" matching {args.only}" if only else ""), file=sys.stderr)
        return 1
    outcomes = []
    for script in chosen:
        command = [sys.executable, str(script)] + (["--quick"] if args.quick else [])
        print(f"\n## {script.name}{' --quick' if args.quick else ''}\n", flush=True)
        start = time.perf_counter()
        code = subprocess.call(command, cwd=HERE.parent)
        outcomes.append((script.name, code, time.perf_counter() - start))
    print("\n## Summary\n")
    for name, code, seconds in outcomes:
        print(f"- {name}: {'ok' if code == 0 else f'FAILED (exit {code})'} ({seconds:.0f} s)")
    return 0 if all(code == 0 for _, code, _ in outcomes) else 1


if __name__ == "__main__":
    sys.exit(main())
