"""ODE solvers on JAX: diffrax's ``Dopri5`` and, for ``method="bdf"``, ``Kvaerno5``.

TFP's JAX-substrate solvers do not run under ``jax.jit`` (dynamic shapes), so JAX uses
diffrax. Gradients come from differentiating through the solver (diffrax's default
``RecursiveCheckpointAdjoint``). Failure (too many steps, step size underflow, a non-finite
state) is reported in the result code (``throw=False``) and turned into a NaN solution.
Kvaerno5 in float32 reaches ``max_steps`` even on y' = -y (diffrax 0.7.2), so in single
precision it integrates in float64 around the float32 right-hand side.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax.numpy as jnp

__all__ = ["solve_ode"]


def solve_ode(rhs: Callable, y0: Any, params: list, *, t0: float, times: Any, method: str,
              rtol: float, atol: float, max_steps: int) -> Any:
    """Solve ``dy/dt = rhs(y, t, params)`` for a vector ``y0``; shape (len(times), n).
    The solution is NaN where the solver failed."""
    import diffrax  # about 1 s to import: only when a model has an ODE

    dtype = y0.dtype
    solver = diffrax.Dopri5() if method == "dopri5" else diffrax.Kvaerno5()
    solve_dtype = jnp.float64 if method == "bdf" else dtype

    def slope(t: Any, y: Any, args: tuple) -> Any:
        return rhs(y.astype(dtype), t.astype(dtype), list(args)).astype(solve_dtype)

    solution = diffrax.diffeqsolve(
        diffrax.ODETerm(slope), solver, t0=jnp.asarray(t0, solve_dtype),
        t1=times[-1].astype(solve_dtype), dt0=None, y0=y0.astype(solve_dtype),
        args=tuple(params), saveat=diffrax.SaveAt(ts=times.astype(solve_dtype)),
        stepsize_controller=diffrax.PIDController(rtol=rtol, atol=atol),
        max_steps=max_steps, throw=False)
    failed = (solution.result != diffrax.RESULTS.successful) | ~jnp.all(jnp.isfinite(solution.ys))
    return jnp.where(failed, jnp.nan, solution.ys).astype(dtype)
