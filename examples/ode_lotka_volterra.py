"""Predators and prey: a Lotka-Volterra ODE fitted to noisy population counts.

    d prey / dt      = alpha * prey - beta * prey * predators
    d predators / dt = delta * prey * predators - gamma * predators

The four rates are unknowns; ``ts.ode`` solves the equations inside the model (Dormand-
Prince), and NUTS samples the rates through the solver's gradients. The data are simulated
from known rates, with lognormal noise, so we can see the posterior cover them.

Run it with ``python examples/ode_lotka_volterra.py``.
"""

from __future__ import annotations

import numpy as np
from scipy.integrate import solve_ivp

import tfstats as ts

TRUE_RATES = np.array([0.55, 0.028, 0.024, 0.8])   # alpha, beta, delta, gamma
START = np.array([10.0, 5.0])                       # prey, predators at t = 0
TIMES = np.linspace(1.0, 10.0, 8)


def simulate(seed: int = 11, noise: float = 0.1) -> np.ndarray:
    """Populations at TIMES from the true rates, with multiplicative lognormal noise."""
    a, b, d, g = TRUE_RATES
    solution = solve_ivp(lambda t, y: [a * y[0] - b * y[0] * y[1], d * y[0] * y[1] - g * y[1]],
                         (0.0, TIMES[-1]), START, t_eval=TIMES, rtol=1e-10, atol=1e-10)
    rng = np.random.default_rng(seed)
    return solution.y.T * np.exp(noise * rng.normal(size=(len(TIMES), 2)))


def main(n_samples: int = 500, warmup: int = 500, chains: int = 4, progress: bool = True,
         seed: int = 3) -> ts.Draws:
    observed = simulate()

    # weakly informative priors around plausible rates
    rates = ts.lognormal(np.log([0.5, 0.03, 0.03, 0.7]), 0.5, dim=4)
    sigma = ts.lognormal(np.log(0.1), 0.5)

    def dynamics(y: ts.Array, t: ts.Array) -> ts.Array:
        prey, predators = y[0], y[1]
        return ts.stack([rates[0] * prey - rates[1] * prey * predators,
                         rates[2] * prey * predators - rates[3] * predators])

    populations = ts.ode(dynamics, START, TIMES, method="dopri5", rtol=1e-6, atol=1e-6)
    ts.lognormal(np.log(populations), sigma, observed=observed)

    m = ts.model(rates=rates, sigma=sigma)
    draws = ts.mcmc(m, n_samples=n_samples, warmup=warmup, chains=chains, seed=seed,
                    initial_values={"rates": [0.5, 0.03, 0.03, 0.7], "sigma": 0.1},
                    progress=progress)
    print(draws.summary().round(4))
    print("true rates:", TRUE_RATES)
    return draws


if __name__ == "__main__":
    main()
