"""Where ``vi`` starts: the Laplace approximation at the mode, or a random point.

ADVI with a constant learning rate moves every parameter by about the learning rate per
step, so a posterior whose scales differ by orders of magnitude (an intercept with sd 9
beside a slope with sd 0.06, correlated -0.99) takes tens of thousands of steps from a
random start. Started at the mode of the unconstrained density (L-BFGS, as ``opt``) with
the covariance of the Laplace approximation (the inverse Hessian there, by finite
differences of the compiled gradient), the stochastic steps only correct what the Laplace
approximation gets wrong. Large models (over ``LAPLACE_MAX`` unconstrained values) start
at the mode with the default scale.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from tfstats.model import Model

__all__ = ["LAPLACE_MAX", "INITS", "mode_start"]

LAPLACE_MAX = 200  # the most unconstrained values for which the Hessian is computed
INITS = ("map", "random")


def mode_start(model: Model, seed: int | None,
               place: Any = None) -> tuple[np.ndarray, np.ndarray | None]:
    """The unconstrained mode and, where affordable and positive definite, the Hessian of
    minus the log density there (None otherwise); ``place``: the devices (``devices.py``)."""
    from tfstats.inference.initial import initial_state
    from tfstats.inference.optimize import _Evaluations, _quasi_newton, hessian_at

    evaluate = _Evaluations(model, adjust=True, place=place)
    x0 = initial_state(model, 1, None, seed, finite=evaluate.finite)[0]
    mode, value, _, _ = _quasi_newton(model, "lbfgs", evaluate, x0, 1000, 1e-8)
    if not np.all(np.isfinite(mode)) or not np.isfinite(value):
        return x0, None
    if model.n_free > LAPLACE_MAX:
        return mode, None
    try:
        hessian = hessian_at(model, evaluate, mode)
        np.linalg.cholesky(hessian)  # positive definite, or LinAlgError
    except np.linalg.LinAlgError:
        return mode, None
    return mode, hessian
