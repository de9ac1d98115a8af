"""A multivariate normal with an LKJ prior on its correlation, through its Cholesky factor.

Three correlated measurements per subject: ``y[i] ~ MVN(mu, diag(sigma) R diag(sigma))``
with ``R = L @ L.T``. ``ts.lkj_cholesky(eta, dim)`` makes ``L`` an unknown Cholesky factor
of a correlation matrix with the LKJ(eta) density on ``R``, as Stan's
``lkj_corr_cholesky``; ``diag(sigma) @ L`` is then the Cholesky factor of the covariance.

Run it with ``python examples/lkj_multivariate.py``.
"""

from __future__ import annotations

import numpy as np

import tfstats as ts

TRUE_R = np.array([[1.0, 0.6, -0.3], [0.6, 1.0, 0.2], [-0.3, 0.2, 1.0]])
TRUE_SIGMA = np.array([1.0, 2.0, 0.5])
TRUE_MU = np.array([0.0, 1.0, -1.0])


def simulate(n: int = 200, seed: int = 1) -> np.ndarray:
    cov = TRUE_R * np.outer(TRUE_SIGMA, TRUE_SIGMA)
    return np.random.default_rng(seed).multivariate_normal(TRUE_MU, cov, size=n)


def lkj_model(y: np.ndarray) -> ts.Model:
    dim = y.shape[1]
    L = ts.lkj_cholesky(2.0, dim)              # correlation's Cholesky factor, LKJ(2) prior
    sigma = ts.half_normal(3, dim=dim)         # standard deviations
    mu = ts.normal(0, 10, dim=dim)
    scale_tril = sigma[:, None] * L            # diag(sigma) @ L
    ts.multivariate_normal(mu, scale_tril @ scale_tril.T, observed=y)
    R = L @ L.T
    return ts.model(mu=mu, sigma=sigma, R=R)


def main(n: int = 200, n_samples: int = 500, warmup: int = 500, chains: int = 4,
         progress: bool = True) -> ts.Draws:
    draws = ts.mcmc(lkj_model(simulate(n)), n_samples=n_samples, warmup=warmup,
                    chains=chains, seed=1, progress=progress)
    print(draws.summary(["mu", "sigma", "R"]).round(3))
    print("true correlation:\n", TRUE_R)
    return draws


if __name__ == "__main__":
    main()
