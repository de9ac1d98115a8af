"""ode(): the solution of an ordinary differential equation inside a model.

The right-hand side ``fn(y, t)`` is written with tfstats arrays, like a ``scan`` step: it is
traced once into a graph over two placeholders (the state and the time), and the arrays of
the model it captures (unknowns, derived arrays, data) become inputs of the solver, so that
gradients flow to them. Each backend solves with a kept library: TFP's ``DormandPrince`` and
``BDF`` on TensorFlow, diffrax's ``Dopri5`` and ``Kvaerno5`` on JAX.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from tfstats.arrays import Array, Data, ModelError, Variable, as_array
from tfstats.graph import Evaluator, topological
from tfstats.operations import register

__all__ = ["ode", "METHODS", "captured_inputs"]

METHODS = ("dopri5", "bdf")


def captured_inputs(body: Array, placeholders: tuple[Array, ...]) -> list[Array]:
    """The arrays that ``body`` uses from outside: the parents, not depending on the
    placeholders, of the nodes that do (or ``body`` itself when it uses none of them)."""
    dependent = {id(p) for p in placeholders}
    captured: list[Array] = []
    for node in topological([body]):
        if id(node) in dependent or not any(id(p) in dependent for p in node.parents):
            continue
        dependent.add(id(node))
        for parent in node.parents:
            if id(parent) not in dependent and all(parent is not c for c in captured):
                captured.append(parent)
    if id(body) not in dependent:
        captured = [body]
    return captured


def _ode_evaluate(ctx: Any, y0: Any, *captured_values: Any, body: Array, state: Array,
                  time: Array, captured: tuple[Array, ...], times: np.ndarray, t0: float,
                  method: str, rtol: float, atol: float, max_steps: int) -> Any:
    B = ctx.B
    y0 = ctx.to_float(y0)
    shape = tuple(state.shape)
    # arrays that depend on unknowns go to the solver as parameters (gradients flow to
    # them); the others (data, indices) are closed over
    differentiable = [i for i, c in enumerate(captured) if c.kind == "float" and c.variables]
    fixed = {c: v for c, v in zip(captured, captured_values, strict=True)
             if not c.variables or c.kind != "float"}

    def rhs(y_flat: Any, t: Any, params: list) -> Any:
        values = {state: B.np.reshape(y_flat, shape), time: ctx.to_float(t), **fixed}
        values.update({captured[i]: p for i, p in zip(differentiable, params, strict=True)})
        inner = Evaluator(B, ctx.float, values)
        slope = inner.to_float(inner(body))
        return B.np.reshape(B.np.broadcast_to(slope, shape), (-1,))

    params = [ctx.to_float(captured_values[i]) for i in differentiable]
    solution = B.solve_ode(rhs, B.np.reshape(y0, (-1,)), params, t0=t0,
                           times=B.convert(times, ctx.float), method=method, rtol=rtol,
                           atol=atol, max_steps=max_steps)
    return B.np.reshape(solution, (len(times), *shape))


register("ode", _ode_evaluate, lambda y0, *rest, times, **_: (len(times), *y0),
         lambda *kinds: "float")


def _fixed_times(times: Any, t0: float) -> np.ndarray:
    if isinstance(times, Array):
        if not isinstance(times, Data):
            raise ModelError("ode: times must be fixed numbers (data), not an array that "
                             "depends on unknowns")
        times = times.value
    values = np.asarray(times, dtype=float)
    if values.ndim != 1 or values.size == 0:
        raise ModelError(f"ode: times must be a non-empty vector, got shape {values.shape}")
    if not np.all(np.isfinite(values)):
        raise ModelError("ode: times must be finite")
    if np.any(np.diff(values) <= 0):
        raise ModelError("ode: times must be strictly increasing")
    if values[0] < t0:
        raise ModelError(f"ode: times must not be before t0 = {t0}, but times[0] = {values[0]}")
    return values


def _check_settings(fn: Any, t0: Any, method: Any, rtol: Any, atol: Any,
                    max_steps: Any) -> float:
    if not callable(fn):
        raise ModelError(f"ode: fn must be a function fn(y, t) -> dy/dt, got "
                         f"{type(fn).__name__}")
    if method not in METHODS:
        raise ModelError(f"ode: unknown method {method!r}: choose 'dopri5' (non-stiff) or "
                         f"'bdf' (stiff)")
    for label, tol in (("rtol", rtol), ("atol", atol)):
        if not np.isscalar(tol) or not np.isfinite(tol) or tol <= 0:
            raise ModelError(f"ode: {label} must be a positive number, got {tol!r}")
    if not isinstance(max_steps, int | np.integer) or max_steps < 1:
        raise ModelError(f"ode: max_steps must be a positive integer, got {max_steps!r}")
    if isinstance(t0, Array) or not np.isscalar(t0) or not np.isfinite(t0):
        raise ModelError(f"ode: t0 must be a finite number, got {t0!r}")
    return float(t0)


def ode(fn: Callable[[Array, Array], Any], y0: Any, times: Any, t0: float = 0.0,
        method: str = "dopri5", rtol: float = 1e-6, atol: float = 1e-6,
        max_steps: int = 10_000) -> Array:
    """The solution of ``dy/dt = fn(y, t)``, ``y(t0) = y0``, at ``times``.

    ``fn`` is written with tfstats arrays like any model code (operators, numpy functions,
    indexing, ``ts.stack``); it may use unknowns and other arrays of the model, and the
    solution is differentiable with respect to every unknown that ``fn`` or ``y0`` uses.
    It is traced once and runs as one solver call in the compiled model.

    Parameters
    ----------
    fn : callable
        ``fn(y, t) -> dy/dt``: ``y`` has the shape of ``y0`` and ``t`` is a scalar; the
        result must have the shape of ``y0``.
    y0 : array or Array
        The state at ``t0``: data or an array of the model.
    times : array
        Fixed, strictly increasing times, none before ``t0``.
    t0 : float
        The initial time.
    method : {"dopri5", "bdf"}
        ``"dopri5"``: an adaptive Dormand-Prince Runge-Kutta 4(5) method for non-stiff
        problems (TFP's ``DormandPrince``; diffrax's ``Dopri5`` on JAX). ``"bdf"``: an
        implicit method for stiff problems (TFP's ``BDF``; on JAX diffrax's ``Kvaerno5``,
        an implicit Runge-Kutta method).
    rtol, atol : float
        Relative and absolute error tolerances of the adaptive step size.
    max_steps : int
        The most steps the solver may take.

    Returns
    -------
    Array
        Shape ``(len(times), *y0.shape)``. Where the solver fails (too many steps, the
        step size underflows, the state is not finite) the solution is NaN, so that the
        log density is not finite and MCMC rejects the proposal as a divergence.

    Examples
    --------
    >>> import numpy as np, tfstats as ts
    >>> k = ts.lognormal(0, 0.5)
    >>> y = ts.ode(lambda y, t: -k * y, np.array([1.0, 2.0]), times=[0.5, 1.0, 2.0])
    >>> y.shape
    (3, 2)
    """
    t0 = _check_settings(fn, t0, method, rtol, atol, max_steps)
    times = _fixed_times(times, t0)
    y0 = as_array(y0, name="ode y0")
    state = Array("placeholder", (), {}, y0.shape, "float", name="y")
    time = Array("placeholder", (), {}, (), "float", name="t")
    serial = Variable._count
    body = as_array(fn(state, time))
    if body.shape != y0.shape:
        raise ModelError(f"ode: fn returned shape {body.shape}, but the state (y0) has shape "
                         f"{y0.shape}")
    captured = captured_inputs(body, (state, time))
    created = [v for c in captured for v in c.variables if v.serial > serial]
    if created:
        raise ModelError("ode: fn creates unknowns; create them outside fn and use them in it")
    params = {"body": body, "state": state, "time": time, "captured": tuple(captured),
              "times": times, "t0": t0, "method": method, "rtol": float(rtol),
              "atol": float(atol), "max_steps": int(max_steps)}
    return Array("ode", (y0, *captured), params, (len(times), *y0.shape), "float")
