"""Per-gradient cost on large data: tfstats (TensorFlow, JAX) against NumPyro.

One evaluation of the log density and its gradient, batched over 4 chains as the samplers
do (tfstats' ``inference.batched_density``, vectorised per chain or, for large GLM
designs on TensorFlow, one sweep over row blocks for all chains; NumPyro's ``potential_fn`` under
``jax.vmap(jax.value_and_grad(...))``), for three GLM likelihoods with D = 20 predictors
and an intercept: Bernoulli-logit, Gaussian (unknown sd) and Poisson (log link), at
N = 100,000 and 1,000,000 rows, in float32, float64 and (tfstats only) ``precision="mixed"``
(float64 with float32 data: the CPU default). Each evaluation is timed inside a
compiled loop of K evaluations (each starting where the last one's gradient and value
moved it, so no evaluation can be hoisted and the value is computed, as NUTS needs it for
the energy), best of 3 loops; the call overhead of a compiled function is
left out, as inside the sampler.

GB/s is the data read once per evaluation (X, y: N x (D + 1) values) over the time of one
4-chain evaluation, against the machine's one-thread read bandwidth measured by
``bench_roofline.py``'s C loop (a float32 sum of 512 MB, best of 5; numpy's ``a.sum()``
understates it about 2x on this CPU, as its additions, not memory, bound it), or numpy's
where gcc cannot build that loop; numpy's read and copy are reported beside. CPU time
(all threads of the process) is reported beside wall time: on a shared machine it is the
steadier figure. Each system runs in its own process.

Usage::

    python benchmarks/bench_gradient.py                   # everything (a few minutes)
    python benchmarks/bench_gradient.py --quick           # N = 10,000: a smoke test
    python benchmarks/bench_gradient.py --systems tfstats-jax,numpyro --sizes 100000
    python benchmarks/bench_gradient.py --sizes 100000 --dtypes float64,mixed,float32
    TFSTATS_ROW_BLOCKS=0 python benchmarks/bench_gradient.py --systems tfstats-jax
                                        # JAX without one pass over row blocks (A/B)
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["main", "memory_bandwidth", "glm_data", "gradient_loop"]

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
RESULTS = HERE / "results" / "gradient.json"
SYSTEMS = ("tfstats", "tfstats-jax", "numpyro")
FAMILIES = ("bernoulli", "gaussian", "poisson")
DTYPES = ("float32", "float64", "mixed")
CHAINS = 4
D = 20


def glm_data(family: str, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Simulated ``(x, y)`` of a GLM with ``D`` predictors (fixed seed)."""
    rng = np.random.default_rng(20261130)
    x = rng.normal(size=(n, D))
    eta = 0.3 + x @ rng.normal(0.0, 0.2, size=D)
    if family == "bernoulli":
        y = (rng.uniform(size=n) < 1.0 / (1.0 + np.exp(-eta))).astype(np.float64)
    elif family == "gaussian":
        y = eta + rng.normal(size=n)
    else:
        y = rng.poisson(np.exp(eta)).astype(np.float64)
    return x, y


def memory_bandwidth(megabytes: int = 512) -> dict[str, float]:
    """Read (``a.sum()``) and copy (``a.copy()``: read + write) bandwidth in GB/s, and the
    read bandwidth per CPU second (less sensitive to a loaded machine)."""
    a = np.ones(megabytes * 2**20 // 8)
    a.sum()
    best = {"read_gb_s": 0.0, "copy_gb_s": 0.0, "read_gb_per_cpu_s": 0.0}
    for _ in range(5):
        start, start_cpu = time.perf_counter(), time.process_time()
        a.sum()
        best["read_gb_s"] = max(best["read_gb_s"], a.nbytes / (time.perf_counter() - start) / 1e9)
        best["read_gb_per_cpu_s"] = max(best["read_gb_per_cpu_s"],
                                        a.nbytes / (time.process_time() - start_cpu) / 1e9)
        start = time.perf_counter()
        b = a.copy()
        seconds = time.perf_counter() - start
        best["copy_gb_s"] = max(best["copy_gb_s"], 2 * a.nbytes / seconds / 1e9)
        del b
    return best


# --- workers ----------------------------------------------------------------------------------


def _tfstats_loop(family: str, x: np.ndarray, y: np.ndarray, dtype: str) -> tuple:
    """(compiled loop ``(flats, k, *data) -> flats``, its arguments, the backend) of
    tfstats' gradient."""
    import tfstats as ts

    alpha = ts.normal(0, 5)
    beta = ts.normal(0, 1, dim=D)
    eta = alpha + x @ beta
    targets = {"alpha": alpha, "beta": beta}
    if family == "bernoulli":
        ts.bernoulli(ts.ilogit(eta), observed=y)
    elif family == "gaussian":
        sigma = ts.normal(0, 1, truncation=(0, None))
        ts.normal(eta, sigma, observed=y)
        targets["sigma"] = sigma
    else:
        ts.poisson(np.exp(eta), observed=y)
    model = ts.model(**targets, precision={"float32": "single", "float64": "double",
                                           "mixed": "mixed"}[dtype])
    return gradient_loop(model)


def gradient_loop(model: Any, chains: int = CHAINS) -> tuple:
    """(compiled loop ``(flats, k, *data) -> flats``, its arguments, the backend): ``k``
    evaluations of ``model``'s log density and gradient, batched over ``chains`` chains,
    each starting where the last one's gradient moved it (a step scaled by the rows, so
    the chains stay in the posterior's bulk: see ``moving_scale``)."""
    from tfstats.inference.batched_density import batched_value_and_gradient

    B = model.backend
    value_and_grads = batched_value_and_gradient(model)  # as the samplers
    scale = moving_scale(model.data_tensors())

    def loop(flats: Any, k: Any, *data: Any) -> Any:
        def body(i: Any, f: Any) -> tuple:
            values, grads = value_and_grads(f, *data)  # the value is used, as in NUTS
            moved = B.cast(scale, model.float_dtype) * (grads + values[:, None] * 1e-4)
            return i + 1, f + moved

        return B.while_loop(lambda i, _: i < k, body, (B.convert(0), flats))[1]

    flats = np.random.default_rng(1).uniform(-0.1, 0.1, size=(chains, model.n_free))
    return B.compile_function(loop), (B.convert(flats, model.float_dtype),
                                      *model.data_tensors()), B


def moving_scale(data: Any) -> float:
    """The step ``loop`` takes along the gradient: ``1e-2 / rows``. A gradient sums one
    term per row, so this moves each coefficient by about 1 % of a row's term and keeps
    the loop's log densities finite at any N (a fixed ``1e-6`` left the Poisson's
    posterior at N = 1,000,000 within three evaluations, and then timed NaN arithmetic)."""
    rows = max((int(np.shape(t)[0]) for t in data if np.ndim(t) > 0), default=1)
    return 1e-2 / rows


def _numpyro_loop(family: str, x: np.ndarray, y: np.ndarray, dtype: str) -> tuple:
    import jax
    import jax.numpy as jnp
    import numpyro
    import numpyro.distributions as dist
    from numpyro.infer.util import initialize_model

    def model(x: Any, y: Any) -> None:
        alpha = numpyro.sample("alpha", dist.Normal(0.0, 5.0))
        beta = numpyro.sample("beta", dist.Normal(0.0, 1.0).expand([D]))
        eta = alpha + x @ beta
        with numpyro.plate("N", x.shape[0]):
            if family == "bernoulli":
                numpyro.sample("y", dist.Bernoulli(logits=eta), obs=y)
            elif family == "gaussian":
                sigma = numpyro.sample("sigma", dist.HalfNormal(1.0))
                numpyro.sample("y", dist.Normal(eta, sigma), obs=y)
            else:
                numpyro.sample("y", dist.Poisson(jnp.exp(eta)), obs=y)

    jdtype = jnp.float32 if dtype == "float32" else jnp.float64
    xj, yj = jnp.asarray(x, jdtype), jnp.asarray(y, jdtype)
    info = initialize_model(jax.random.PRNGKey(0), model, model_args=(xj, yj),
                            dynamic_args=True)
    potential = info[1]  # potential_fn_gen(*args) -> potential_fn(params)
    init = info[0].z
    names = sorted(init)
    sizes = [int(np.prod(np.shape(init[k]))) for k in names]

    def unflatten(flat: Any) -> dict:
        out, start = {}, 0
        for k, size in zip(names, sizes, strict=True):
            out[k] = flat[start:start + size].reshape(np.shape(init[k]))
            start += size
        return out

    scale = moving_scale((x, y))

    def loop(flats: Any, k: Any, xd: Any, yd: Any) -> Any:
        pe = potential(xd, yd)
        vg = jax.vmap(jax.value_and_grad(lambda f: pe(unflatten(f))))

        def body(state: tuple) -> tuple:
            i, f = state
            values, grads = vg(f)  # the potential: minus the log density
            moved = f - jdtype(scale) * (grads + values[:, None] * 1e-4)
            return i + 1, moved.astype(f.dtype)  # a float64 value (Poisson's lgamma)

        return jax.lax.while_loop(lambda s: s[0] < k, body, (jnp.int32(0), flats))[1]

    flats = np.random.default_rng(1).uniform(-0.1, 0.1, size=(CHAINS, sum(sizes)))
    return jax.jit(loop), (jnp.asarray(flats, jdtype), xj, yj), None


def _worker(system: str, sizes: list[int], dtypes: list[str], out: Path) -> int:
    import warnings

    warnings.filterwarnings("ignore")
    if system == "numpyro":
        import jax

        jax.config.update("jax_enable_x64", True)
    results = []
    for family in FAMILIES:
        for n in sizes:
            x, y = glm_data(family, n)
            for dtype in dtypes:
                if system == "numpyro" and dtype == "mixed":
                    continue
                build = _numpyro_loop if system == "numpyro" else _tfstats_loop
                start = time.perf_counter()
                loop, args, B = build(family, x, y, dtype)
                count = B.convert if B is not None else np.int32
                k = max(5, int(2e7 // n))
                flats, *data = args
                _block(loop(flats, count(1), *data))
                compile_s = time.perf_counter() - start
                best, best_cpu = float("inf"), float("inf")
                for _ in range(3):
                    start, start_cpu = time.perf_counter(), time.process_time()
                    final = _block(loop(flats, count(k), *data))
                    if not np.all(np.isfinite(final)):
                        raise FloatingPointError(f"{system} {family} N={n} {dtype}: the "
                                                 "loop left non-finite values; its timing "
                                                 "would be of NaN arithmetic")
                    best = min(best, (time.perf_counter() - start) / k)
                    best_cpu = min(best_cpu, (time.process_time() - start_cpu) / k)
                data_bytes = (x.size + y.size) * (8 if dtype == "float64" else 4)
                results.append({"system": system, "family": family, "n": n, "dtype": dtype,
                                "evaluations": k, "seconds": best, "cpu_seconds": best_cpu,
                                "compile_s": compile_s,
                                "data_bytes": data_bytes, "gb_s": data_bytes / best / 1e9,
                                "gb_per_cpu_s": data_bytes / best_cpu / 1e9})
                out.write_text(json.dumps(results, indent=1))
    return 0


def _block(value: Any) -> np.ndarray:
    return np.asarray(value)


# --- driver -----------------------------------------------------------------------------------


def _run_worker(system: str, sizes: list[int], dtypes: list[str]) -> list[dict]:
    env = dict(os.environ)
    env.pop("TFSTATS_BACKEND", None)
    if system == "tfstats-jax":
        env["TFSTATS_BACKEND"] = "jax"
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")])
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "result.json"
        run = subprocess.run(
            [sys.executable, str(Path(__file__).resolve()), "--worker", system, "--sizes",
             ",".join(map(str, sizes)), "--dtypes", ",".join(dtypes), "--out", str(out)],
            env=env, capture_output=True, text=True, check=False)
        if run.returncode:
            print(f"{system} failed:\n{run.stdout[-2000:]}{run.stderr[-2000:]}",
                  file=sys.stderr)
        return json.loads(out.read_text()) if out.exists() else []


def c_read_bandwidth(megabytes: int = 512) -> float | None:
    """The one-thread read GB/s of ``bench_roofline.py``'s C loop, or None without gcc."""
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from bench_roofline import build, run_kernel

    with tempfile.TemporaryDirectory() as tmp:
        binary, _ = build(Path(tmp))
        if binary is None:
            return None
        read = run_kernel(binary, "read", megabytes, 1, 5)
    return read["bytes"] / read["seconds"] / 1e9


def reference_read(bandwidth: dict[str, float]) -> tuple[float, str]:
    """(GB/s, its name): the C loop's read where measured, else numpy's."""
    if bandwidth.get("c_read_gb_s"):
        return bandwidth["c_read_gb_s"], "C read, 1 thread"
    return bandwidth["read_gb_s"], "numpy read"


def table(results: list[dict], bandwidth: dict[str, float]) -> str:
    read, name = reference_read(bandwidth)
    lines = ["| likelihood | N | dtype | system | per 4-chain gradient (ms) | per chain (ms) "
             f"| data GB/s | of {name} | CPU ms | data GB per CPU s | / NumPyro's time "
             "| / NumPyro's CPU |",
             "|---|---:|---|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    by_key = {(r["family"], r["n"], r["dtype"], r["system"]): r for r in results}
    for r in sorted(results, key=lambda r: (FAMILIES.index(r["family"]), r["n"],
                                            r["dtype"], SYSTEMS.index(r["system"]))):
        peer_dtype = "float32" if r["dtype"] == "mixed" else r["dtype"]  # NumPyro's float32
        peer = by_key.get((r["family"], r["n"], peer_dtype, "numpyro"))
        ratio = f"{r['seconds'] / peer['seconds']:.2f}" if peer else "-"
        cpu_ratio = f"{r['cpu_seconds'] / peer['cpu_seconds']:.2f}" if peer else "-"
        lines.append(
            f"| {r['family']} | {r['n']:,} | {r['dtype']} | {r['system']} "
            f"| {r['seconds'] * 1e3:.2f} | {r['seconds'] * 1e3 / CHAINS:.3f} | {r['gb_s']:.1f} "
            f"| {r['gb_s'] / read:.0%} | {r['cpu_seconds'] * 1e3:.2f} "
            f"| {r['gb_per_cpu_s']:.1f} | {ratio} | {cpu_ratio} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="N = 10,000 only")
    parser.add_argument("--systems", default=",".join(SYSTEMS))
    parser.add_argument("--sizes", default="100000,1000000")
    parser.add_argument("--dtypes", default=",".join(DTYPES))
    parser.add_argument("--output", type=Path, default=RESULTS)
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    sizes = [10_000] if args.quick else [int(s) for s in args.sizes.split(",")]
    dtypes = [d for d in args.dtypes.split(",") if d]
    if set(dtypes) - set(DTYPES):
        parser.error(f"unknown dtypes {sorted(set(dtypes) - set(DTYPES))}; choose from "
                     f"{', '.join(DTYPES)}")
    if args.worker:
        return _worker(args.worker, sizes, dtypes, args.out)
    systems = [s.strip() for s in args.systems.split(",") if s.strip()]
    unknown = [s for s in systems if s not in SYSTEMS]
    if unknown:
        parser.error(f"unknown systems {unknown}; choose from {', '.join(SYSTEMS)}")
    uptime_before = subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()
    bandwidth = memory_bandwidth()
    bandwidth["c_read_gb_s"] = c_read_bandwidth()
    results = [r for system in systems for r in _run_worker(system, sizes, dtypes)]
    uptime_after = subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()
    report = {"date": dt.datetime.now().isoformat(timespec="seconds"),
              "command": " ".join(["python", "benchmarks/bench_gradient.py",
                                   *(argv or sys.argv[1:])]),
              "uptime_before": uptime_before, "uptime_after": uptime_after,
              "bandwidth": bandwidth, "results": results}
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(report, indent=1))
    c_read = bandwidth["c_read_gb_s"]
    print(f"read bandwidth, one thread: C loop "
          f"{f'{c_read:.1f} GB/s' if c_read else 'not measured (no gcc)'}; numpy "
          f"read {bandwidth['read_gb_s']:.1f} GB/s "
          f"({bandwidth['read_gb_per_cpu_s']:.1f} GB per CPU second), "
          f"copy {bandwidth['copy_gb_s']:.1f} GB/s\n")
    print(table(results, bandwidth))
    print(f"\nuptime before: {uptime_before}\nuptime after:  {uptime_after}")
    expected = sum(len(FAMILIES) * len(sizes) * len([d for d in dtypes if s != "numpyro"
                                                     or d != "mixed"]) for s in systems)
    return 0 if len(results) == expected else 1


if __name__ == "__main__":
    sys.exit(main())
