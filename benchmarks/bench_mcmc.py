"""MCMC benchmark: tfstats against raw TFP, NumPyro, PyMC and nutpie on the same data.

Workloads: eight schools (non-centred; 4 chains x (1000 warmup + 1000 draws)), Bayesian
logistic regression (N = 100,000, D = 20, simulated with a fixed seed; 4 x (500 + 500)) and
the radon varying-intercept model (non-centred, 85 counties; 4 x (1000 + 1000)) and a
Gaussian regression on 25 strongly correlated predictors (Toeplitz covariance 0.99^|i-j|,
N = 5,000; 4 x (1000 + 1000)), where trees are deep and time goes to gradients.

Each system runs in its own subprocess (its imports and thread pools stay its own), all
selected workloads one after another. Per system and workload it times a first call (model
building and compilation included) and a second, warm call with another seed, and takes
the minimum bulk ESS (arviz-stats, rank-normalised) of each call's draws over every sampled
parameter. Results go to ``benchmarks/results/mcmc.json``; a markdown table to stdout.

Usage::

    python benchmarks/bench_mcmc.py                       # everything (tens of minutes)
    python benchmarks/bench_mcmc.py --quick               # tiny settings: a smoke test
    python benchmarks/bench_mcmc.py --systems tfstats,tfp,numpyro --workloads radon
    python benchmarks/bench_mcmc.py --report old.json new.json   # tables of saved runs
    python benchmarks/bench_mcmc.py --no-warm --repeats 3 --systems numpyro-parallel,\
        numpyro,nutpie,pymc,tfstats,tfstats-jax   # the peer table: first calls, each peer
                                                  # at its best, median of 3 runs

The minimum bulk ESS of one run moves with the seed by 10-25% (it is the smallest of
many noisy estimates), so ``--repeats`` runs each system several times, each run a new
process (a first call again) with its own seeds, and the tables show the median run.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
import traceback
from importlib import metadata
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from mcmc_systems import SYSTEMS, WORKLOADS, run_process, run_system, settings  # noqa: E402

__all__ = ["main"]

RESULTS = HERE / "results" / "mcmc.json"
REFERENCE = "tfstats"        # the system whose ESS/s the ratios are taken of
PACKAGES = ("tensorflow", "tfp-nightly", "jax", "numpyro", "pymc", "pytensor", "nutpie",
            "arviz-stats", "numpy")


# --- worker ---------------------------------------------------------------------------------------


def _worker(system: str, workloads: list[str], quick: bool, out: Path, warm: bool,
            seed: int) -> int:
    """Run ``system`` on each workload; rewrite ``out`` after each, so a crash or a
    timeout keeps what was done."""
    import warnings

    warnings.filterwarnings("ignore")
    results = []
    for workload in workloads:
        load = os.getloadavg()
        try:
            result = run_system(system, workload, quick, warm, seed)
        except Exception as error:  # noqa: BLE001 - report any failure of a peer, go on
            result = {"system": system, "workload": workload, "ok": False,
                      "error": f"{type(error).__name__}: {error}",
                      "traceback": traceback.format_exc(limit=8)}
        result["loadavg_before"] = load
        result["loadavg_after"] = os.getloadavg()
        results.append(result)
        out.write_text(json.dumps(results, indent=1, default=float))
    return 0


# --- driver ---------------------------------------------------------------------------------------


def _run_worker(system: str, workloads: list[str], quick: bool, timeout: float,
                warm: bool, seed: int = 1) -> list[dict]:
    env = dict(os.environ)
    env.pop("TFSTATS_BACKEND", None)
    if system.startswith("tfstats-jax"):
        env["TFSTATS_BACKEND"] = "jax"
    with tempfile.TemporaryDirectory() as tmp:
        if system.startswith("tfstats"):
            # a new, empty cache directory in the default place (XDG_CACHE_HOME): the first
            # call compiles, as a user's first run of a model does, with the default
            # settings (JAX's persistent cache and the trace store on, TensorFlow's
            # persistent cache off)
            env.pop("TFSTATS_COMPILATION_CACHE", None)
            env["XDG_CACHE_HOME"] = str(Path(tmp) / "cache")
        out = Path(tmp) / "result.json"
        command = [sys.executable, str(Path(__file__).resolve()), "--worker", system,
                   "--workloads", ",".join(workloads), "--out", str(out),
                   "--seed", str(seed)]
        if quick:
            command.append("--quick")
        if not warm:
            command.append("--no-warm")
        start = time.perf_counter()
        log, failure = run_process(command, env, timeout)
        elapsed = time.perf_counter() - start
        results = json.loads(out.read_text()) if out.exists() else []
    done = {r["workload"] for r in results}
    for workload in workloads:
        if workload not in done:
            results.append({"system": system, "workload": workload, "ok": False,
                            "error": failure or "no result", "log_tail": log[-2000:]})
    for r in results:
        r["process_s"] = elapsed
    return results


def _versions() -> dict[str, str]:
    versions = {}
    for package in PACKAGES:
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            versions[package] = "not installed"
    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=HERE,
                                capture_output=True, text=True, check=False).stdout.strip()
    except OSError:
        commit = ""
    versions["tfstats"] = f"{metadata.version('tfstats')} ({commit or 'no git'})"
    versions["python"] = platform.python_version()
    return versions


def _fmt(value: Any, digits: int = 1) -> str:
    if value is None or value != value:
        return "-"
    return f"{value:,.{digits}f}"


def _ratio(ours: dict | None, theirs: dict, key: str) -> str:
    if not ours or not ours.get("ok") or not theirs.get("ok") or not theirs.get(key) \
            or ours.get(key) is None:
        return "-"
    return f"{ours[key] / theirs[key]:.2f}"


def _spread(r: dict) -> str:
    """`` (low-high, n runs)`` of a summarised row of repeated runs, else nothing."""
    if r.get("runs", 1) < 2:
        return ""
    low, high = r["ess_per_s_first_range"]
    return f" ({_fmt(low)}-{_fmt(high)}, {r['runs']} runs)"


def table(results: list[dict]) -> str:
    """The markdown table: one row per workload and system; the last columns are the
    reference system's (``tfstats``) ESS/s divided by this row's."""
    lines = [
        "| workload | system | precision | first call (s) | warm call (s) | min bulk ESS "
        "(first / warm) | ESS/s first | ESS/s warm | divergences | leapfrogs / draw "
        f"| {REFERENCE} ESS/s ratio (first / warm) |",
        "|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    by_key = {(r["workload"], r["system"]): r for r in results}
    for r in results:
        if not r.get("ok"):
            lines.append(f"| {r['workload']} | {r['system']} | | failed: "
                         f"{r.get('error', '?')[:80]} | | | | | | | |")
            continue
        ref = by_key.get((r["workload"], REFERENCE))
        stats = r.get("warm_stats") or r["first_stats"]
        warm_div = r["warm_stats"]["divergences"] if r.get("warm_stats") else "-"
        ess_warm = f"{r['ess_warm']:.0f}" if r.get("ess_warm") is not None else "-"
        lines.append(
            f"| {r['workload']} | {r['system']} | {r['precision']} | {_fmt(r['first_s'])} "
            f"| {_fmt(r.get('warm_s'), 2)} | {r['ess_first']:.0f} / {ess_warm} "
            f"| {_fmt(r['ess_per_s_first'])}{_spread(r)} | {_fmt(r.get('ess_per_s_warm'))} "
            f"| {r['first_stats']['divergences']} / {warm_div} "
            f"| {stats['leapfrogs_per_draw']:.1f} "
            f"| {_ratio(ref, r, 'ess_per_s_first')} / {_ratio(ref, r, 'ess_per_s_warm')} |")
    return "\n".join(lines)


#: the peers at their documented settings, of which the best sets the bar
PEERS = ("numpyro", "numpyro-parallel", "numpyro-cache", "pymc", "nutpie")


def best_peer_table(results: list[dict]) -> str:
    """Per workload, each tfstats variant's first-call ESS/s over the best peer's (the
    target is 1.0)."""
    ok = [r for r in results if r.get("ok")]
    lines = ["| workload | best peer | its ESS/s | tfstats variant | ESS/s | ratio | target 1.0 |",
             "|---|---|---:|---|---:|---:|---|"]
    for workload in WORKLOADS:
        peers = [r for r in ok if r["workload"] == workload and r["system"] in PEERS]
        ours = [r for r in ok if r["workload"] == workload and r["system"].startswith("tfstats")]
        if not peers or not ours:
            continue
        best = max(peers, key=lambda r: r["ess_per_s_first"])
        for r in ours:
            ratio = r["ess_per_s_first"] / best["ess_per_s_first"]
            lines.append(f"| {workload} | {best['system']} | {_fmt(best['ess_per_s_first'])} "
                         f"| {r['system']} | {_fmt(r['ess_per_s_first'])} | {ratio:.2f} "
                         f"| {'met' if ratio >= 1.0 else 'missed'} |")
    return "\n".join(lines)


def targets(results: list[dict]) -> str:
    """Each tfstats variant's ESS/s over raw TFP's (target >= 0.9) and NumPyro's, with
    and without a compilation cache (target >= 1.0), first call / warm call."""
    by_key = {(r["workload"], r["system"]): r for r in results}
    variants = [s for s in SYSTEMS if s.startswith("tfstats")]
    peers = [p for p in (("tfp", 0.9), ("numpyro", 1.0), ("numpyro-parallel", 1.0),
                         ("numpyro-cache", 1.0))
             if any(r["system"] == p[0] for r in results)]
    lines = ["| workload | tfstats variant | " + " | ".join(
        f"/ {peer} (first / warm; target {goal})" for peer, goal in peers) + " |",
        "|---|---|" + "---|" * len(peers)]
    for workload in WORKLOADS:
        for variant in variants:
            ours = by_key.get((workload, variant))
            if not ours:
                continue
            cells = []
            for peer, goal in peers:
                theirs = by_key.get((workload, peer))
                if not theirs:
                    cells.append("-")
                    continue
                pair = [_ratio(ours, theirs, k) for k in ("ess_per_s_first", "ess_per_s_warm")]
                met = ["met" if p != "-" and float(p) >= goal else "-" if p == "-" else "missed"
                       for p in pair]
                cells.append(f"{pair[0]} / {pair[1]} ({met[0]} / {met[1]})")
            lines.append(f"| {workload} | {variant} | {' | '.join(cells)} |")
    return "\n".join(lines)


def summarise(runs: list[dict]) -> list[dict]:
    """One row per (workload, system): a single run as it is; repeated runs as their
    median run (by first-call ESS/s; the upper median of an even count), with ``runs``,
    and the lowest and highest first-call ESS/s in ``ess_per_s_first_range``. A failed run
    counts only when no run succeeded."""
    groups: dict[tuple[str, str], list[dict]] = {}
    for r in runs:
        groups.setdefault((r["workload"], r["system"]), []).append(r)
    rows = []
    for group in groups.values():
        ok = sorted((r for r in group if r.get("ok")), key=lambda r: r["ess_per_s_first"])
        if not ok:
            rows.append(group[0])
            continue
        median = dict(ok[len(ok) // 2], runs=len(ok))
        median["ess_per_s_first_range"] = (ok[0]["ess_per_s_first"], ok[-1]["ess_per_s_first"])
        rows.append(median)
    return rows


def _uptime() -> str:
    try:
        return subprocess.run(["uptime"], capture_output=True, text=True,
                              check=False).stdout.strip()
    except OSError:
        load = os.getloadavg()
        return f"load average: {load[0]:.2f}, {load[1]:.2f}, {load[2]:.2f}"


def _parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true",
                        help="tiny settings (2 chains x (50 + 50), N = 1,000): a smoke test")
    parser.add_argument("--systems", default="all",
                        help=f"comma-separated, from {', '.join(SYSTEMS)} (default: all)")
    parser.add_argument("--workloads", default="all",
                        help=f"comma-separated, from {', '.join(WORKLOADS)} (default: all)")
    parser.add_argument("--timeout", type=float, default=None,
                        help="seconds per system (default 3600; 600 with --quick)")
    parser.add_argument("--output", type=Path, default=RESULTS, help="the JSON results file")
    parser.add_argument("--report", type=Path, nargs="+",
                        help="print the tables of saved result files, later files replacing "
                             "the same (workload, system) unless failed; run nothing")
    parser.add_argument("--no-warm", action="store_true",
                        help="time the first call only (the metric of the peer table)")
    parser.add_argument("--repeats", type=int, default=1,
                        help="run every system this many times, each in a new process with "
                             "its own seeds, round-robin over the systems; the tables show "
                             "each workload and system's median (default 1)")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--seed", type=int, default=1, help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.repeats < 1:
        parser.error(f"--repeats must be at least 1, got {args.repeats}")
    for option, known in (("systems", SYSTEMS), ("workloads", WORKLOADS)):
        value = getattr(args, option)
        chosen = list(known) if value == "all" else [v.strip() for v in value.split(",") if v]
        unknown = [v for v in chosen if v not in known]
        if unknown:
            parser.error(f"unknown {option} {unknown}; choose from {', '.join(known)}")
        setattr(args, option, chosen)
    return args


def main(argv: list[str] | None = None) -> int:
    args = _parse(argv)
    if args.worker:
        code = _worker(args.worker, args.workloads, args.quick, args.out, not args.no_warm,
                       args.seed)
        # the results are written: end without the interpreter's teardown (TensorFlow's
        # and JAX's take seconds, which the driver would count in the worker's process_s)
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    if args.report:
        merged: dict[tuple, dict] = {}
        for path in args.report:  # later files replace the same run; a failure never does
            report = json.loads(path.read_text())
            print(f"{path}: {report['date']}, {report['uptime_before']}")
            for r in report["results"]:
                key = (r["workload"], r["system"], r.get("seed"))
                if r.get("ok") or key not in merged:
                    merged[key] = r
        order = {w: i for i, w in enumerate(WORKLOADS)}
        ranks = {s: i for i, s in enumerate(SYSTEMS)}
        results = sorted(summarise(list(merged.values())),
                         key=lambda r: (order[r["workload"]], ranks.get(r["system"], 99)))
        print(f"\n{table(results)}\n\n{best_peer_table(results)}\n\n{targets(results)}")
        return 0
    timeout = args.timeout or (600.0 if args.quick else 3600.0)
    command = " ".join(["python", "benchmarks/bench_mcmc.py", *(argv or sys.argv[1:])])
    uptime_before = _uptime()
    print(f"# MCMC benchmark ({'quick' if args.quick else 'full'}): {uptime_before}",
          flush=True)
    runs: list[dict] = []
    for repeat in range(args.repeats):  # round-robin, so a drift in load hits every system
        for system in args.systems:
            start = time.perf_counter()
            new = _run_worker(system, args.workloads, args.quick, timeout, not args.no_warm,
                              seed=1 + 10 * repeat)
            runs.extend(new)
            status = ", ".join(f"{r['workload']} {'ok' if r.get('ok') else 'FAILED'}"
                               for r in new)
            print(f"{system} (run {repeat + 1} of {args.repeats}): {status} "
                  f"({time.perf_counter() - start:.0f} s)", file=sys.stderr, flush=True)
    order = {w: i for i, w in enumerate(WORKLOADS)}
    results = sorted(summarise(runs), key=lambda r: order[r["workload"]])
    uptime_after = _uptime()
    report = {
        "command": command, "date": dt.datetime.now().isoformat(timespec="seconds"),
        "quick": args.quick, "uptime_before": uptime_before, "uptime_after": uptime_after,
        "cpus": os.cpu_count(), "machine": platform.platform(), "versions": _versions(),
        "settings": {w: settings(w, args.quick) for w in args.workloads},
        "repeats": args.repeats, "results": runs,
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(report, indent=1, default=float))
    print()
    print(table(results))
    print()
    print(best_peer_table(results))
    print()
    print(targets(results))
    print()
    print(f"uptime before: {uptime_before}\nuptime after:  {uptime_after}")
    print(f"results: {args.output}")
    failed = [f"{r['system']}/{r['workload']}" for r in results if not r.get("ok")]
    if failed:
        print(f"failed: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
