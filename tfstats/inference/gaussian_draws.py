"""Independent draws from a normal approximation on the unconstrained scale (ADVI's
result, the Laplace approximation at a mode), as ``Draws``."""

from __future__ import annotations

import numpy as np

from tfstats.draws import Draws
from tfstats.model import Model

__all__ = ["gaussian_draws", "summary_moments", "SUMMARY_DRAWS"]

SUMMARY_DRAWS = 4000  # draws behind the results' mean and sd (with seed 0)


def gaussian_draws(model: Model | None, loc: np.ndarray, scale_tril: np.ndarray, n: int,
                   seed: int | None) -> Draws:
    """``n`` draws of ``loc + scale_tril @ e`` (``e`` standard normal), each transformed to
    the unknowns' supports, as one chain of ``Draws``.

    Examples
    --------
    >>> import numpy as np, tfstats as ts
    >>> sigma = ts.half_normal(1)
    >>> draws = gaussian_draws(ts.model(sigma), np.zeros(1), np.eye(1), 200, seed=1)
    >>> draws["sigma"].shape, bool(np.all(draws["sigma"] > 0))
    ((1, 200), True)
    """
    if isinstance(n, bool) or not isinstance(n, int | np.integer) or n < 1:
        raise ValueError(f"n must be a positive int, got {n!r}")
    if model is None:
        raise ValueError("this result carries no model to draw from")
    rng = np.random.default_rng(seed)
    z = loc + rng.standard_normal((int(n), loc.shape[0])) @ scale_tril.T
    values = model.constrain_draws(z[None])
    return Draws(values, {}, model, sampler=None, targets=list(model.targets))


def summary_moments(draws: Draws) -> dict[str, dict[str, np.ndarray]]:
    """``{"mean": ..., "sd": ...}`` by name over the one chain of independent ``draws``."""
    values = draws.values.items()
    return {"mean": {k: v[0].mean(axis=0) for k, v in values},
            "sd": {k: v[0].std(axis=0, ddof=1) for k, v in values}}
