"""Formula benchmark: ``ts.glm`` against bambi (PyMC's NUTS, nutpie, NumPyro) on the same
data and priors.

Workload: a varying-intercept, varying-slope logistic regression,
``y ~ x + (1 + x | g)``, simulated with a fixed seed (N = 20,000 rows, 200 groups;
4 chains x (1000 warmup + 1000 draws)); ``--quick``: N = 2,000, 20 groups, 2 x (200 + 200).
Priors on both sides: ``Intercept, x ~ normal(0, 2.5)``, each group sd ``~ half_normal(1)``,
non-centred group effects, uncorrelated intercept and slope (bambi's default).

Each system runs in its own subprocess (its imports and thread pools stay its own), once,
timed from model building to draws (compilation included). The minimum bulk ESS
(arviz-stats, rank-normalised) over ``Intercept``, ``x`` and the two group sds is divided
by that time. bambi conflicts with tfstats' formulae version, so it lives in its own
environment: ``--bambi-python PATH`` (default ``$BAMBI_PYTHON``); without one, only
tfstats runs. Results go to ``benchmarks/results/formulas.json``; a table to stdout.

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

__all__ = ["main", "simulate"]

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results" / "formulas.json"
PARAMS = ("Intercept", "x", "1|g_sigma", "x|g_sigma")
SYSTEMS = ("tfstats", "bambi-pymc", "bambi-nutpie", "bambi-numpyro")


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

def _tfstats(frame: object, config: dict) -> dict[str, np.ndarray]:
    import tfstats as ts

    priors = {"Intercept": ("normal", 0, 2.5), "x": ("normal", 0, 2.5),
              "1|g_sigma": ("half_normal", 1), "x|g_sigma": ("half_normal", 1)}
    m = ts.glm("y ~ x + (1 + x | g)", frame, family="bernoulli", priors=priors,
               correlated=False)  # bambi's model: independent intercept and slope
    draws = ts.mcmc(m, n_samples=config["draws"], warmup=config["warmup"],
                    chains=config["chains"], seed=1, progress=False)
    return {p: draws[p] for p in PARAMS}


def _bambi(frame: object, config: dict, method: str) -> dict[str, np.ndarray]:
    import bambi as bmb

    def sd() -> object:
        return bmb.Prior("Normal", mu=0, sigma=bmb.Prior("HalfNormal", sigma=1))

    priors = {"Intercept": bmb.Prior("Normal", mu=0, sigma=2.5),
              "x": bmb.Prior("Normal", mu=0, sigma=2.5), "1|g": sd(), "x|g": sd()}
    model = bmb.Model("y ~ x + (1 + x | g)", frame, family="bernoulli", priors=priors)
    idata = model.fit(draws=config["draws"], tune=config["warmup"], chains=config["chains"],
                      inference_method=method, random_seed=1, progressbar=False)
    posterior = idata.posterior
    return {p: np.asarray(posterior[p]) for p in PARAMS}


def _worker(system: str, data_path: str, config: dict, out: str) -> None:
    import warnings

    import pandas as pd

    warnings.filterwarnings("ignore")
    with np.load(data_path) as content:
        frame = pd.DataFrame({k: content[k] for k in ("y", "x", "g")})
    start = time.perf_counter()
    if system == "tfstats":
        draws = _tfstats(frame, config)
    else:
        method = {"bambi-pymc": "pymc", "bambi-nutpie": "nutpie",
                  "bambi-numpyro": "numpyro"}[system]
        draws = _bambi(frame, config, method)
    seconds = time.perf_counter() - start
    np.savez(out, seconds=seconds, **draws)


# --- driver ------------------------------------------------------------------------------------

def _min_ess(draws: dict[str, np.ndarray]) -> float:
    from arviz_stats.base import array_stats

    return float(min(np.min(array_stats.ess(np.reshape(draws[p], draws[p].shape[:2] + (-1,)),
                                            chain_axis=0, draw_axis=1, method="bulk"))
                     for p in PARAMS))


def _run(system: str, python: str, data_path: str, config: dict, tmp: str) -> dict:
    out = os.path.join(tmp, f"{system}.npz")
    code = (f"import sys, json; sys.path.insert(0, {str(HERE)!r}); import bench_formulas as b; "
            f"b._worker({system!r}, {data_path!r}, json.loads({json.dumps(config)!r}), "
            f"{out!r})")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        [str(HERE.parent)] + ([os.environ["PYTHONPATH"]] if "PYTHONPATH" in os.environ
                              and system == "tfstats" else [])))
    result = subprocess.run([python, "-c", code], capture_output=True, text=True, env=env,
                            timeout=3600)
    if result.returncode != 0:
        return {"system": system, "error": result.stderr.strip().splitlines()[-1:]}
    with np.load(out) as content:
        seconds = float(content["seconds"])
        draws = {p: content[p] for p in PARAMS}
    ess = _min_ess(draws)
    means = {p: float(np.mean(draws[p])) for p in PARAMS}
    return {"system": system, "seconds": seconds, "min_ess_bulk": ess,
            "ess_per_second": ess / seconds, "means": means}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="tiny settings: a smoke test")
    parser.add_argument("--bambi-python", default=os.environ.get("BAMBI_PYTHON"),
                        help="a Python with bambi, nutpie and numpyro installed")
    parser.add_argument("--systems", default=",".join(SYSTEMS))
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
            python = sys.executable if system == "tfstats" else args.bambi_python
            if python is None:
                print(f"skipping {system}: no --bambi-python / $BAMBI_PYTHON", flush=True)
                continue
            rows.append(_run(system, python, data_path, config, tmp))
            if system == "tfstats":  # TFSTATS_BACKEND=jax runs it on JAX
                rows[-1]["system"] += f" ({os.environ.get('TFSTATS_BACKEND', 'tensorflow')})"
            print(json.dumps(rows[-1]), flush=True)
    RESULTS.parent.mkdir(exist_ok=True)
    if not args.quick:
        RESULTS.write_text(json.dumps({"settings": config, "results": rows}, indent=1))
    print(f"\nsettings: {config}")
    print("\n| system | seconds (compile included) | min bulk ESS | ESS/s |\n|---|---|---|---|")
    for row in rows:
        if "error" in row:
            print(f"| {row['system']} | failed: {row['error']} | | |")
        else:
            print(f"| {row['system']} | {row['seconds']:.1f} | {row['min_ess_bulk']:.0f} | "
                  f"{row['ess_per_second']:.1f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
