"""Quickstart: a Bayesian linear regression on a data set that ships with tfstats.

Children's test scores against their mothers' IQ (the kidiq data). We write the model in
plain Python, find the posterior mode, then sample the posterior with NUTS.

Run it with ``make demo`` or ``python examples/quickstart.py``.
"""

from __future__ import annotations

import numpy as np

import tfstats as ts
from tfstats import datasets


def main(n_samples: int = 1000, warmup: int = 1000, chains: int = 4,
         progress: bool = True) -> ts.Draws:
    df = datasets.load("kidiq")
    iq = ts.as_data(df["mom_iq"] - df["mom_iq"].mean())   # centred predictor
    score = ts.as_data(df["kid_score"])

    alpha = ts.normal(80, 20)                  # intercept: the score at average IQ
    beta = ts.normal(0, 2)                     # points per IQ point
    sigma = ts.cauchy(0, 10, truncation=(0, None))
    mean = alpha + beta * iq
    ts.normal(mean, sigma, observed=score)

    m = ts.model(alpha, beta, sigma)
    fit = ts.opt(m, seed=1)
    print("posterior mode:", {k: round(float(v), 3) for k, v in fit.par.items()})

    draws = ts.mcmc(m, n_samples=n_samples, warmup=warmup, chains=chains, seed=1,
                    progress=progress)
    print(draws.summary().round(3))
    slope = draws["beta"]
    print(f"P(beta > 0.5 | data) = {np.mean(slope > 0.5):.3f}")
    return draws


if __name__ == "__main__":
    main()
