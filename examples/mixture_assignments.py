"""A Gaussian mixture written with explicit cluster assignments.

Each observation ``i`` belongs to cluster ``z[i]``, a categorical unknown. tfstats sums
every ``z[i]`` out of the density row by row (the same density as ``ts.mixture``), NUTS
samples the weights, centres and spread, and ``calculate`` draws the assignments from
their exact conditional given each posterior draw.

Run it with ``python examples/mixture_assignments.py``.
"""

from __future__ import annotations

import numpy as np

import tfstats as ts


def simulate(n: int = 200, seed: int = 2) -> np.ndarray:
    rng = np.random.default_rng(seed)
    cluster = rng.random(n) < 0.3
    return np.where(cluster, rng.normal(-2.0, 0.8, n), rng.normal(2.0, 0.8, n))


def main(n_samples: int = 1000, warmup: int = 1000, chains: int = 4, progress: bool = True,
         n: int = 200) -> dict[str, np.ndarray]:
    y = simulate(n)

    w = ts.dirichlet(np.ones(2))                     # cluster weights
    centre = ts.ordered_variable(dim=2)              # cluster centres, in order (so the
    ts.normal(0.0, 3.0, observed=centre)             # labels cannot switch), prior N(0, 3)
    sigma = ts.lognormal(0.0, 1.0)
    z = ts.categorical(w, dim=len(y))                # the cluster of each observation
    ts.normal(centre[z], sigma, observed=y)

    m = ts.model(w, centre, sigma)                   # z is summed out of the density
    draws = ts.mcmc(m, n_samples=n_samples, warmup=warmup, chains=chains, seed=1,
                    progress=progress)
    print(draws.summary().round(3))
    assignments = ts.calculate(z, values=draws, seed=1)      # (chains, draws, n)
    p_second = assignments.mean(axis=(0, 1))
    print("P(cluster 1) of the first five observations:", np.round(p_second[:5], 3))
    return {"w": draws["w"], "centre": draws["centre"], "z": assignments}


if __name__ == "__main__":
    main()
