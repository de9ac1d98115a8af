"""A hidden Markov model fitted by the forward algorithm, with ``ts.scan`` + ``ts.factor``.

A chain of two hidden states switches with probabilities ``1 - stay``; each step emits
a normal observation whose mean depends on the state. The hidden states are summed out
by the forward algorithm (as Stan users write it): ``scan`` carries the log forward
probabilities through time and ``factor`` adds the log-likelihood, their log-sum at the
end, to the model's density.

Run it with ``python examples/hmm_forward.py``.
"""

from __future__ import annotations

import numpy as np

import tfstats as ts

TRUE = {"stay": np.array([0.9, 0.8]), "mu": np.array([-1.0, 2.0]), "sigma": 0.7}


def simulate(n_steps: int = 200, seed: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """A simulated chain of states and its observations."""
    rng = np.random.default_rng(seed)
    states = np.zeros(n_steps, dtype=int)
    for t in range(1, n_steps):
        stays = rng.uniform() < TRUE["stay"][states[t - 1]]
        states[t] = states[t - 1] if stays else 1 - states[t - 1]
    y = rng.normal(TRUE["mu"][states], TRUE["sigma"])
    return states, y


def hmm_model(y: np.ndarray) -> ts.Model:
    """The two-state normal HMM with the states summed out."""
    stay = ts.beta(2, 2, dim=2)                    # P(state t = state t-1)
    mu = ts.ordered_variable(dim=2)                # ordered means: no label switching
    ts.normal(0, 5, observed=mu)                   # their prior
    sigma = ts.half_normal(2)
    log_stay, log_leave = np.log(stay), np.log(1 - stay)
    log_transition = ts.stack([ts.stack([log_stay[0], log_leave[0]]),
                               ts.stack([log_leave[1], log_stay[1]])])   # from row to column
    # log p(y_t | state) for every t and state: shape (T, 2)
    log_emission = -0.5 * ((y[:, None] - mu) / sigma) ** 2 - np.log(sigma) - 0.9189385332

    def forward(log_alpha, log_e):
        return ts.logsumexp(log_alpha[:, None] + log_transition, axis=0) + log_e

    log_alpha = ts.scan(forward, log_emission, np.log([0.5, 0.5]))
    ts.factor(ts.logsumexp(log_alpha[-1]))         # log p(y | stay, mu, sigma)
    return ts.model(stay=stay, mu=mu, sigma=sigma)


def main(n_steps: int = 200, n_samples: int = 500, warmup: int = 500, chains: int = 4,
         progress: bool = True) -> ts.Draws:
    _, y = simulate(n_steps)
    draws = ts.mcmc(hmm_model(y), n_samples=n_samples, warmup=warmup, chains=chains, seed=1,
                    progress=progress)
    print(draws.summary().round(3))
    print("true values:", {k: np.round(v, 2).tolist() for k, v in TRUE.items()})
    return draws


if __name__ == "__main__":
    main()
