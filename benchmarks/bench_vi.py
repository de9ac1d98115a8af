"""Mean-field VI on a Bayesian logistic regression: tfstats (TF and JAX) against NumPyro
SVI (``AutoNormal``) and PyMC ADVI; and minibatch VI from a CSV file, with its peak memory.

Model: ``intercept, coef[1..D] ~ normal(0, 2)``, ``y ~ bernoulli(ilogit(intercept + X @
coef))``, N rows (default 1,000,000) and D = 20. Each system runs in its own process
(clean imports, its own peak memory) and stops by the same rule as ``ts.vi``: the mean
ELBO of 100 steps changes by less than 1e-4 of its size from the 100 before (NumPyro has
no stopping rule, so its loop is run in chunks of 100 steps to apply it; PyMC uses it
through a callback), or after ``--max-steps``. Reported: wall time to the stop (model
building and compilation included), steps, the final ELBO (mean of the last 100
estimates), and the largest error of the posterior means against the Laplace
approximation (mode and inverse Hessian, exact enough at this N), in posterior sds.
Learning rates are each system's defaults for its own method (tfstats: Adam 0.01 in
whitened coordinates from the Laplace start; NumPyro: Adam 0.01 from its default start
with ``init_scale=0.1``; PyMC: ``pm.fit``'s adagrad_window 0.001).

The CSV part writes ``--csv-mb`` megabytes of rows, then fits the same model with
``ts.minibatch`` over the file (batch 10,000) in a child process and reports its peak
RSS and the coefficients' error against the MAP of every row of the file (Newton's method
over the blocks the file was written from), in posterior sds of that MAP.

Run: ``.venv/bin/python benchmarks/bench_vi.py [--rows 1000000] [--pymc-rows 200000]
[--csv-mb 2000] [--csv-backend tensorflow,jax]``
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402

D = 20
WINDOW, TOLERANCE = 100, 1e-4


def make_data(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, D))
    coef = np.random.default_rng(0).normal(scale=0.5, size=D)  # the same for every block
    y = (rng.uniform(size=n) < 1 / (1 + np.exp(-(0.3 + X @ coef)))).astype(np.float64)
    return X, y


def laplace(X: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mode and sds of the Laplace approximation (intercept first)."""
    from scipy.optimize import minimize

    Z = np.column_stack([np.ones(len(y)), X])

    def f(w: np.ndarray) -> tuple[float, np.ndarray]:
        eta = Z @ w
        nll = np.sum(np.logaddexp(0, eta) - y * eta) + w @ w / 8
        return nll, Z.T @ (1 / (1 + np.exp(-eta)) - y) + w / 4

    mode = minimize(f, np.zeros(D + 1), jac=True, method="L-BFGS-B",
                    options={"gtol": 1e-10, "ftol": 1e-15, "maxiter": 1000}).x
    p = 1 / (1 + np.exp(-(Z @ mode)))
    hessian = (Z * (p * (1 - p))[:, None]).T @ Z + np.eye(D + 1) / 4
    return mode, np.sqrt(np.diag(np.linalg.inv(hessian)))


def converged(elbo: list[float]) -> bool:
    if len(elbo) < 2 * WINDOW:
        return False
    last, before = np.mean(elbo[-WINDOW:]), np.mean(elbo[-2 * WINDOW:-WINDOW])
    return abs(last - before) < TOLERANCE * abs(last)


# --- the systems (each in a child process) -----------------------------------------------------

def run_tfstats(X: np.ndarray, y: np.ndarray, max_steps: int) -> dict:
    import tfstats as ts

    a = ts.normal(0, 2)
    b = ts.normal(0, 2, dim=D)
    ts.bernoulli(ts.ilogit(a + X @ b), observed=y)
    fit = ts.vi(ts.model(a=a, b=b), steps=max_steps, tolerance=TOLERANCE, seed=1,
                progress=False)
    mean = np.r_[fit.loc]  # the unconstrained scale is the constrained one here
    return {"steps": fit.steps, "elbo": float(fit.elbo[-WINDOW:].mean()), "mean": mean}


def run_numpyro(X: np.ndarray, y: np.ndarray, max_steps: int) -> dict:
    import jax
    import jax.numpy as jnp
    import numpyro
    import numpyro.distributions as dist
    from numpyro.infer import SVI, Trace_ELBO
    from numpyro.infer.autoguide import AutoNormal

    jax.config.update("jax_enable_x64", True)

    def model(X: jnp.ndarray, y: jnp.ndarray) -> None:
        a = numpyro.sample("a", dist.Normal(0.0, 2.0))
        b = numpyro.sample("b", dist.Normal(0.0, 2.0).expand([D]).to_event(1))
        numpyro.sample("y", dist.Bernoulli(logits=a + X @ b), obs=y)

    guide = AutoNormal(model)
    svi = SVI(model, guide, numpyro.optim.Adam(0.01), Trace_ELBO())
    X_j, y_j = jnp.asarray(X), jnp.asarray(y)
    state = svi.init(jax.random.PRNGKey(1), X_j, y_j)

    @jax.jit
    def chunk(state: object, X: jnp.ndarray, y: jnp.ndarray) -> tuple:
        def body(i: int, carry: tuple) -> tuple:
            state, losses = carry
            state, loss = svi.update(state, X, y)
            return state, losses.at[i].set(loss)

        return jax.lax.fori_loop(0, WINDOW, body, (state, jnp.zeros(WINDOW)))

    elbo: list[float] = []
    while len(elbo) < max_steps and not converged(elbo):
        state, losses = chunk(state, X_j, y_j)
        elbo.extend((-np.asarray(losses)).tolist())
    params = svi.get_params(state)
    mean = np.r_[np.asarray(params["a_auto_loc"]), np.asarray(params["b_auto_loc"])]
    return {"steps": len(elbo), "elbo": float(np.mean(elbo[-WINDOW:])), "mean": mean}


def run_pymc(X: np.ndarray, y: np.ndarray, max_steps: int) -> dict:
    import pymc as pm

    class RelativeElbo:  # the same stopping rule, as a pm.fit callback
        def __call__(self, approx: object, losses: np.ndarray, i: int) -> None:
            if (i + 1) % WINDOW == 0 and converged(list(-np.asarray(losses))):
                raise StopIteration

    with pm.Model():
        a = pm.Normal("a", 0, 2)
        b = pm.Normal("b", 0, 2, shape=D)
        pm.Bernoulli("y", logit_p=a + pm.math.dot(X, b), observed=y)
        approx = pm.fit(n=max_steps, method="advi", random_seed=1, progressbar=False,
                        callbacks=[RelativeElbo()])
    posterior = approx.sample(4000, random_seed=1).posterior
    mean = np.r_[float(posterior["a"].mean()), posterior["b"].mean(("chain", "draw")).values]
    return {"steps": len(approx.hist), "elbo": float(-np.mean(approx.hist[-WINDOW:])),
            "mean": mean}


def run_csv(path: str, n_rows: int, max_steps: int, batch_size: int,
            learning_rate: float) -> dict:
    import tfstats as ts

    X_b, y_b = ts.minibatch(path, batch_size=batch_size, columns=[[f"x{j}" for j in range(D)],
                                                              "y"], n_rows=n_rows, seed=1)
    a = ts.normal(0, 2)
    b = ts.normal(0, 2, dim=D)
    ts.bernoulli(ts.ilogit(a + X_b @ b), observed=y_b)
    fit = ts.vi(ts.model(a=a, b=b), steps=max_steps, tolerance=1e-12, seed=1, progress=False,
                learning_rate=learning_rate)
    return {"steps": fit.steps, "elbo": float(fit.elbo[-WINDOW:].mean()), "mean": fit.loc}


SYSTEMS = {"tfstats-tf": run_tfstats, "tfstats-jax": run_tfstats, "numpyro": run_numpyro,
           "pymc": run_pymc}


def child(system: str, rows: int, max_steps: int, csv: str | None, batch_size: int,
          learning_rate: float) -> None:
    import resource

    start = time.perf_counter()
    if csv:
        out = run_csv(csv, rows, max_steps, batch_size, learning_rate)
    else:
        X, y = make_data(rows)
        start = time.perf_counter()  # data generation is not the system's time
        out = SYSTEMS[system](X, y, max_steps)
    out["seconds"] = time.perf_counter() - start
    out["peak_rss_mb"] = _peak_rss_mb(resource)
    out["mean"] = np.asarray(out["mean"], np.float64).tolist()
    print("RESULT " + json.dumps(out))


def _peak_rss_mb(resource: object) -> float:
    """This process's peak resident size: ``VmHWM`` (``ru_maxrss`` after ``exec`` keeps
    the parent's peak on Linux, so a child of a large parent would report the parent's)."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def spawn(system: str, rows: int, max_steps: int, csv: str | None = None,
          batch_size: int = 10_000, learning_rate: float = 0.01) -> dict:
    backend = "jax" if system in ("tfstats-jax", "csv-jax") else "tensorflow"
    env = dict(os.environ, TFSTATS_BACKEND=backend, PYTHONPATH=os.getcwd())
    command = [sys.executable, __file__, "--child", system, "--rows", str(rows),
               "--max-steps", str(max_steps), "--csv-batch", str(batch_size),
               "--csv-learning-rate", str(learning_rate)] + (
                   ["--csv", csv] if csv else [])
    done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=3600)
    lines = [ln for ln in done.stdout.splitlines() if ln.startswith("RESULT ")]
    if not lines:
        return {"error": done.stderr[-800:]}
    return json.loads(lines[-1][7:])


def write_csv(path: str, megabytes: int, block: int = 100_000) -> int:
    """Rows of (x0..x19, y), blocks of ``make_data(block, seed)`` for seeds 1, 2, ..., until
    the file holds ``megabytes``; returns the row count."""
    import pandas as pd

    rows, seed = 0, 1
    with open(path, "w") as handle:
        handle.write(",".join([f"x{j}" for j in range(D)] + ["y"]) + "\n")
        while handle.tell() < megabytes * 1e6:
            X, y = make_data(block, seed)
            seed += 1
            frame = pd.DataFrame(X, columns=[f"x{j}" for j in range(D)]).assign(y=y)
            handle.write(frame.to_csv(index=False, header=False, float_format="%.6g"))
            rows += block
    return rows


def laplace_of_blocks(rows: int, block: int = 100_000) -> tuple[np.ndarray, np.ndarray]:
    """Mode and sds of the Laplace approximation over ALL the rows ``write_csv`` wrote,
    by Newton's method with the gradient and Hessian summed block by block (the blocks
    are made again from their seeds, so the whole data are never held; the file's
    6-digit rounding moves the mode by about 1e-6 of a posterior sd). Newton's steps on
    the first block alone give the start."""
    w = np.zeros(D + 1)
    for seeds in (range(1, 2), range(1, rows // block + 1)):
        for _ in range(50):
            gradient, hessian = w / 4, np.eye(D + 1) / 4  # the normal(0, 2) priors
            for seed in seeds:
                X, y = make_data(block, seed)
                Z = np.column_stack([np.ones(block), X])
                p = 1 / (1 + np.exp(-(Z @ w)))
                gradient += Z.T @ (p - y)
                hessian += (Z * (p * (1 - p))[:, None]).T @ Z
            step = np.linalg.solve(hessian, gradient)
            w -= step
            sd = np.sqrt(np.diag(np.linalg.inv(hessian)))
            if np.max(np.abs(step) / sd) < 1e-6:
                break
    return w, sd


def _load() -> str:
    return open("/proc/loadavg").read().split()[0] if os.path.exists("/proc/loadavg") else "?"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--pymc-rows", type=int, default=None,
                        help="rows for PyMC's run, if fewer (it is the slowest by far)")
    parser.add_argument("--max-steps", type=int, default=10_000)
    parser.add_argument("--csv-mb", type=int, default=2000)
    parser.add_argument("--csv-steps", type=int, default=3000)
    parser.add_argument("--csv-batch", type=int, default=10_000)
    parser.add_argument("--csv-learning-rate", type=float, default=0.01)
    parser.add_argument("--csv-backend", default="tensorflow",
                        help="tensorflow, jax, or both (comma-separated): one fit each")
    parser.add_argument("--systems", default="tfstats-tf,tfstats-jax,numpyro,pymc")
    parser.add_argument("--child")
    parser.add_argument("--csv")
    args = parser.parse_args()
    if args.child:
        child(args.child, args.rows, args.max_steps, args.csv, args.csv_batch,
              args.csv_learning_rate)
        return
    references = {}
    print(f"logistic regression, D = {D}; mean-field VI to convergence (load average "
          f"{_load()} at the start)")
    print(f"{'system':>12} {'rows':>9} {'seconds':>8} {'steps':>6} {'final ELBO':>14} "
          f"{'max |mean - Laplace| / sd':>26} {'peak RSS MB':>12}")
    for system in filter(None, args.systems.split(",")):
        rows = args.pymc_rows if system == "pymc" and args.pymc_rows else args.rows
        if rows not in references:
            X, y = make_data(rows)
            references[rows] = laplace(X, y)
            del X, y
        mode, sd = references[rows]
        out = spawn(system, rows, args.max_steps)
        if "error" in out:
            print(f"{system:>12} failed: {out['error']}")
            continue
        error = np.max(np.abs(np.asarray(out["mean"]) - mode) / sd)
        print(f"{system:>12} {rows:9,d} {out['seconds']:8.1f} {out['steps']:6d} "
              f"{out['elbo']:14.1f} {error:26.3f} {out['peak_rss_mb']:12.0f}", flush=True)
    if args.csv_mb <= 0:
        return
    path = os.path.join(tempfile.mkdtemp(), "rows.csv")
    try:
        rows = write_csv(path, args.csv_mb)
        size = os.path.getsize(path) / 1e6
        outs = {backend: spawn("csv-jax" if backend == "jax" else "csv", rows, args.csv_steps,
                               path, args.csv_batch, args.csv_learning_rate)
                for backend in args.csv_backend.split(",")}
        mode, sd = laplace_of_blocks(rows)  # every row of the file: the same data
        for backend, out in outs.items():
            if "error" in out:
                print(f"CSV minibatch ({backend}) failed: {out['error']}")
                continue
            error = (np.asarray(out["mean"]) - mode) / sd
            print(f"minibatch VI ({backend}) from a {size:.0f} MB CSV ({rows:,} rows, batch "
                  f"{args.csv_batch:,}, learning rate {args.csv_learning_rate}, "
                  f"{out['steps']} steps): {out['seconds']:.1f} s, peak RSS "
                  f"{out['peak_rss_mb']:.0f} MB; |mean - MAP of all {rows:,} rows| in "
                  f"posterior sds: largest {np.max(np.abs(error)):.3f}, root mean square "
                  f"{np.sqrt(np.mean(error**2)):.3f}", flush=True)
    finally:
        os.remove(path)
        os.rmdir(os.path.dirname(path))
    print(f"load average {_load()} at the end")


if __name__ == "__main__":
    main()
