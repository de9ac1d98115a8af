"""posteriordb models written with the tfstats API, as a user would write them.

Each function reads its posterior's ``data.json`` (Stan-style data: integer indices are
1-based) and returns ``(model, names)``: ``names`` maps each reference parameter name of
``reference.json`` (1-based, ``"theta[1]"``) to ``(draw name, 0-based index tuple)``.
The data and reference summaries live in ``posteriordb_data/`` beside this file (or in
``$TFSTATS_POSTERIORDB``); its README.md describes the models in words.
"""

from __future__ import annotations

import functools
import json
import os
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

import tfstats as ts

__all__ = ["POSTERIORDB", "POSTERIORS", "load_data", "load_reference", "reference_mcse",
           "map_names", "shared_model", "compare"]

# A copy of the data and reference summaries lives beside this file (posteriordb is
# BSD 3-Clause; see posteriordb_data/README.md); $TFSTATS_POSTERIORDB points elsewhere.
POSTERIORDB = Path(os.environ.get("TFSTATS_POSTERIORDB",
                                  Path(__file__).parent / "posteriordb_data"))

Names = dict[str, tuple[str, tuple[int, ...]]]


def load_data(posterior: str) -> dict[str, Any]:
    """The data of ``posterior`` (lists as numpy arrays)."""
    with open(POSTERIORDB / posterior / "data.json") as handle:
        raw = json.load(handle)
    return {k: np.asarray(v) if isinstance(v, list) else v for k, v in raw.items()}


def load_reference(posterior: str) -> dict[str, dict[str, float]]:
    """``{param: {"mean": m, "sd": s}}`` of the reference posterior (1-based names)."""
    with open(POSTERIORDB / posterior / "reference.json") as handle:
        return json.load(handle)


def reference_mcse(posterior: str) -> dict[str, float]:
    """The Monte Carlo standard error of each reference mean (0 for the references that
    were computed by deterministic quadrature)."""
    with open(POSTERIORDB / posterior / "meta.json") as handle:
        meta = json.load(handle)
    return dict(meta.get("posteriordb_mcse_mean", {}))


def map_names(reference: list[str], rename: dict[str, str] | None = None) -> Names:
    """Stan names (``"beta[2]"``, ``"L[1,2]"``) -> (draw name, 0-based index)."""
    rename = rename or {}
    out: Names = {}
    for name in reference:
        match = re.fullmatch(r"(\w+)(?:\[([\d,]+)\])?", name)
        if match is None:
            raise ValueError(f"cannot parse the parameter name {name!r}")
        base, index = match.group(1), match.group(2)
        idx = tuple(int(i) - 1 for i in index.split(",")) if index else ()
        out[name] = (rename.get(base, base), idx)
    return out


def _names(posterior: str, rename: dict[str, str] | None = None) -> Names:
    return map_names(list(load_reference(posterior)), rename)


def _row(name: str, index: tuple[int, ...]) -> str:
    return f"{name}[{','.join(str(i) for i in index)}]" if index else name


def compare(draws: ts.Draws, posterior: str, names: dict[str, tuple[str, tuple[int, ...]]],
            r_hat: float = 1.01) -> list[str]:
    """The reference parameters whose mean, sd or r_hat is off, as messages.

    A mean is off when it is more than 5 combined Monte Carlo standard errors
    (``sqrt(mcse_run^2 + mcse_ref^2)``, ``mcse_run = sd / sqrt(ess_bulk)``) from the
    reference; an sd when it is more than 15% from the reference sd and, beyond that, more
    than 5 Monte Carlo standard errors of the run's sd (arviz-stats'
    ``mcse(method="sd")``). The second condition is for heavy-tailed scales: eight
    schools' tau has an sd MCSE of 4-7% from 4000 draws, so 15% alone is 2-3 MCSE and
    fails by chance (one seed's draw reached tau = 42: +16%, 2.0 MCSE).
    """
    from arviz_stats.base import array_stats

    reference = load_reference(posterior)
    mcse_ref = reference_mcse(posterior)
    table = draws.summary(sorted({draw for draw, _ in names.values()}))
    problems = []
    for ref_name, (draw_name, index) in names.items():
        row = table.loc[_row(draw_name, index)]
        ref = reference[ref_name]
        combined = np.hypot(row["sd"] / np.sqrt(row["ess_bulk"]), mcse_ref.get(ref_name, 0.0))
        z = (row["mean"] - ref["mean"]) / combined
        relative_sd = row["sd"] / ref["sd"] - 1.0
        values = np.asarray(draws[draw_name])[(slice(None), slice(None), *index)]
        mcse_sd = float(array_stats.mcse(values, chain_axis=0, draw_axis=1, method="sd"))
        z_sd = (row["sd"] - ref["sd"]) / mcse_sd
        if not abs(z) < 5.0:
            problems.append(f"{ref_name}: mean {row['mean']:.4g} vs {ref['mean']:.4g} "
                            f"({z:+.1f} MCSE)")
        if not (abs(relative_sd) < 0.15 or abs(z_sd) < 5.0):
            problems.append(f"{ref_name}: sd {row['sd']:.4g} vs {ref['sd']:.4g} "
                            f"({relative_sd:+.0%}, {z_sd:+.1f} MCSE)")
        if not row["r_hat"] < r_hat:
            problems.append(f"{ref_name}: r_hat {row['r_hat']:.4f}")
    return problems


# --- the models ----------------------------------------------------------------------------


def eight_schools_noncentered() -> tuple[ts.Model, Names]:
    posterior = "eight_schools-eight_schools_noncentered"
    data = load_data(posterior)
    y, sigma = data["y"].astype(float), data["sigma"].astype(float)
    mu = ts.normal(0, 5)
    tau = ts.cauchy(0, 5, truncation=(0, None))
    theta_trans = ts.normal(0, 1, dim=data["J"])
    theta = mu + tau * theta_trans
    ts.normal(theta, sigma, observed=y)
    return ts.model(mu, tau, theta), _names(posterior)


def eight_schools_centered() -> tuple[ts.Model, Names]:
    posterior = "eight_schools-eight_schools_centered"
    data = load_data(posterior)
    y, sigma = data["y"].astype(float), data["sigma"].astype(float)
    mu = ts.normal(0, 5)
    tau = ts.cauchy(0, 5, truncation=(0, None))
    theta = ts.normal(mu, tau, dim=data["J"])
    ts.normal(theta, sigma, observed=y)
    return ts.model(mu, tau, theta), _names(posterior)


def kidscore_momiq() -> tuple[ts.Model, Names]:
    posterior = "kidiq-kidscore_momiq"
    data = load_data(posterior)
    beta = ts.variable(dim=2)  # flat prior
    sigma = ts.cauchy(0, 2.5, truncation=(0, None))
    ts.normal(beta[0] + beta[1] * data["mom_iq"], sigma, observed=data["kid_score"])
    return ts.model(beta, sigma), _names(posterior)


def logmesquite() -> tuple[ts.Model, Names]:
    posterior = "mesquite-logmesquite"
    data = load_data(posterior)
    X = np.column_stack([np.log(data[k]) for k in
                         ("diam1", "diam2", "canopy_height", "total_height", "density")]
                        + [data["group"]])
    beta = ts.variable(dim=7)  # flat priors
    sigma = ts.variable(lower=0)
    ts.normal(beta[0] + X @ beta[1:], sigma, observed=np.log(data["weight"]))
    return ts.model(beta, sigma), _names(posterior)


def logearn_height() -> tuple[ts.Model, Names]:
    posterior = "earnings-logearn_height"
    data = load_data(posterior)
    beta = ts.variable(dim=2)
    sigma = ts.variable(lower=0)
    ts.normal(beta[0] + beta[1] * data["height"], sigma, observed=np.log(data["earn"]))
    return ts.model(beta, sigma), _names(posterior)


def wells_dist() -> tuple[ts.Model, Names]:
    posterior = "wells_data-wells_dist"
    data = load_data(posterior)
    beta = ts.variable(dim=2)
    ts.bernoulli(ts.ilogit(beta[0] + beta[1] * data["dist"]), observed=data["switched"])
    return ts.model(beta), _names(posterior)


def arK() -> tuple[ts.Model, Names]:
    posterior = "arK-arK"
    data = load_data(posterior)
    y, K = data["y"], int(data["K"])
    lags = np.column_stack([y[K - k:len(y) - k] for k in range(1, K + 1)])  # y[t - k]
    alpha = ts.normal(0, 10)
    beta = ts.normal(0, 10, dim=K)
    sigma = ts.cauchy(0, 2.5, truncation=(0, None))
    ts.normal(alpha + lags @ beta, sigma, observed=y[K:])
    return ts.model(alpha, beta, sigma), _names(posterior)


def garch11() -> tuple[ts.Model, Names]:
    posterior = "garch-garch11"
    data = load_data(posterior)
    y, sigma1 = data["y"], float(data["sigma1"])
    mu = ts.variable()
    alpha0 = ts.variable(lower=0)
    alpha1 = ts.variable(lower=0, upper=1)
    beta1 = ts.variable(lower=0, upper=1 - alpha1)
    # variance recursion: v[t] = alpha0 + alpha1 (y[t-1] - mu)^2 + beta1 v[t-1]
    variance = ts.scan(lambda v, e2: alpha0 + alpha1 * e2 + beta1 * v,
                       (y[:-1] - mu) ** 2, sigma1**2)
    sigma = np.sqrt(ts.concatenate([np.array([sigma1**2]), variance]))
    ts.normal(mu, sigma, observed=y)
    return ts.model(mu, alpha0, alpha1, beta1), _names(posterior)


def low_dim_gauss_mix() -> tuple[ts.Model, Names]:
    posterior = "low_dim_gauss_mix-low_dim_gauss_mix"
    data = load_data(posterior)
    mu = ts.ordered_variable(dim=2)
    ts.normal(0, 2, observed=mu)  # the prior of the ordered vector
    sigma = ts.normal(0, 2, truncation=(0, None), dim=2)
    theta = ts.beta(5, 5)
    ts.mixture(ts.normal(mu[0], sigma[0]), ts.normal(mu[1], sigma[1]),
               weights=ts.stack([theta, 1 - theta]), observed=data["y"])
    return ts.model(mu, sigma, theta), _names(posterior)


def gp_pois_regr() -> tuple[ts.Model, Names]:
    posterior = "gp_pois_regr-gp_pois_regr"
    data = load_data(posterior)
    x, k = data["x"].astype(float), data["k"]
    n = len(x)
    rho = ts.gamma(25, 4)
    alpha = ts.normal(0, 2, truncation=(0, None))
    f_tilde = ts.normal(0, 1, dim=n)
    squared_distance = (x[:, None] - x[None, :]) ** 2
    cov = alpha**2 * np.exp(-squared_distance / (2 * rho**2)) + 1e-10 * np.eye(n)
    f = ts.cholesky(cov) @ f_tilde
    ts.poisson(np.exp(f), observed=k)
    return ts.model(rho, alpha, f), _names(posterior)


def _radon_data(posterior: str) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    data = load_data(posterior)
    county = data["county_idx"].astype(np.int64) - 1  # 1-based in the data
    return data["log_radon"], data["floor_measure"].astype(float), county, int(data["J"])


def radon_variable_intercept_noncentered() -> tuple[ts.Model, Names]:
    posterior = "radon_mn-radon_variable_intercept_noncentered"
    log_radon, floor_measure, county, J = _radon_data(posterior)
    mu_alpha = ts.normal(0, 10)
    sigma_alpha = ts.normal(0, 1, truncation=(0, None))
    alpha_raw = ts.normal(0, 1, dim=J)
    alpha = mu_alpha + sigma_alpha * alpha_raw
    beta = ts.normal(0, 10)
    sigma_y = ts.normal(0, 1, truncation=(0, None))
    ts.normal(alpha[county] + beta * floor_measure, sigma_y, observed=log_radon)
    return ts.model(alpha, beta, mu_alpha, sigma_alpha, sigma_y), _names(posterior)


def radon_variable_intercept_centered() -> tuple[ts.Model, Names]:
    posterior = "radon_mn-radon_variable_intercept_centered"
    log_radon, floor_measure, county, J = _radon_data(posterior)
    mu_alpha = ts.normal(0, 10)
    sigma_alpha = ts.normal(0, 1, truncation=(0, None))
    alpha = ts.normal(mu_alpha, sigma_alpha, dim=J)
    beta = ts.normal(0, 10)
    sigma_y = ts.normal(0, 1, truncation=(0, None))
    ts.normal(alpha[county] + beta * floor_measure, sigma_y, observed=log_radon)
    return ts.model(alpha, beta, mu_alpha, sigma_alpha, sigma_y), _names(posterior)


POSTERIORS: dict[str, Callable[[], tuple[ts.Model, Names]]] = {
    "eight_schools-eight_schools_noncentered": eight_schools_noncentered,
    "eight_schools-eight_schools_centered": eight_schools_centered,
    "kidiq-kidscore_momiq": kidscore_momiq,
    "mesquite-logmesquite": logmesquite,
    "earnings-logearn_height": logearn_height,
    "wells_data-wells_dist": wells_dist,
    "arK-arK": arK,
    "garch-garch11": garch11,
    "low_dim_gauss_mix-low_dim_gauss_mix": low_dim_gauss_mix,
    "gp_pois_regr-gp_pois_regr": gp_pois_regr,
    "radon_mn-radon_variable_intercept_noncentered": radon_variable_intercept_noncentered,
    "radon_mn-radon_variable_intercept_centered": radon_variable_intercept_centered,
}


@functools.cache
def shared_model(posterior: str) -> tuple[ts.Model, Names]:
    """The model of ``posterior``, built once per test session so that tests in several
    files fitting it with the same sampler settings share its compiled functions."""
    return POSTERIORS[posterior]()
