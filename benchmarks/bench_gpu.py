"""Logistic regression at N = 1,000,000 and 10,000,000 on a GPU and on the same machine's CPU.

The GPU check of issue 14, prepared to run as one command on the device machine
(``../shared/gpu/README.md``: JAX with CUDA, no TensorFlow, so every system here runs on
JAX). Bayesian logistic regression with an intercept and D = 20 coefficients, NUTS with
4 chains x (500 warmup + 500 draws), the data of ``mcmc_systems.workload_data("logistic")``
drawn at the size asked. Systems:

- ``tfstats``: tfstats on its JAX backend, default settings (``ts.mcmc``);
- ``tfp``: raw TFP on JAX, a hand-written log density, NUTS with dual averaging, one jitted
  function taking the data as arguments;
- ``numpyro``: NumPyro, ``chain_method="vectorized"``; ``numpyro-seq``: ``"sequential"``.

Each (system, platform, N) is a fresh process (``JAX_PLATFORMS=cuda`` or ``cpu``, the
persistent compilation cache off) that times the first call (compilation included) and,
for N up to ``--warm-max-n``, a second call. The minimum bulk ESS over the coefficients is
arviz-stats'. The jobs run in a fixed order of priority (tfstats and TFP on the GPU first)
under one time budget: each job gets what is left of it, at most ``--job-timeout``, and a job
that runs out is reported as "timed out after T s". Results are rewritten after each job
to ``--out`` (JSON and a Markdown table), so a command cut short keeps what it measured.

Usage (on the device machine, after its install line)::

    python benchmarks/bench_gpu.py --out $OUT --budget 480
    python benchmarks/bench_gpu.py --sizes 2000 --platforms cpu --budget 120   # smoke test
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["jobs", "main"]

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from mcmc_systems import run_process  # noqa: E402

SYSTEMS = ("tfstats", "tfp", "numpyro", "numpyro-seq")
CHAINS, WARMUP, DRAWS, D = 4, 500, 500, 20


def logistic_data(n: int, d: int = D) -> dict[str, np.ndarray]:
    """The benchmark's logistic regression data at ``n`` rows (float32, fixed seed)."""
    rng = np.random.default_rng(20240607)
    x = rng.standard_normal(size=(n, d), dtype=np.float32)
    beta = rng.normal(0.0, 0.5, size=d).astype(np.float32)
    logits = 0.3 + x @ beta
    y = (rng.uniform(size=n) < 1.0 / (1.0 + np.exp(-logits))).astype(np.float32)
    return {"x": x, "y": y}


def _tfp_sampler(data: dict, cfg: dict) -> Any:
    import jax
    import jax.numpy as jnp
    from tensorflow_probability.substrates import jax as tfp

    def log_density(alpha: Any, beta: Any, x: Any, y: Any) -> Any:
        logits = alpha + x @ beta
        return (-0.5 * (alpha / 5.0) ** 2 - 0.5 * jnp.sum(beta**2)
                + jnp.sum(y * logits - jax.nn.softplus(logits)))

    @jax.jit
    def run(init: list, key: Any, x: Any, y: Any) -> tuple:
        def target(alpha: Any, beta: Any) -> Any:  # vectorised over the chains
            return jax.vmap(log_density, in_axes=(0, 0, None, None))(alpha, beta, x, y)

        kernel = tfp.mcmc.DualAveragingStepSizeAdaptation(
            tfp.mcmc.NoUTurnSampler(target, step_size=jnp.float32(0.1)),
            num_adaptation_steps=int(0.8 * cfg["warmup"]), target_accept_prob=0.8)
        return tfp.mcmc.sample_chain(
            num_results=cfg["draws"], num_burnin_steps=cfg["warmup"], current_state=init,
            kernel=kernel, seed=key, trace_fn=lambda _, pkr: pkr.inner_results.has_divergence)

    x, y = jnp.asarray(data["x"]), jnp.asarray(data["y"])

    def sample(seed: int) -> dict[str, np.ndarray]:
        rng = np.random.default_rng(seed)
        init = [jnp.asarray(rng.uniform(-2, 2, size=s), jnp.float32)
                for s in [(cfg["chains"],), (cfg["chains"], x.shape[1])]]
        (alpha, beta), _ = run(init, jax.random.PRNGKey(seed), x, y)
        return {"alpha": np.swapaxes(np.asarray(alpha), 0, 1),
                "beta": np.swapaxes(np.asarray(beta), 0, 1)}

    return sample


def _sampler(system: str, data: dict, cfg: dict) -> Any:
    import mcmc_systems

    if system == "tfp":
        return _tfp_sampler(data, cfg)
    if system == "tfstats":
        sample, _ = mcmc_systems._tfstats("logistic", data, cfg, "mixed")
    else:
        method = "sequential" if system == "numpyro-seq" else "vectorized"
        sample, _ = mcmc_systems._numpyro("logistic", data, cfg, "float32",
                                          chain_method=method)
    return lambda seed: sample(seed)[0]


def _worker(system: str, n: int, warm: bool, out: Path) -> None:
    import jax
    from mcmc_systems import min_bulk_ess

    cfg = {"chains": CHAINS, "warmup": WARMUP, "draws": DRAWS, "n": n, "d": D}
    if n < 100_000:  # the smoke test's sizes: a short run
        cfg.update(warmup=50, draws=50)
    data = logistic_data(n)
    result: dict[str, Any] = {"device": str(jax.devices()[0]), **cfg}
    start = time.perf_counter()
    sample = _sampler(system, data, cfg)
    draws = sample(1)
    result["first_s"] = time.perf_counter() - start
    result["ess_first"] = min_bulk_ess(draws)
    out.write_text(json.dumps(result))
    if warm:
        start = time.perf_counter()
        draws = sample(2)
        result["warm_s"] = time.perf_counter() - start
        result["ess_warm"] = min_bulk_ess(draws)
        out.write_text(json.dumps(result))


def jobs(sizes: list[int], platforms: list[str], systems: list[str]) -> list[tuple]:
    """(system, platform, n) in the order they run: tfstats and TFP on the GPU at every
    size first, then the CPU, then NumPyro (vectorized, then sequential), smaller N first."""
    order = []
    for group in (("tfstats", "tfp"), ("numpyro",), ("numpyro-seq",)):
        for platform in platforms:
            for n in sizes:
                order += [(s, platform, n) for s in group if s in systems]
    return order


def _run_job(system: str, platform: str, n: int, warm: bool, timeout: float) -> dict:
    env = dict(os.environ, JAX_PLATFORMS={"gpu": "cuda"}.get(platform, platform),
               TFSTATS_BACKEND="jax", TFSTATS_COMPILATION_CACHE="0")
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "result.json"
        command = [sys.executable, str(Path(__file__).resolve()), "--worker", system,
                   "--sizes", str(n), "--out", str(out)] + ([] if warm else ["--no-warm"])
        start = time.perf_counter()
        log, error = run_process(command, env, timeout)
        result = json.loads(out.read_text()) if out.exists() else {}
    result.update(system=system, platform=platform, n=n,
                  process_s=time.perf_counter() - start)
    if error:
        result.update(error=error, log_tail=log[-1500:])
    return result


def table(results: list[dict]) -> str:
    """A Markdown table: one row per job, ESS/s of the first and the warm call."""
    def cell(r: dict, call: str) -> str:
        if f"{call}_s" not in r:
            return "-"
        seconds, ess = r[f"{call}_s"], r[f"ess_{call}"]
        return f"{seconds:.1f} s, ESS {ess:.0f}, {ess / seconds:.1f}/s"

    lines = ["| system | platform | N | first call | warm call | note |",
             "|---|---|---|---|---|---|"]
    for r in results:
        lines.append(f"| {r['system']} | {r['platform']} | {r['n']:,} | {cell(r, 'first')} "
                     f"| {cell(r, 'warm')} | {r.get('error', '')} |")
    return "\n".join(lines)


def _parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000000,10000000")
    parser.add_argument("--platforms", default="gpu,cpu")
    parser.add_argument("--systems", default=",".join(SYSTEMS))
    parser.add_argument("--budget", type=float, default=480.0,
                        help="seconds for all jobs together")
    parser.add_argument("--job-timeout", type=float, default=240.0)
    parser.add_argument("--warm-max-n", type=int, default=1_000_000,
                        help="time a second call only up to this N")
    parser.add_argument("--out", default=".", help="folder (driver) or file (worker)")
    parser.add_argument("--worker", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--no-warm", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    args.sizes = [int(s) for s in args.sizes.split(",")]
    args.platforms = args.platforms.split(",")
    args.systems = args.systems.split(",")
    unknown = sorted(set(args.systems) - set(SYSTEMS))
    if unknown:
        parser.error(f"--systems: unknown {unknown}; choose from {list(SYSTEMS)}")
    if not set(args.platforms) <= {"gpu", "cpu"}:
        parser.error(f"--platforms: {args.platforms}; choose from gpu, cpu")
    return args


def main(argv: list[str] | None = None) -> int:
    args = _parse(argv)
    if args.worker:
        _worker(args.worker, args.sizes[0], not args.no_warm, Path(args.out))
        return 0
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    deadline = time.monotonic() + args.budget
    results: list[dict] = []
    for system, platform, n in jobs(args.sizes, args.platforms, args.systems):
        left = deadline - time.monotonic()
        if left < 20:
            results.append({"system": system, "platform": platform, "n": n,
                            "error": "not run: the budget was spent"})
            continue
        results.append(_run_job(system, platform, n, n <= args.warm_max_n,
                                min(left, args.job_timeout)))
        print(json.dumps({k: v for k, v in results[-1].items() if k != "log_tail"}),
              flush=True)
        (out / "bench_gpu.json").write_text(json.dumps(results, indent=1))
        (out / "bench_gpu.md").write_text(table(results) + "\n")
    print(table(results))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
