"""Formula benchmark: ``ts.glm`` against bambi (PyMC's NUTS, nutpie, NumPyro) on the same
data and priors.

Workload: a varying-intercept, varying-slope logistic regression,
``y ~ x + (1 + x | g)``, simulated with a fixed seed (N = 20,000 rows, 200 groups;
4 chains x (1000 warmup + 1000 draws)); ``--quick``: N = 2,000, 20 groups, 2 x (200 + 200).
Priors on both sides: ``Intercept, x ~ normal(0, 2.5)``, each group sd ``~ half_normal(1)``,
non-centred group effects, uncorrelated intercept and slope (bambi's default).

Each system runs in its own subprocess (its imports and thread pools stay its own), once,
timed from model building to draws (compilation included; tfstats starts with its
persistent compilation cache off, so it compiles from scratch as bambi does). The minimum
bulk ESS (arviz-stats, rank-normalised) over ``Intercept``, ``x`` and the two group sds is
divided by that time. Each row also gives the CPU seconds of the worker and its child
processes (steadier than wall time on a loaded machine), the leapfrog steps per draw after
warmup and the mean step size: the samplers are comparable only if those agree.
``tfstats-single`` is the same model in float32 (``precision="single"``), and
``bambi-numpyro-single`` bambi's with PyTensor's ``floatX=float32``; the default rows are
float64 on both sides. ``tfstats-parallel`` and ``tfstats-vectorized`` pin ``ts.mcmc``'s
``chain_method`` (``tfstats`` takes the default). bambi conflicts with tfstats' formulae
version, so it lives in its own environment: ``--bambi-python PATH`` (default
``$BAMBI_PYTHON``); without one, only tfstats runs. Results go to
``benchmarks/results/formulas.json``; a table to stdout.

Usage::

    python benchmarks/bench_formulas.py --quick
    BAMBI_PYTHON=/path/to/venv/bin/python python benchmarks/bench_formulas.py
    python benchmarks/bench_formulas.py --chains 2 --warmup 500 --draws 500   # overrides
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

__all__ = ["main", "simulate", "table"]

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results" / "formulas.json"
PARAMS = ("Intercept", "x", "1|g_sigma", "x|g_sigma")
SYSTEMS = ("tfstats", "bambi-pymc", "bambi-nutpie", "bambi-numpyro")
VARIANTS = ("tfstats-single", "tfstats-double", "bambi-numpyro-single", "tfstats-parallel",
            "tfstats-vectorized")


def settings(quick: bool) -> dict:
    if quick:
        return {"n": 2_000, "groups": 20, "chains": 2, "warmup": 200, "draws": 200}
    return {"n": 20_000, "groups": 200, "chains": 4, "warmup": 1000, "draws": 1000}


def simulate(n: int, groups: int, seed: int = 0) -> dict[str, np.ndarray]:
    """A varying-intercept, varying-slope logistic data set."""
    rng = np.random.default_rng(seed)
    g = rng.integers(0, groups, n)
    x = rng.normal(size=n)
    a = rng.normal(0, 0.5, groups)
    b = rng.normal(0, 0.3, groups)
    eta = -0.5 + 0.8 * x + a[g] + b[g] * x
    y = (rng.uniform(size=n) < 1 / (1 + np.exp(-eta))).astype(np.int64)
    return {"y": y, "x": x, "g": np.array([f"g{k:03d}" for k in g])}


# --- workers (each in its own process) ---------------------------------------------------------

def _tfstats(frame: object, config: dict, precision: str | None = None,
             chain_method: str | None = None) -> dict[str, np.ndarray]:
    import tfstats as ts

    priors = {"Intercept": ("normal", 0, 2.5), "x": ("normal", 0, 2.5),
              "1|g_sigma": ("half_normal", 1), "x|g_sigma": ("half_normal", 1)}
    m = ts.glm("y ~ x + (1 + x | g)", frame, family="bernoulli", priors=priors,
               correlated=False,  # bambi's model: independent intercept and slope
               precision=precision)
    draws = ts.mcmc(m, n_samples=config["draws"], warmup=config["warmup"],
                    chains=config["chains"], seed=1, progress=False,
                    chain_method=chain_method)
    out = {p: draws[p] for p in PARAMS}
    return dict(out, n_steps=draws.stats["n_steps"], step_size=draws.stats["step_size"])


def _bambi(frame: object, config: dict, method: str) -> dict[str, np.ndarray]:
    import bambi as bmb

    def sd() -> object:
        return bmb.Prior("Normal", mu=0, sigma=bmb.Prior("HalfNormal", sigma=1))

    priors = {"Intercept": bmb.Prior("Normal", mu=0, sigma=2.5),
              "x": bmb.Prior("Normal", mu=0, sigma=2.5), "1|g": sd(), "x|g": sd()}
    model = bmb.Model("y ~ x + (1 + x | g)", frame, family="bernoulli", priors=priors)
    idata = model.fit(draws=config["draws"], tune=config["warmup"], chains=config["chains"],
                      inference_method=method, random_seed=1, progressbar=False)
    posterior, stats = idata.posterior, idata.sample_stats
    out = {p: np.asarray(posterior[p]) for p in PARAMS}
    steps = (stats["n_steps"] if "n_steps" in stats else 2 ** stats["tree_depth"] - 1)
    return dict(out, n_steps=np.asarray(steps), step_size=np.asarray(stats["step_size"]))


def _worker(system: str, data_path: str, config: dict, out: str) -> None:
    import resource
    import warnings

    import pandas as pd

    warnings.filterwarnings("ignore")
    with np.load(data_path) as content:
        frame = pd.DataFrame({k: content[k] for k in ("y", "x", "g")})
    def cpu() -> float:
        return sum(r.ru_utime + r.ru_stime for r in (resource.getrusage(resource.RUSAGE_SELF),
                                                     resource.getrusage(resource.RUSAGE_CHILDREN)))

    start, cpu_start = time.perf_counter(), cpu()
    if system.startswith("tfstats"):
        method = system.removeprefix("tfstats-")
        precision = method if method in ("single", "double") else None  # None: the default
        draws = _tfstats(frame, config, precision,
                         method if method in ("parallel", "vectorized") else None)
    else:
        method = {"bambi-pymc": "pymc", "bambi-nutpie": "nutpie", "bambi-numpyro": "numpyro",
                  "bambi-numpyro-single": "numpyro"}[system]
        draws = _bambi(frame, config, method)
    seconds, cpu_seconds = time.perf_counter() - start, cpu() - cpu_start
    np.savez(out, seconds=seconds, cpu_seconds=cpu_seconds, **draws)


# --- driver ------------------------------------------------------------------------------------

def _min_ess(draws: dict[str, np.ndarray]) -> float:
    from arviz_stats.base import array_stats

    return float(min(np.min(array_stats.ess(np.reshape(draws[p], draws[p].shape[:2] + (-1,)),
                                            chain_axis=0, draw_axis=1, method="bulk"))
                     for p in PARAMS))


def _run(system: str, python: str, data_path: str, config: dict, tmp: str) -> dict:
    out = os.path.join(tmp, f"{system}.npz")
    load = os.getloadavg()[0]
    code = (f"import sys, json; sys.path.insert(0, {str(HERE)!r}); import bench_formulas as b; "
            f"b._worker({system!r}, {data_path!r}, json.loads({json.dumps(config)!r}), "
            f"{out!r})")
    tfstats = system.startswith("tfstats")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        [str(HERE.parent)] + ([os.environ["PYTHONPATH"]] if "PYTHONPATH" in os.environ
                              and tfstats else [])))
    if tfstats:  # compile from scratch, as bambi's samplers do
        env["TFSTATS_COMPILATION_CACHE"] = "0"
    if system.endswith("-single") and not tfstats:
        env["PYTENSOR_FLAGS"] = "floatX=float32"
    result = subprocess.run([python, "-c", code], capture_output=True, text=True, env=env,
                            timeout=3600)
    if result.returncode != 0:
        return {"system": system, "error": result.stderr.strip().splitlines()[-1:]}
    with np.load(out) as content:
        seconds, cpu_seconds = float(content["seconds"]), float(content["cpu_seconds"])
        draws = {p: content[p] for p in PARAMS}
        steps, step_size = content["n_steps"], content["step_size"]
    ess = _min_ess(draws)
    means = {p: float(np.mean(draws[p])) for p in PARAMS}
    return {"system": system, "seconds": seconds, "cpu_seconds": cpu_seconds,
            "min_ess_bulk": ess, "ess_per_second": ess / seconds,
            "leapfrogs_per_draw": float(np.mean(steps)), "step_size": float(np.mean(step_size)),
            "load_before": load, "load_after": os.getloadavg()[0], "means": means}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="tiny settings: a smoke test")
    parser.add_argument("--bambi-python", default=os.environ.get("BAMBI_PYTHON"),
                        help="a Python with bambi, nutpie and numpyro installed")
    parser.add_argument("--systems", default=",".join(SYSTEMS),
                        help=f"comma-separated, from {SYSTEMS + VARIANTS}")
    for key in ("n", "groups", "chains", "warmup", "draws"):
        parser.add_argument(f"--{key}", type=int, help=f"override the setting {key!r}")
    args = parser.parse_args(argv)
    config = settings(args.quick)
    config.update({k: getattr(args, k) for k in config if getattr(args, k) is not None})
    data = simulate(config["n"], config["groups"])
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        data_path = os.path.join(tmp, "data.npz")
        np.savez(data_path, **data)
        for system in args.systems.split(","):
            if system not in SYSTEMS + VARIANTS:
                parser.error(f"unknown system {system!r}; choose from {SYSTEMS + VARIANTS}")
            python = sys.executable if system.startswith("tfstats") else args.bambi_python
            if python is None:
                print(f"skipping {system}: no --bambi-python / $BAMBI_PYTHON", flush=True)
                continue
            rows.append(_run(system, python, data_path, config, tmp))
            if system.startswith("tfstats"):  # TFSTATS_BACKEND=jax runs it on JAX
                rows[-1]["system"] += f" ({os.environ.get('TFSTATS_BACKEND', 'tensorflow')})"
            print(json.dumps(rows[-1]), flush=True)
    if not args.quick:  # rows of earlier runs with the same settings are kept, by system
        RESULTS.parent.mkdir(exist_ok=True)
        old = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
        kept = old.get("results", []) if old.get("settings") == config else []
        kept = [row for row in kept if "cpu_seconds" in row or "error" in row]  # this format
        names = {row["system"] for row in rows}
        rows = [row for row in kept if row["system"] not in names] + rows
        RESULTS.write_text(json.dumps({"settings": config, "results": rows}, indent=1))
    print(f"\nsettings: {config}")
    print(table(rows))
    return 0


def table(rows: list[dict]) -> str:
    """The rows as a markdown table, with each ESS/s as a ratio to the fastest bambi's."""
    bambi = [r["ess_per_second"] for r in rows if r["system"].startswith("bambi")
             and "error" not in r]
    best = max(bambi) if bambi else None
    lines = ["| system | seconds (compile included) | CPU seconds | leapfrogs per draw | "
             "step size | min bulk ESS | ESS/s | ratio to bambi's fastest | ESS per CPU second | "
             "load before/after |", "|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        if "error" in r:
            lines.append(f"| {r['system']} | failed: {r['error']} | | | | | | | | |")
            continue
        ratio = f"{r['ess_per_second'] / best:.2f}x" if best else ""
        lines.append(f"| {r['system']} | {r['seconds']:.1f} | {r['cpu_seconds']:.1f} | "
                     f"{r['leapfrogs_per_draw']:.1f} | {r['step_size']:.3f} | "
                     f"{r['min_ess_bulk']:.0f} | {r['ess_per_second']:.2f} | {ratio} | "
                     f"{r['min_ess_bulk'] / r['cpu_seconds']:.1f} | "
                     f"{r['load_before']:.1f} / {r['load_after']:.1f} |")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
