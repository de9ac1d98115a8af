"""The logistic regression's sampler efficiency over many seeds: per seed the minimum (and
mean) bulk ESS, leapfrogs per iteration, final step size, acceptance and the adapted
inverse mass matrix against the posterior variance, for tfstats (its backend from
``TFSTATS_BACKEND``) or NumPyro (``chain_method="vectorized"``). ESS only: nothing here is
timed, so a loaded machine changes nothing but the wall time.

    PYTHONPATH=$PWD python benchmarks/bench_ess_seeds.py tfstats --seeds 1-40 --n 10000
    PYTHONPATH=$PWD python benchmarks/bench_ess_seeds.py numpyro --seeds 1-40 --n 10000
    python benchmarks/bench_ess_seeds.py --summary out1.json out2.json

Each system runs in its own process (one model, one compilation, then every seed); the
data are ``mcmc_systems.workload_data("logistic")``'s recipe with ``--n`` rows.
"""

from __future__ import annotations

import argparse
import json
import sys
import warnings
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from mcmc_systems import logistic_data, numpyro_model, tfstats_model  # noqa: E402

__all__ = ["summarise", "main"]


def _flat(draws: dict[str, np.ndarray]) -> np.ndarray:
    """(chain, draw, scalar) from ``{name: (chain, draw, ...)}`` in name order."""
    return np.concatenate([np.asarray(draws[k], np.float64).reshape(*draws[k].shape[:2], -1)
                           for k in sorted(draws)], axis=2)


def _record(flat: np.ndarray, accept: np.ndarray, n_steps: np.ndarray, step: np.ndarray,
            inv_mass: np.ndarray) -> dict[str, Any]:
    from arviz_stats.base import array_stats

    ess = array_stats.ess(flat, chain_axis=0, draw_axis=1, method="bulk")
    variance = flat.reshape(-1, flat.shape[2]).var(axis=0)
    ratio = inv_mass / variance[None, :]  # per chain and coordinate
    return {"min_ess": float(ess.min()), "mean_ess": float(ess.mean()),
            "accept": float(np.mean(accept)), "leapfrogs": float(np.mean(n_steps)),
            "step_size": [float(s) for s in np.ravel(step)],
            "mass_ratio_mean": float(np.mean(ratio)),
            "mass_ratio_log_sd": float(np.std(np.log(ratio)))}


def _tfstats_runner(data: dict, args: argparse.Namespace) -> Any:
    import tfstats as ts

    model = tfstats_model(ts, "logistic", data, None)

    def run(seed: int) -> dict[str, Any]:
        with warnings.catch_warnings():  # short chains' r_hat notes: the ESS is the point
            warnings.simplefilter("ignore", UserWarning)
            draws = ts.mcmc(model, n_samples=args.draws, warmup=args.warmup,
                            chains=args.chains, seed=seed, progress=False,
                            chain_method=args.chain_method)
        flat = _flat({k: draws[k] for k in draws.targets})
        # unconstrained order is declaration order (alpha, beta): the sorted order too
        inv = np.asarray(draws.inverse_mass)
        return _record(flat, draws.stats["accept"], draws.stats["n_steps"], draws.step_size,
                       inv)

    return run


def _numpyro_runner(data: dict, args: argparse.Namespace) -> Any:
    import tempfile

    import jax
    import jax.numpy as jnp
    from numpyro.infer import MCMC, NUTS

    # NumPyro's second run() recompiles its loop: JAX's persistent cache spares that
    jax.config.update("jax_compilation_cache_dir", tempfile.mkdtemp(prefix="ess-seeds-"))
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)
    x, y = jnp.asarray(data["x"], jnp.float32), jnp.asarray(data["y"], jnp.float32)
    mcmc = MCMC(NUTS(numpyro_model("logistic")), num_warmup=args.warmup,
                num_samples=args.draws, num_chains=args.chains, chain_method="vectorized",
                progress_bar=False, jit_model_args=True)

    def run(seed: int) -> dict[str, Any]:
        mcmc.run(jax.random.PRNGKey(seed), x, y, extra_fields=("accept_prob", "num_steps"))
        samples = {k: np.asarray(v) for k, v in mcmc.get_samples(group_by_chain=True).items()}
        extra = {k: np.asarray(v) for k, v in mcmc.get_extra_fields().items()}
        adapt = mcmc.last_state.adapt_state
        inv = adapt.inverse_mass_matrix  # {sites: ravelled in sorted site order}
        if isinstance(inv, dict):
            inv = np.concatenate([np.asarray(v) for v in inv.values()], axis=-1)
        return _record(_flat(samples), extra["accept_prob"], extra["num_steps"],
                       np.asarray(adapt.step_size), inv)

    return run


def summarise(paths: list[str]) -> str:
    """Means and standard errors per file, and each mean's difference from the first."""
    lines = []
    base = None
    for path in paths:
        rows = json.loads(Path(path).read_text())["rows"]
        line = [f"{Path(path).stem:<24} seeds {len(rows):3d}"]
        for key in ("min_ess", "mean_ess", "leapfrogs", "accept", "mass_ratio_mean",
                    "mass_ratio_log_sd"):
            v = np.array([r[key] for r in rows])
            line.append(f"{key} {v.mean():8.3f} ± {v.std(ddof=1) / np.sqrt(len(v)):.3f}")
        steps = np.array([np.mean(r["step_size"]) for r in rows])
        line.append(f"step_size {steps.mean():.4f} ± {steps.std(ddof=1) / np.sqrt(len(v)):.4f}")
        lines.append("\n  ".join(line))
        ess = np.array([r["min_ess"] for r in rows])
        if base is None:
            base = ess
        else:
            se = np.sqrt(base.var(ddof=1) / len(base) + ess.var(ddof=1) / len(ess))
            lines.append(f"  min_ess vs first: {ess.mean() / base.mean():.3f}x, difference "
                         f"{(ess.mean() - base.mean()) / se:+.2f} standard errors")
    return "\n".join(lines)


def _seed_range(parser: argparse.ArgumentParser, text: str) -> tuple[int, int]:
    """``first-last`` (inclusive) from ``--seeds``."""
    parts = text.split("-")
    if len(parts) != 2 or not all(p.isdigit() for p in parts) or int(parts[0]) > int(parts[1]):
        parser.error(f"--seeds must be FIRST-LAST with FIRST <= LAST (e.g. 1-40), got {text!r}")
    return int(parts[0]), int(parts[1])


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("system", nargs="?", choices=("tfstats", "numpyro"))
    parser.add_argument("--seeds", default="1-20", help="first-last")
    parser.add_argument("--n", type=int, default=10_000, help="rows of data")
    parser.add_argument("--chains", type=int, default=4)
    parser.add_argument("--warmup", type=int, default=500)
    parser.add_argument("--draws", type=int, default=500)
    parser.add_argument("--chain-method", default="vectorized")
    parser.add_argument("--out", help="JSON file for the rows")
    parser.add_argument("--summary", nargs="+", help="summarise these JSON files")
    args = parser.parse_args(argv)
    if args.summary:
        print(summarise(args.summary))
        return
    if args.system is None:
        parser.error("give a system or --summary")
    first, last = _seed_range(parser, args.seeds)
    if args.n < 1 or args.chains < 1 or args.warmup < 0 or args.draws < 4:
        parser.error("--n and --chains must be >= 1, --warmup >= 0, --draws >= 4")
    data = logistic_data(args.n)
    run = (_tfstats_runner if args.system == "tfstats" else _numpyro_runner)(data, args)
    rows = []
    for seed in range(first, last + 1):
        row = {"seed": seed, **run(seed)}
        rows.append(row)
        print(json.dumps(row), flush=True)
        if args.out:
            Path(args.out).write_text(json.dumps({"args": vars(args), "rows": rows}))


if __name__ == "__main__":
    main()
