"""Models whose posteriors are known exactly, shared by the MCMC and ``calculate`` tests.

Each model object is built once per test session (:func:`case`), so every test that fits
it with the same sampler settings reuses its compiled functions.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import scipy.integrate as integrate
import scipy.stats as st

import tfstats as ts

__all__ = ["Case", "CASES", "case"]


@dataclass
class Case:
    """A model, the name of its unknown, and the exact posterior mean and sd."""

    model: ts.Model
    name: str
    mean: float
    sd: float
    arrays: dict[str, Any] = field(default_factory=dict)
    unknown: ts.Array | None = None


def normal_normal() -> Case:
    """``mu ~ normal(1, 2)``, ``y ~ normal(mu, 1.5)``: normal posterior with precision
    ``1 / 2^2 + n / 1.5^2``."""
    y_data = np.array([1.2, 0.4, 2.2, 1.9, 0.7, 1.5, 1.1, 2.6, 0.9, 1.3])
    prior_mean, prior_sd, sd = 1.0, 2.0, 1.5
    mu = ts.normal(prior_mean, prior_sd)
    y = ts.normal(mu, sd, observed=y_data)
    precision = 1 / prior_sd**2 + len(y_data) / sd**2
    mean = (prior_mean / prior_sd**2 + y_data.sum() / sd**2) / precision
    return Case(ts.model(mu), "mu", mean, precision**-0.5,
                {"mu": mu, "y": y, "y_data": y_data, "sd": sd}, unknown=mu)


def beta_binomial() -> Case:
    """``p ~ beta(2, 3)``, ``k ~ binomial(size, p)``: ``beta(2 + sum k, 3 + sum(size - k))``."""
    size, k = np.array([10, 12, 8, 15]), np.array([3, 5, 2, 6])
    p = ts.beta(2, 3)
    ts.binomial(size, p, observed=k)
    exact = st.beta(2 + k.sum(), 3 + (size - k).sum())
    return Case(ts.model(p), "p", float(exact.mean()), float(exact.std()), unknown=p)


def gamma_poisson() -> Case:
    """``rate ~ gamma(3, 2)`` (shape, rate), ``y ~ poisson(rate)``:
    ``gamma(3 + sum y, 2 + n)``."""
    y = np.array([2, 4, 1, 3, 0, 2, 5, 1])
    rate = ts.gamma(3, 2)
    ts.poisson(rate, observed=y)
    exact = st.gamma(3 + y.sum(), scale=1 / (2 + len(y)))
    return Case(ts.model(rate), "rate", float(exact.mean()), float(exact.std()),
                unknown=rate)


def truncated_normal() -> Case:
    """``mu ~ normal(0.5, 1)`` truncated to (0, 1), ``y ~ normal(mu, 0.5)`` with data near
    the upper bound: the posterior piles up against it. Exact moments by quadrature."""
    y = np.array([0.95, 1.1, 0.7, 0.9])
    mu = ts.normal(0.5, 1, truncation=(0, 1))
    ts.normal(mu, 0.5, observed=y)

    def density(m: float) -> float:
        return float(np.exp(st.norm.logpdf(m, 0.5, 1) + st.norm.logpdf(y, m, 0.5).sum()))

    mass = integrate.quad(density, 0, 1)[0]
    mean = integrate.quad(lambda m: m * density(m), 0, 1)[0] / mass
    second = integrate.quad(lambda m: m**2 * density(m), 0, 1)[0] / mass
    return Case(ts.model(mu), "mu", mean, float(np.sqrt(second - mean**2)), unknown=mu)


CASES = {"normal_normal": normal_normal, "beta_binomial": beta_binomial,
         "gamma_poisson": gamma_poisson, "truncated_normal": truncated_normal}


@functools.cache
def case(name: str) -> Case:
    """The case ``name``, built once per session."""
    return CASES[name]()
