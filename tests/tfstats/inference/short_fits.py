"""A one-parameter model and a short NUTS fit of it, shared by the compile-ahead tests of
both backends."""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

import tfstats as ts

__all__ = ["short_fit", "tiny_model"]


def tiny_model() -> ts.Model:
    """``mu ~ normal(0, 2)`` with five observations."""
    mu = ts.normal(0.0, 2.0)
    ts.normal(mu, 1.5, observed=np.array([1.2, 0.4, 2.2, 1.9, 0.7]))
    return ts.model(mu=mu)


def short_fit(model: ts.Model, **kwargs: Any) -> ts.Draws:
    """2 chains x (60 + 60), seed 3, warnings off (short runs may be called unhealthy)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return ts.mcmc(model, n_samples=60, warmup=60, chains=2, seed=3, progress=False,
                       **kwargs)
