"""Chains across devices against vectorised chains, on the MCMC benchmark's workloads.

Every run is a fresh process with ``XLA_FLAGS=--xla_force_host_platform_device_count=4``
(four CPU devices on however many cores the machine has) and the JAX backend, with the
persistent compilation cache off, so that each figure is one first call: model building,
compilation and sampling. The workloads (eight schools and the logistic regression, with
their data, chains, warmup and draws) and the ESS (minimum bulk ESS over the sampled
parameters, arviz-stats) are ``mcmc_systems``'s, as in ``bench_mcmc.py``.

Systems: tfstats on JAX with the chains vectorised on one device (``devices=1``), spread
over the four devices (``devices=None``, ``shard="chains"``) and with all chains on every
device and the data's rows split over them (``shard="data"``); NumPyro with
``chain_method="vectorized"`` and ``"parallel"`` for reference.

Usage::

    python benchmarks/bench_devices.py                      # both workloads, every system
    python benchmarks/bench_devices.py --workloads eight_schools --quick
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

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from mcmc_systems import (  # noqa: E402 - the benchmark's own modules, beside this file
    min_bulk_ess,
    numpyro_model,
    settings,
    tfstats_model,
    workload_data,
)

__all__ = ["main", "SYSTEMS"]

RESULTS = HERE / "results" / "devices.json"
WORKLOADS = ("eight_schools", "logistic")
#: system -> (runner, option)
SYSTEMS: dict[str, tuple[str, Any]] = {
    "tfstats-jax vectorised (devices=1)": ("tfstats", {"devices": 1}),
    "tfstats-jax chains on 4 devices": ("tfstats", {}),
    "tfstats-jax data on 4 devices": ("tfstats", {"shard": "data"}),
    "numpyro vectorized": ("numpyro", "vectorized"),
    "numpyro parallel": ("numpyro", "parallel"),
}


def _tfstats(workload: str, data: dict, cfg: dict, options: dict) -> tuple[dict, int]:
    import tfstats as ts

    model = tfstats_model(ts, workload, data, "double")
    draws = ts.mcmc(model, n_samples=cfg["draws"], warmup=cfg["warmup"],
                    chains=cfg["chains"], seed=1, progress=False, **options)
    return {k: draws[k] for k in draws.targets}, int(draws.divergences)


def _numpyro(workload: str, data: dict, cfg: dict, method: str) -> tuple[dict, int]:
    import jax
    import jax.numpy as jnp
    import numpy as np
    from numpyro.infer import MCMC, NUTS

    names = ("y", "sigma") if workload == "eight_schools" else ("x", "y")
    args = tuple(jnp.asarray(data[k], jnp.float32) for k in names)
    mcmc = MCMC(NUTS(numpyro_model(workload)), num_warmup=cfg["warmup"],
                num_samples=cfg["draws"], num_chains=cfg["chains"], chain_method=method,
                progress_bar=False, jit_model_args=True)
    mcmc.run(jax.random.PRNGKey(1), *args, extra_fields=("diverging",))
    draws = {k: np.asarray(v) for k, v in mcmc.get_samples(group_by_chain=True).items()}
    return draws, int(np.sum(mcmc.get_extra_fields()["diverging"]))


def _worker(system: str, workload: str, quick: bool) -> dict[str, Any]:
    runner, option = SYSTEMS[system]
    cfg = settings(workload, quick)
    data = workload_data(workload, quick)
    if runner == "tfstats":
        import tfstats.backends

        tfstats.backends.get_backend()  # imports are not part of the call
    else:
        import numpyro  # noqa: F401
    import jax

    load = os.getloadavg()
    start = time.perf_counter()
    if runner == "tfstats":
        draws, divergences = _tfstats(workload, data, cfg, option)
    else:
        draws, divergences = _numpyro(workload, data, cfg, option)
    seconds = time.perf_counter() - start
    ess = min_bulk_ess(draws)
    return {"system": system, "workload": workload, "devices": jax.device_count(),
            "seconds": seconds, "min_bulk_ess": ess, "ess_per_s": ess / seconds,
            "divergences": divergences, "loadavg_before": load,
            "loadavg_after": os.getloadavg(), **cfg}


def _run(system: str, workload: str, quick: bool, timeout: float) -> dict[str, Any]:
    env = {**os.environ, "XLA_FLAGS": "--xla_force_host_platform_device_count=4",
           "TFSTATS_BACKEND": "jax", "TFSTATS_COMPILATION_CACHE": "0",
           "PYTHONPATH": str(HERE.parent)}
    command = [sys.executable, str(Path(__file__).resolve()), "--worker", system,
               "--workloads", workload] + (["--quick"] if quick else [])
    try:
        done = subprocess.run(command, env=env, capture_output=True, text=True,
                              timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        return {"system": system, "workload": workload, "error": f"timed out ({timeout} s)"}
    lines = done.stdout.strip().splitlines()
    if done.returncode or not lines:
        return {"system": system, "workload": workload, "error": done.stderr[-1500:]}
    return json.loads(lines[-1])


def table(results: list[dict]) -> str:
    lines = ["| workload | system | devices | first call (s) | min bulk ESS | ESS/s "
             "| divergences |", "|---|---|---:|---:|---:|---:|---:|"]
    for r in results:
        if "error" in r:
            lines.append(f"| {r['workload']} | {r['system']} | | failed | | | |")
            continue
        lines.append(f"| {r['workload']} | {r['system']} | {r['devices']} "
                     f"| {r['seconds']:.1f} | {r['min_bulk_ess']:.0f} "
                     f"| {r['ess_per_s']:.1f} | {r['divergences']} |")
    return "\n".join(lines)


def _uptime() -> str:
    return subprocess.run(["uptime"], capture_output=True, text=True,
                          check=False).stdout.strip()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workloads", default=",".join(WORKLOADS))
    parser.add_argument("--systems", default="all", help="comma-separated system names")
    parser.add_argument("--quick", action="store_true", help="tiny settings: a smoke test")
    parser.add_argument("--timeout", type=float, default=1200.0, help="seconds per run")
    parser.add_argument("--output", type=Path, default=RESULTS)
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    workloads = [w for w in args.workloads.split(",") if w]
    if args.worker:
        print(json.dumps(_worker(args.worker, workloads[0], args.quick), default=float))
        return 0
    systems = list(SYSTEMS) if args.systems == "all" else args.systems.split(",")
    unknown = [s for s in systems if s not in SYSTEMS] + [w for w in workloads
                                                           if w not in WORKLOADS]
    if unknown:
        parser.error(f"unknown {unknown}; systems: {list(SYSTEMS)}, workloads: {WORKLOADS}")
    before = _uptime()
    print(f"# devices benchmark: {before}", flush=True)
    results = []
    for workload in workloads:
        for system in systems:
            if workload == "eight_schools" and "data" in system:
                continue  # its 8 values are constants of the program: nothing to split
            results.append(_run(system, workload, args.quick, args.timeout))
            r = results[-1]
            said = r["error"][:200] if "error" in r else f"{r['ess_per_s']:.1f} ESS/s"
            print(f"{workload} / {system}: {said} (load {os.getloadavg()[0]:.1f})",
                  file=sys.stderr, flush=True)
    after = _uptime()
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps({"command": " ".join(["python", *sys.argv]),
                                       "uptime_before": before, "uptime_after": after,
                                       "cpus": os.cpu_count(), "results": results},
                                      indent=1, default=float))
    print(f"\n{table(results)}\n\nuptime before: {before}\nuptime after:  {after}")
    return 1 if any("error" in r for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
