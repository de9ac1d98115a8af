"""First-call latency: eight schools NUTS 4 x (1000 + 1000), on TensorFlow and on JAX.

Per backend, two fresh processes share one new persistent compilation cache directory
(``TFSTATS_COMPILATION_CACHE``, which also switches TensorFlow's cache on): the first
finds it empty (cold), the second finds the first's programs (warm). Each process times

- ``first``: building the model and its first ``ts.mcmc`` call (tracing and compilation
  included), from a process where tfstats is already imported;
- ``rebuilt``: the same model code run again (new arrays, same structure: a re-run
  notebook cell) and its first ``ts.mcmc`` call;
- ``steady``: two more calls on the rebuilt model (nothing left to compile), the faster,

and reports the time before sampling starts as the call minus ``steady`` (which also
counts what the first call does once after sampling: importing the diagnostics' library,
tracing the draws' constraining), and, for the first call, the time until its first
chunk of iterations that samples starts (parallel chains, the default on a CPU:
``to first chunk``).

Usage::

    python benchmarks/bench_latency.py                     # both backends
    python benchmarks/bench_latency.py --backends jax
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

__all__ = ["main"]

Y = [28.0, 8.0, -3.0, 7.0, -1.0, 1.0, 18.0, 12.0]
SIGMA = [15.0, 10.0, 16.0, 11.0, 9.0, 11.0, 10.0, 18.0]


def _eight_schools(ts: object) -> object:
    import numpy as np

    mu = ts.normal(0, 5)
    tau = ts.cauchy(0, 5, truncation=(0, None))
    theta_tilde = ts.normal(0, 1, dim=8)
    ts.normal(mu + tau * theta_tilde, np.array(SIGMA), observed=np.array(Y))
    return ts.model(mu=mu, tau=tau, theta_tilde=theta_tilde)


def _worker() -> None:
    start = time.perf_counter()
    import tfstats as ts
    from tfstats.backends import get_backend

    get_backend()
    imported = time.perf_counter() - start
    from tfstats.inference import mcmc as mcmc_module

    sampling: list[float] = []
    run_parallel = mcmc_module.run_parallel

    def timed(model: object, runner: object, *args: object, **kwargs: object) -> object:
        def call(*chunk: object) -> object:  # chunk[4]: its iterations
            if not sampling and int(chunk[4]) > 0:
                sampling.append(time.perf_counter())
            return runner(*chunk)

        return run_parallel(model, call, *args, **kwargs)

    mcmc_module.run_parallel = timed

    def fit(seed: int, model: object = None) -> tuple[float, object]:
        t0 = time.perf_counter()
        m = model if model is not None else _eight_schools(ts)
        ts.mcmc(m, n_samples=1000, warmup=1000, chains=4, seed=seed, progress=False)
        return time.perf_counter() - t0, m

    called = time.perf_counter()
    first, _ = fit(1)
    to_chunk = sampling[0] - called if sampling else float("nan")
    rebuilt, m = fit(2)
    steady = min(fit(seed, m)[0] for seed in (3, 4))
    print(json.dumps({"import": imported, "first": first, "rebuilt": rebuilt,
                      "steady": steady, "to_chunk": to_chunk}))


def _run(backend: str, cache: str) -> dict:
    env = dict(os.environ, TFSTATS_BACKEND=backend, TFSTATS_COMPILATION_CACHE=cache)
    out = subprocess.run([sys.executable, __file__, "--worker"], env=env, check=True,
                         capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backends", default="tensorflow,jax")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        _worker()
        return
    print("| backend | process | import (s) | first call (s) | before sampling (s) | "
          "to first chunk (s) | rebuilt model (s) | before sampling (s) | steady call (s) |")
    print("|---|---|---|---|---|---|---|---|---|")
    for backend in args.backends.split(","):
        with tempfile.TemporaryDirectory() as cache:
            for label in ("cold cache", "warm cache"):
                r = _run(backend, cache)
                print(f"| {backend} | {label} | {r['import']:.1f} | {r['first']:.2f} | "
                      f"{r['first'] - r['steady']:.2f} | {r['to_chunk']:.2f} | "
                      f"{r['rebuilt']:.2f} | "
                      f"{r['rebuilt'] - r['steady']:.2f} | {r['steady']:.2f} |", flush=True)


if __name__ == "__main__":
    main()
