"""ODE solvers on TensorFlow: TFP's ``DormandPrince`` (guarded) and ``BDF``.

Gradients come from TFP's adjoint sensitivity method, with respect to the initial state and
the parameters passed as ``constants``. TFP's Dormand-Prince stops at too many steps only by
an assert, which XLA drops, and loops for ever when its step size underflows; the guarded
subclass ends the solve instead, with a NaN state and a failure status, as BDF does.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy
import tensorflow as tf
import tensorflow_probability as tfp

__all__ = ["solve_ode"]


class _GuardedDormandPrince(tfp.math.ode.DormandPrince):
    """Dormand-Prince that fails gracefully: after ``max_steps`` steps, or when the step
    size underflows or the state is not finite, the state becomes NaN, the time jumps to
    infinity (so no more steps are taken) and the status is -1."""

    def __init__(self, max_steps: int, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._max_evaluations = int(max_steps) * self.ODE_FN_EVALS_PER_STEP

    def _step(self, solver_state: Any, diagnostics: Any, **kwargs: Any) -> Any:
        state, diagnostics = super()._step(solver_state, diagnostics, **kwargs)
        time, step = state.current_time, state.step_size
        finite = tf.reduce_all([tf.reduce_all(tf.math.is_finite(x))
                                for x in tf.nest.flatten(state.current_state)])
        failed = ((diagnostics.num_ode_fn_evaluations > self._max_evaluations)
                  | tf.logical_not(finite) | tf.logical_not(time + step > time))

        def poison(x: tf.Tensor) -> tf.Tensor:
            return tf.where(failed, tf.constant(numpy.nan, x.dtype), x)

        state = state._replace(
            current_state=tf.nest.map_structure(poison, state.current_state),
            interpolating_coefficients=tf.nest.map_structure(
                poison, state.interpolating_coefficients),
            current_time=tf.where(failed, tf.constant(numpy.inf, time.dtype), time))
        return state, diagnostics._replace(status=tf.where(failed, -1, diagnostics.status))


def solve_ode(rhs: Callable, y0: tf.Tensor, params: list, *, t0: float, times: tf.Tensor,
              method: str, rtol: float, atol: float, max_steps: int) -> tf.Tensor:
    """Solve ``dy/dt = rhs(y, t, params)`` for a vector ``y0``; shape (len(times), n).
    The solution is NaN where the solver failed."""
    if method == "dopri5":
        solver = _GuardedDormandPrince(max_steps, rtol=rtol, atol=atol, validate_args=False)
    else:
        solver = tfp.math.ode.BDF(rtol=rtol, atol=atol, max_num_steps=max_steps,
                                  validate_args=False)
    constants = {f"p{i}": p for i, p in enumerate(params)}

    def ode_fn(t: tf.Tensor, y: tf.Tensor, **named: tf.Tensor) -> tf.Tensor:
        return rhs(y, t, [named[f"p{i}"] for i in range(len(params))])

    results = solver.solve(ode_fn, tf.constant(t0, y0.dtype), y0, solution_times=times,
                           constants=constants)
    failed = tf.not_equal(results.diagnostics.status, 0)
    return tf.where(failed, tf.constant(numpy.nan, y0.dtype), results.states)
