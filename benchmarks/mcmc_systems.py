"""The MCMC benchmark's workloads and, for each system, the same models written in it.

Imported by ``bench_mcmc.py`` inside one worker process per system: each ``run_*``
function imports its own libraries, so a worker never loads another system's runtime.
Every system gets the same data (``workload_data``, fixed seeds) and returns its draws as
``{name: array (chain, draw, ...)}`` on the sampled (non-centred) parameters, so that the
minimum bulk ESS is taken over the same quantities everywhere.
"""

from __future__ import annotations

import importlib
import os
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["WORKLOADS", "SYSTEMS", "settings", "tfstats_model", "numpyro_model", "workload_data",
           "logistic_data", "min_bulk_ess", "run_system", "run_process"]

ROOT = Path(__file__).resolve().parent.parent
WORKLOADS = ("eight_schools", "logistic", "radon", "correlated")
#: the correlated regression: N rows, D predictors with Toeplitz covariance RHO^|i - j|
CORRELATED = {"n": 5_000, "d": 25, "rho": 0.99}
#: name -> (runner, precision label)
SYSTEMS: dict[str, tuple[str, str]] = {
    "tfstats": ("tfstats", "mixed"),            # TensorFlow backend, the default precision
    "tfstats-f64": ("tfstats", "float64"),      # precision="double" (strict float64)
    "tfstats-f32": ("tfstats", "float32"),      # precision="single"
    "tfstats-jax": ("tfstats", "mixed"),        # TFSTATS_BACKEND=jax
    "tfstats-jax-f64": ("tfstats", "float64"),
    "tfstats-jax-f32": ("tfstats", "float32"),
    # ts.mcmc(chain_method=...) pinned (the others take the default): each chain in its
    # own compiled loop and thread, or all chains vectorised in lockstep
    "tfstats-par": ("tfstats", "mixed"),
    "tfstats-vec": ("tfstats", "mixed"),
    "tfstats-jax-par": ("tfstats", "mixed"),
    "tfstats-jax-vec": ("tfstats", "mixed"),
    "tfp": ("tfp", "float32"),                  # raw TFP, hand-written density, XLA
    "numpyro": ("numpyro", "float32"),          # chain_method="vectorized"
    # chain_method="parallel" on 4 host devices (numpyro.set_host_device_count, set
    # before JAX starts: this worker's own process): NumPyro's documented CPU setting
    "numpyro-parallel": ("numpyro", "float32"),
    # NumPyro's second MCMC.run() retraces and recompiles its sampling loop (numpyro 0.22):
    # this variant gives it JAX's persistent compilation cache (a fresh directory per
    # process), so that its warm call skips the XLA compilation
    "numpyro-cache": ("numpyro", "float32"),
    "pymc": ("pymc", "float64"),
    "nutpie": ("nutpie", "float64"),
}

Draws = dict[str, np.ndarray]
Sampler = Callable[[int], tuple[Draws, dict[str, float]]]


def settings(workload: str, quick: bool) -> dict[str, int]:
    """Chains, warmup and draws per chain (and the data size of the logistic regression)."""
    if quick:
        return {"chains": 2, "warmup": 50, "draws": 50, "n": 1_000, "d": 20}
    full = {"eight_schools": (1000, 1000), "logistic": (500, 500), "radon": (1000, 1000),
            "correlated": (1000, 1000)}
    warmup, draws = full[workload]
    return {"chains": 4, "warmup": warmup, "draws": draws, "n": 100_000, "d": 20}


def workload_data(workload: str, quick: bool) -> dict[str, np.ndarray]:
    """The data of ``workload`` (float64 / int64 numpy; each system casts as it needs)."""
    if workload == "eight_schools":
        return {"y": np.array([28.0, 8.0, -3.0, 7.0, -1.0, 1.0, 18.0, 12.0]),
                "sigma": np.array([15.0, 10.0, 16.0, 11.0, 9.0, 11.0, 10.0, 18.0])}
    if workload == "logistic":
        cfg = settings(workload, quick)
        return logistic_data(cfg["n"], cfg["d"])
    if workload == "correlated":
        n, d, rho = CORRELATED["n"], CORRELATED["d"], CORRELATED["rho"]
        if quick:
            n = 500
        rng = np.random.default_rng(20261130)
        lags = np.abs(np.arange(d)[:, None] - np.arange(d)[None, :])
        x = rng.normal(size=(n, d)) @ np.linalg.cholesky(rho**lags).T
        beta = rng.normal(0.0, 1.0, size=d)
        return {"x": x, "y": 1.0 + x @ beta + rng.normal(size=n)}
    if workload == "radon":
        import pandas as pd

        df = pd.read_csv(ROOT / "tfstats" / "datasets" / "radon_mn.csv")
        return {"log_radon": df["log_radon"].to_numpy(np.float64),
                "floor": df["floor"].to_numpy(np.float64),
                "county": df["county"].to_numpy(np.int64),
                "J": np.int64(df["county"].max() + 1)}
    raise ValueError(f"unknown workload {workload!r}; choose from {WORKLOADS}")


def logistic_data(n: int, d: int = 20) -> dict[str, np.ndarray]:
    """The logistic regression's data with ``n`` rows and ``d`` predictors (fixed seed)."""
    rng = np.random.default_rng(20240607)
    x = rng.normal(size=(n, d))
    beta = rng.normal(0.0, 0.5, size=d)
    logits = 0.3 + x @ beta
    y = (rng.uniform(size=n) < 1.0 / (1.0 + np.exp(-logits))).astype(np.float64)
    return {"x": x, "y": y}


def min_bulk_ess(draws: Draws) -> float:
    """The smallest rank-normalised bulk ESS over every scalar of ``draws`` (arviz-stats,
    the same function for every system)."""
    from arviz_stats.base import array_stats

    values = [np.asarray(v, dtype=np.float64).reshape(v.shape[0], v.shape[1], -1)
              for v in draws.values()]
    stacked = np.concatenate(values, axis=2)
    ess = array_stats.ess(stacked, chain_axis=0, draw_axis=1, method="bulk")
    return float(np.min(ess))


def _stats(divergent: np.ndarray, n_steps: np.ndarray, step_size: Any) -> dict[str, float]:
    return {"divergences": int(np.sum(divergent)),
            "leapfrogs_per_draw": float(np.mean(n_steps)),
            "step_size": float(np.mean(step_size))}


# --- tfstats ------------------------------------------------------------------------------------


def tfstats_model(ts: Any, workload: str, data: dict, precision: str) -> Any:
    if workload == "eight_schools":
        mu = ts.normal(0, 5)
        tau = ts.cauchy(0, 5, truncation=(0, None))
        theta_tilde = ts.normal(0, 1, dim=8)
        ts.normal(mu + tau * theta_tilde, data["sigma"], observed=data["y"])
        return ts.model(mu=mu, tau=tau, theta_tilde=theta_tilde, precision=precision)
    if workload == "logistic":
        alpha = ts.normal(0, 5)
        beta = ts.normal(0, 1, dim=data["x"].shape[1])
        ts.bernoulli(ts.ilogit(alpha + data["x"] @ beta), observed=data["y"])
        return ts.model(alpha=alpha, beta=beta, precision=precision)
    if workload == "correlated":
        alpha = ts.normal(0, 5)
        beta = ts.normal(0, 1, dim=data["x"].shape[1])
        sigma = ts.normal(0, 1, truncation=(0, None))
        ts.normal(alpha + data["x"] @ beta, sigma, observed=data["y"])
        return ts.model(alpha=alpha, beta=beta, sigma=sigma, precision=precision)
    mu_alpha = ts.normal(0, 10)
    sigma_alpha = ts.normal(0, 1, truncation=(0, None))
    alpha_raw = ts.normal(0, 1, dim=int(data["J"]))
    beta = ts.normal(0, 10)
    sigma_y = ts.normal(0, 1, truncation=(0, None))
    alpha = mu_alpha + sigma_alpha * alpha_raw
    ts.normal(alpha[data["county"]] + beta * data["floor"], sigma_y,
              observed=data["log_radon"])
    return ts.model(mu_alpha=mu_alpha, sigma_alpha=sigma_alpha, alpha_raw=alpha_raw,
                    beta=beta, sigma_y=sigma_y, precision=precision)


def _tfstats(workload: str, data: dict, cfg: dict, precision: str,
             chain_method: str | None = None) -> tuple[Callable, Any]:
    import tfstats as ts

    model = tfstats_model(ts, workload, data,
                           {"mixed": None, "float64": "double", "float32": "single"}[precision])

    def sample(seed: int) -> tuple[Draws, dict[str, float]]:
        draws = ts.mcmc(model, n_samples=cfg["draws"], warmup=cfg["warmup"],
                        chains=cfg["chains"], seed=seed, progress=False,
                        chain_method=chain_method)
        stats = _stats(draws.stats["divergent"], draws.stats["n_steps"], draws.step_size)
        return {k: draws[k] for k in draws.targets}, stats

    return sample, ts


# --- raw TFP: hand-written log density, NUTS + dual averaging, one XLA function ------------------


def _tfp_density(tf: Any, workload: str) -> tuple[Callable, Callable, list[str]]:
    """(log density on unconstrained parts, constrain, part names)."""
    if workload == "eight_schools":
        def lp(mu: Any, log_tau: Any, tt: Any, y: Any, sigma: Any) -> Any:
            tau = tf.exp(log_tau)
            mean = mu[..., None] + tau[..., None] * tt
            return (-0.5 * (mu / 5.0) ** 2 - tf.math.log1p((tau / 5.0) ** 2) + log_tau
                    - 0.5 * tf.reduce_sum(tt**2, -1)
                    - 0.5 * tf.reduce_sum(((y - mean) / sigma) ** 2, -1))

        return lp, lambda p: [p[0], tf.exp(p[1]), p[2]], ["mu", "tau", "theta_tilde"]
    if workload == "logistic":
        def lp(alpha: Any, beta: Any, x: Any, y: Any) -> Any:
            logits = alpha[..., None] + tf.linalg.matmul(beta, x, transpose_b=True)
            return (-0.5 * (alpha / 5.0) ** 2 - 0.5 * tf.reduce_sum(beta**2, -1)
                    + tf.reduce_sum(y * logits - tf.math.softplus(logits), -1))

        return lp, lambda p: p, ["alpha", "beta"]
    if workload == "correlated":
        def lp(alpha: Any, beta: Any, log_sigma: Any, x: Any, y: Any) -> Any:
            sigma = tf.exp(log_sigma)
            mean = alpha[..., None] + tf.linalg.matmul(beta, x, transpose_b=True)
            return (-0.5 * (alpha / 5.0) ** 2 - 0.5 * tf.reduce_sum(beta**2, -1)
                    - 0.5 * sigma**2 + log_sigma - x.shape[0] * log_sigma
                    - 0.5 * tf.reduce_sum(((y - mean) / sigma[..., None]) ** 2, -1))

        return (lp, lambda p: [p[0], p[1], tf.exp(p[2])], ["alpha", "beta", "sigma"])

    def lp(mu_alpha: Any, log_sa: Any, alpha_raw: Any, beta: Any, log_sy: Any,
           log_radon: Any, floor: Any, county: Any) -> Any:
        sigma_alpha, sigma_y = tf.exp(log_sa), tf.exp(log_sy)
        alpha = mu_alpha[..., None] + sigma_alpha[..., None] * alpha_raw
        mean = tf.gather(alpha, county, axis=-1) + beta[..., None] * floor
        return (-0.5 * (mu_alpha / 10.0) ** 2 - 0.5 * (beta / 10.0) ** 2
                - 0.5 * sigma_alpha**2 + log_sa - 0.5 * sigma_y**2 + log_sy
                - 0.5 * tf.reduce_sum(alpha_raw**2, -1)
                - 0.5 * tf.reduce_sum(((log_radon - mean) / sigma_y[..., None]) ** 2, -1)
                - floor.shape[0] * log_sy)

    names = ["mu_alpha", "sigma_alpha", "alpha_raw", "beta", "sigma_y"]
    return lp, lambda p: [p[0], tf.exp(p[1]), p[2], p[3], tf.exp(p[4])], names


def _tfp(workload: str, data: dict, cfg: dict, precision: str) -> tuple[Callable, Any]:
    import tensorflow as tf
    import tensorflow_probability as tfp

    lp, constrain, names = _tfp_density(tf, workload)
    chains, warmup, n = cfg["chains"], cfg["warmup"], cfg["draws"]
    f32 = tf.float32
    if workload == "eight_schools":
        args = (tf.constant(data["y"], f32), tf.constant(data["sigma"], f32))
        shapes = [(), (), (8,)]
    elif workload in ("logistic", "correlated"):
        args = (tf.constant(data["x"], f32), tf.constant(data["y"], f32))
        shapes = [(), (data["x"].shape[1],)] + ([()] if workload == "correlated" else [])
    else:
        args = (tf.constant(data["log_radon"], f32), tf.constant(data["floor"], f32),
                tf.constant(data["county"], tf.int32))
        shapes = [(), (), (int(data["J"]),), (), ()]

    @tf.function(jit_compile=True, autograph=False)
    def run(init: list, seed: Any, *data_args: Any) -> tuple:
        kernel = tfp.mcmc.NoUTurnSampler(lambda *parts: lp(*parts, *data_args),
                                         step_size=tf.constant(0.1, f32))
        kernel = tfp.mcmc.DualAveragingStepSizeAdaptation(
            kernel, num_adaptation_steps=int(0.8 * warmup), target_accept_prob=0.8)
        states, trace = tfp.mcmc.sample_chain(
            num_results=n, num_burnin_steps=warmup, current_state=init, kernel=kernel,
            seed=seed, trace_fn=lambda _, pkr: (pkr.inner_results.has_divergence,
                                                pkr.inner_results.leapfrogs_taken,
                                                pkr.new_step_size))
        return constrain(states), trace

    def sample(seed: int) -> tuple[Draws, dict[str, float]]:
        rng = np.random.default_rng(seed)
        init = [tf.constant(rng.uniform(-2, 2, size=(chains, *s)), f32) for s in shapes]
        states, (divergent, steps, step) = run(init, tf.constant([seed, 0], tf.int32), *args)
        draws = {k: np.swapaxes(v.numpy(), 0, 1) for k, v in zip(names, states, strict=True)}
        return draws, _stats(divergent.numpy(), steps.numpy(), step.numpy())

    return sample, tfp


# --- NumPyro --------------------------------------------------------------------------------------


def numpyro_model(workload: str, n_county: int = 0) -> Callable:
    import numpyro
    import numpyro.distributions as dist

    if workload == "eight_schools":
        def model(y: Any, sigma: Any) -> None:
            mu = numpyro.sample("mu", dist.Normal(0.0, 5.0))
            tau = numpyro.sample("tau", dist.HalfCauchy(5.0))
            with numpyro.plate("J", 8):
                tt = numpyro.sample("theta_tilde", dist.Normal(0.0, 1.0))
                numpyro.sample("y", dist.Normal(mu + tau * tt, sigma), obs=y)
    elif workload == "logistic":
        def model(x: Any, y: Any) -> None:
            alpha = numpyro.sample("alpha", dist.Normal(0.0, 5.0))
            beta = numpyro.sample("beta", dist.Normal(0.0, 1.0).expand([x.shape[1]]))
            with numpyro.plate("N", x.shape[0]):
                numpyro.sample("y", dist.Bernoulli(logits=alpha + x @ beta), obs=y)
    elif workload == "correlated":
        def model(x: Any, y: Any) -> None:
            alpha = numpyro.sample("alpha", dist.Normal(0.0, 5.0))
            beta = numpyro.sample("beta", dist.Normal(0.0, 1.0).expand([x.shape[1]]))
            sigma = numpyro.sample("sigma", dist.HalfNormal(1.0))
            with numpyro.plate("N", x.shape[0]):
                numpyro.sample("y", dist.Normal(alpha + x @ beta, sigma), obs=y)
    else:
        def model(log_radon: Any, floor: Any, county: Any) -> None:
            mu_alpha = numpyro.sample("mu_alpha", dist.Normal(0.0, 10.0))
            sigma_alpha = numpyro.sample("sigma_alpha", dist.HalfNormal(1.0))
            with numpyro.plate("J", n_county):  # static: a traced size cannot shape
                alpha_raw = numpyro.sample("alpha_raw", dist.Normal(0.0, 1.0))
            beta = numpyro.sample("beta", dist.Normal(0.0, 10.0))
            sigma_y = numpyro.sample("sigma_y", dist.HalfNormal(1.0))
            alpha = mu_alpha + sigma_alpha * alpha_raw
            with numpyro.plate("N", log_radon.shape[0]):
                numpyro.sample("y", dist.Normal(alpha[county] + beta * floor, sigma_y),
                               obs=log_radon)
    return model


def _numpyro(workload: str, data: dict, cfg: dict, precision: str,
             cache: bool = False, chain_method: str = "vectorized") -> tuple[Callable, Any]:
    import jax
    import jax.numpy as jnp
    import numpyro
    from numpyro.infer import MCMC, NUTS

    if cache:
        import atexit
        import shutil
        import tempfile

        directory = tempfile.mkdtemp(prefix="bench-jax-cache-")
        atexit.register(shutil.rmtree, directory, ignore_errors=True)
        jax.config.update("jax_compilation_cache_dir", directory)
        jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)

    f32 = jnp.float32
    if workload == "eight_schools":
        args = (jnp.asarray(data["y"], f32), jnp.asarray(data["sigma"], f32))
    elif workload in ("logistic", "correlated"):
        args = (jnp.asarray(data["x"], f32), jnp.asarray(data["y"], f32))
    else:
        args = (jnp.asarray(data["log_radon"], f32), jnp.asarray(data["floor"], f32),
                jnp.asarray(data["county"], jnp.int32))
    model = numpyro_model(workload, int(data.get("J", 0)))
    # jit_model_args: data are arguments of the compiled sampler (not constants), and a
    # second run() reuses the compiled functions
    mcmc = MCMC(NUTS(model), num_warmup=cfg["warmup"],
                num_samples=cfg["draws"], num_chains=cfg["chains"],
                chain_method=chain_method, progress_bar=False, jit_model_args=True)

    def sample(seed: int) -> tuple[Draws, dict[str, float]]:
        mcmc.run(jax.random.PRNGKey(seed), *args, extra_fields=("diverging", "num_steps",
                                                                 "adapt_state.step_size"))
        draws = {k: np.asarray(v) for k, v in mcmc.get_samples(group_by_chain=True).items()}
        extra = {k: np.asarray(v) for k, v in mcmc.get_extra_fields().items()}
        return draws, _stats(extra["diverging"], extra["num_steps"],
                             extra["adapt_state.step_size"])

    return sample, numpyro


# --- PyMC and nutpie (the same PyMC model) -------------------------------------------------------


def _pymc_model(workload: str, data: dict) -> tuple[Any, list[str]]:
    import pymc as pm

    with pm.Model() as model:
        if workload == "eight_schools":
            mu = pm.Normal("mu", 0.0, 5.0)
            tau = pm.HalfCauchy("tau", 5.0)
            tt = pm.Normal("theta_tilde", 0.0, 1.0, shape=8)
            pm.Normal("y", mu + tau * tt, data["sigma"], observed=data["y"])
            names = ["mu", "tau", "theta_tilde"]
        elif workload == "logistic":
            alpha = pm.Normal("alpha", 0.0, 5.0)
            beta = pm.Normal("beta", 0.0, 1.0, shape=data["x"].shape[1])
            pm.Bernoulli("y", logit_p=alpha + pm.math.dot(data["x"], beta),
                         observed=data["y"])
            names = ["alpha", "beta"]
        elif workload == "correlated":
            alpha = pm.Normal("alpha", 0.0, 5.0)
            beta = pm.Normal("beta", 0.0, 1.0, shape=data["x"].shape[1])
            sigma = pm.HalfNormal("sigma", 1.0)
            pm.Normal("y", alpha + pm.math.dot(data["x"], beta), sigma, observed=data["y"])
            names = ["alpha", "beta", "sigma"]
        else:
            mu_alpha = pm.Normal("mu_alpha", 0.0, 10.0)
            sigma_alpha = pm.HalfNormal("sigma_alpha", 1.0)
            alpha_raw = pm.Normal("alpha_raw", 0.0, 1.0, shape=int(data["J"]))
            beta = pm.Normal("beta", 0.0, 10.0)
            sigma_y = pm.HalfNormal("sigma_y", 1.0)
            alpha = mu_alpha + sigma_alpha * alpha_raw
            pm.Normal("y", alpha[data["county"]] + beta * data["floor"], sigma_y,
                      observed=data["log_radon"])
            names = ["mu_alpha", "sigma_alpha", "alpha_raw", "beta", "sigma_y"]
    return model, names


def _from_idata(idata: Any, names: list[str]) -> tuple[Draws, dict[str, float]]:
    draws = {k: np.asarray(idata.posterior[k].values) for k in names}
    st = idata.sample_stats
    return draws, _stats(st["diverging"].values, st["n_steps"].values, st["step_size"].values)


def _pymc(workload: str, data: dict, cfg: dict, precision: str) -> tuple[Callable, Any]:
    import pymc as pm

    model, names = _pymc_model(workload, data)

    def sample(seed: int) -> tuple[Draws, dict[str, float]]:
        with model:
            idata = pm.sample(draws=cfg["draws"], tune=cfg["warmup"], chains=cfg["chains"],
                              random_seed=seed, progressbar=False)
        return _from_idata(idata, names)

    return sample, pm


def _nutpie(workload: str, data: dict, cfg: dict, precision: str) -> tuple[Callable, Any]:
    import nutpie

    model, names = _pymc_model(workload, data)
    compiled = nutpie.compile_pymc_model(model)

    def sample(seed: int) -> tuple[Draws, dict[str, float]]:
        idata = nutpie.sample(compiled, draws=cfg["draws"], tune=cfg["warmup"],
                              chains=cfg["chains"], seed=seed, progress_bar=False)
        return _from_idata(idata, names)

    return sample, nutpie


_IMPORTS = {"tfstats": ("tfstats",), "tfp": ("tensorflow", "tensorflow_probability"),
            "numpyro": ("jax", "numpyro"), "pymc": ("pymc",), "nutpie": ("pymc", "nutpie")}
_RUNNERS = {"tfstats": _tfstats, "tfp": _tfp, "numpyro": _numpyro, "pymc": _pymc,
            "nutpie": _nutpie}


def run_system(system: str, workload: str, quick: bool, warm: bool = True,
               seed: int = 1) -> dict[str, Any]:
    """Time the first call (model building and compilation included) and, with ``warm``,
    a second call on the same model, and measure each call's minimum bulk ESS. The first
    call samples with ``seed``, the warm call with ``seed + 1``."""
    runner, precision = SYSTEMS[system]
    cfg = settings(workload, quick)
    data = workload_data(workload, quick)
    if system == "numpyro-parallel":  # before JAX starts its CPU client
        importlib.import_module("numpyro").set_host_device_count(cfg["chains"])
    start = time.perf_counter()
    for name in _IMPORTS[runner]:  # imports are not part of a call (paid once per process)
        importlib.import_module(name)
    if runner == "tfstats":  # its backend (TensorFlow or JAX + TFP) is imported on first use
        importlib.import_module("tfstats.backends").get_backend()
    imports = time.perf_counter() - start
    start = time.perf_counter()
    options = {"numpyro-cache": {"cache": True},
               "numpyro-parallel": {"chain_method": "parallel"}}.get(system, {})
    if system.endswith(("-par", "-vec")):
        options = {"chain_method": "parallel" if system.endswith("-par") else "vectorized"}
    sample, module = _RUNNERS[runner](workload, data, cfg, precision, **options)
    build = time.perf_counter() - start
    first_draws, first_stats = sample(seed)
    first = time.perf_counter() - start
    ess_first = min_bulk_ess(first_draws)
    result = {
        "system": system, "workload": workload, "precision": precision, "ok": True,
        "seed": seed,
        "version": getattr(module, "__version__", "?"), **cfg,
        "import_s": imports, "build_s": build, "first_s": first, "ess_first": ess_first,
        "ess_per_s_first": ess_first / first, "first_stats": first_stats,
        "warm_s": None, "ess_warm": None, "ess_per_s_warm": None, "warm_stats": None,
    }
    if warm:
        start = time.perf_counter()
        warm_draws, warm_stats = sample(seed + 1)
        seconds = time.perf_counter() - start
        ess_warm = min_bulk_ess(warm_draws)
        result.update(warm_s=seconds, ess_warm=ess_warm, ess_per_s_warm=ess_warm / seconds,
                      warm_stats=warm_stats)
    return result


def run_process(command: list[str], env: dict[str, str], timeout: float) -> tuple[str, str]:
    """Run a benchmark worker in its own process group: its output, and what went wrong
    ("" when it exited with 0; on a timeout the worker and its own children are killed)."""
    process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True, start_new_session=True)
    try:
        log, _ = process.communicate(timeout=timeout)
        return log, f"exited with {process.returncode}" if process.returncode else ""
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        log, _ = process.communicate()
        return log, f"timed out after {timeout:.0f} s"
