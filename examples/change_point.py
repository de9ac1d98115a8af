"""A change point in yearly counts, with the change year a discrete unknown.

Counts of yearly events (simulated to look like the British coal-mining disasters of
1851-1962) drop at some unknown year ``s``. ``s`` has a discrete uniform prior; tfstats sums
it out of the density, NUTS samples the two rates, and ``calculate`` draws ``s`` from its
exact conditional given each draw of the rates.

Run it with ``python examples/change_point.py``.
"""

from __future__ import annotations

import numpy as np

import tfstats as ts


def simulate(n_years: int = 112, change: int = 40, seed: int = 1) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.concatenate([rng.poisson(3.0, change), rng.poisson(0.9, n_years - change)])


def main(n_samples: int = 1000, warmup: int = 1000, chains: int = 4, progress: bool = True,
         n_years: int = 112) -> dict[str, np.ndarray]:
    counts = simulate(n_years, change=int(n_years * 0.36))
    year = np.arange(len(counts))

    early = ts.exponential(1.0)                 # events per year before the change
    late = ts.exponential(1.0)                  # and after
    s = ts.discrete_uniform(1, len(counts) - 1)   # the first year at the late rate
    ts.poisson(np.where(year < s, early, late), observed=counts)

    m = ts.model(early, late)                   # s is summed out of the density
    draws = ts.mcmc(m, n_samples=n_samples, warmup=warmup, chains=chains, seed=1,
                    progress=progress)
    print(draws.summary().round(3))
    s_draws = ts.calculate(s, values=draws, seed=1)   # one draw of s per posterior draw
    years, counts_s = np.unique(s_draws, return_counts=True)
    top = np.argsort(counts_s)[::-1][:5]
    print("P(change year | data):",
          {int(years[i]): round(counts_s[i] / s_draws.size, 3) for i in top})
    return {"early": draws["early"], "late": draws["late"], "s": s_draws}


if __name__ == "__main__":
    main()
