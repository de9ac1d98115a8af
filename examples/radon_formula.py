"""Radon in Minnesota homes: a varying-intercept model from a formula, as in lme4 / brms.

919 houses in 85 counties; ``log_radon`` was measured on the ground floor (``floor`` 1)
or in the basement (``floor`` 0). Counties differ, and counties with few houses borrow
strength from the others: ``log_radon ~ floor + (1 | county)``. We fit it by NUTS, print
the summary with bambi's names, and predict a house in a county seen in fitting and in a
new county (whose intercept is drawn from the county distribution, so its interval is
wider).

Run it with ``python examples/radon_formula.py``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

import tfstats as ts
from tfstats import datasets


def main(n_samples: int = 1000, warmup: int = 1000, chains: int = 4, seed: int = 1,
         progress: bool = True,
         priors: dict[str, Any] | None = None) -> tuple[ts.Model, ts.Draws]:
    """Fit, summarise and predict; ``priors`` replaces bambi's default priors by name."""
    df = datasets.load("radon_mn")  # columns log_radon, floor, county
    m = ts.glm("log_radon ~ floor + (1 | county)", df, priors=priors)
    draws = ts.mcmc(m, n_samples=n_samples, warmup=warmup, chains=chains, seed=seed,
                    progress=progress)
    with pd.option_context("display.width", 120, "display.max_columns", 9):
        print(draws.summary().loc[["Intercept", "floor", "1|county_sigma", "sigma",
                                   "1|county[0]", "1|county[1]"]].round(3))

    houses = pd.DataFrame({"floor": [0, 0], "county": [1, 1000]})  # county 1000 is new
    mean = m.predict(draws, data=houses, seed=seed)
    low, high = np.quantile(mean.reshape(-1, 2), [0.05, 0.95], axis=0)
    for label, lo, hi in zip(["county 1 (seen)", "a new county"], low, high, strict=True):
        print(f"expected log radon in a basement, {label}: 90% interval [{lo:.2f}, {hi:.2f}]")
    return m, draws


if __name__ == "__main__":
    main()
