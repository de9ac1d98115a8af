"""opt(): MAP (Jacobian-adjusted density) or MLE (unadjusted) by optimisation."""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from tfstats.draws import Draws
from tfstats.errors import user_stacklevel
from tfstats.inference.devices import OneDevice, placement
from tfstats.inference.gaussian_draws import SUMMARY_DRAWS, gaussian_draws, summary_moments
from tfstats.inference.initial import initial_state
from tfstats.minibatch import check_no_minibatch
from tfstats.model import Model
from tfstats.tracking import tracked

__all__ = ["compiled_objective", "opt", "OptResult", "OPTIMIZERS", "hessian_at"]

OPTIMIZERS = ("lbfgs", "bfgs", "adam")


@dataclass
class OptResult:
    """The result of :func:`opt`.

    Attributes
    ----------
    par : dict of str -> numpy.ndarray
        The optimum of every unknown and target array, by name (constrained scale).
    value : float
        The log density (adjusted for MAP, the log likelihood plus priors for MLE) there.
    converged : bool
        Whether the optimiser met its tolerance.
    interrupted : bool
        Whether Ctrl-C stopped the optimiser (the result is then the best point so far).
    iterations : int
        Iterations taken.
    optimizer : str
        The optimiser used.
    hessian : numpy.ndarray or None
        With ``opt(..., hessian=True)``: the Hessian of minus the optimised log density at
        the optimum, on the unconstrained scale (n_free, n_free), as Stan's
        ``optimizing(hessian=TRUE)``; its inverse is the covariance of the Laplace
        approximation that :meth:`draws` samples. None otherwise.
    """

    par: dict[str, np.ndarray]
    value: float
    converged: bool
    iterations: int
    optimizer: str
    unconstrained: np.ndarray = field(repr=False, default_factory=lambda: np.zeros(0))
    model: Model | None = field(repr=False, default=None)
    interrupted: bool = False
    hessian: np.ndarray | None = field(repr=False, default=None)
    _sd: dict[str, np.ndarray] | None = field(init=False, repr=False, compare=False,
                                               default=None)

    def draws(self, n: int = 1000, seed: int | None = None) -> Draws:
        """``n`` independent draws from the Laplace approximation, as one chain of
        ``Draws``: a normal at the optimum of the unconstrained scale with the inverse
        Hessian as its covariance (Stan's ``laplace_sample``), each draw transformed to
        the unknowns' supports. Needs ``opt(..., hessian=True)``.

        Examples
        --------
        >>> import numpy as np, tfstats as ts
        >>> mu = ts.normal(0, 10)
        >>> y = ts.normal(mu, 1, observed=np.array([0.5, 1.5, 1.0]))
        >>> fit = ts.opt(ts.model(mu), hessian=True)
        >>> round(float(fit.hessian[0, 0]), 4)  # 3 observations of sd 1, the prior's 1/100
        3.01
        >>> fit.draws(500, seed=1)["mu"].shape
        (1, 500)
        """
        if self.hessian is None:
            raise ValueError("this fit has no Hessian: fit with ts.opt(..., hessian=True) "
                             "to draw from the Laplace approximation")
        try:
            scale = np.linalg.cholesky(np.linalg.inv(self.hessian))
        except np.linalg.LinAlgError:
            raise ValueError(
                "the Hessian at the optimum is not positive definite (a saddle point, an "
                "optimum on a boundary or an unknown the data do not identify): there is "
                "no Laplace approximation") from None
        return gaussian_draws(self.model, self.unconstrained, scale, n, seed)

    @property
    def sd(self) -> dict[str, np.ndarray]:
        """The Laplace approximation's sd of every unknown and target by name, on the
        constrained scale (from 4000 draws with a fixed seed); needs ``hessian=True``."""
        if self._sd is None:
            self._sd = summary_moments(self.draws(SUMMARY_DRAWS, seed=0))["sd"]
        return self._sd


def _objective_scale(model: Model) -> float:
    """Objectives are divided by the number of observations, so tolerances mean the same
    at any data size (and float32 L-BFGS does not stop at once)."""
    n = sum(t.value.size for t in model.terms if t.value is not None and t.value.op == "data")
    return float(max(n, 1))


def compiled_objective(model: Model, adjust: bool) -> Callable:
    """Compiled: unconstrained vector -> (objective, gradient), the objective being minus
    the log density divided by the number of observations."""
    B = model.backend
    scale = _objective_scale(model)

    def build() -> Callable:
        def value_and_grad(x: Any, *data: Any) -> Any:
            return B.value_and_gradient(
                lambda z: -model.log_density(z, data, adjust) / scale, x)

        return B.compile_function(value_and_grad)

    return model.compiled(("objective", adjust), build)


class _Evaluations:
    """The compiled objective and gradient as numpy, remembering the last point (the
    starting-point check and the optimiser's first call are at the same point)."""

    def __init__(self, model: Model, adjust: bool, place: Any = None) -> None:
        self.model = model
        self.objective = (place or OneDevice()).with_data(compiled_objective(model, adjust), 1)
        self.last: tuple[np.ndarray, float, np.ndarray] | None = None
        self.best: tuple[float, np.ndarray] | None = None  # for an interrupted run
        self.count = 0

    def __call__(self, x: np.ndarray) -> tuple[float, np.ndarray]:
        if self.last is not None and np.array_equal(self.last[0], x):
            return self.last[1], self.last[2]
        B, model = self.model.backend, self.model
        value, grad = B.to_numpy(self.objective(B.convert(x, model.float_dtype),
                                                *model.data_tensors()))
        self.last = (np.array(x, copy=True), float(value), np.asarray(grad, np.float64))
        self.count += 1
        if np.isfinite(self.last[1]) and (self.best is None or self.last[1] < self.best[0]):
            self.best = (self.last[1], self.last[0])
        return self.last[1], self.last[2]

    def finite(self, flats: np.ndarray) -> np.ndarray:
        return np.array([np.isfinite(v) and np.all(np.isfinite(g))
                         for v, g in (self(flat) for flat in flats)])


def hessian_at(model: Model, evaluate: _Evaluations, x: np.ndarray) -> np.ndarray:
    """The Hessian of minus the log density at the unconstrained point ``x``: central
    differences of the compiled gradient (steps of 1e-5, 5e-3 in single precision,
    relative to each coordinate beyond 1), symmetrised."""
    step = 5e-3 if model.precision == "single" else 1e-5
    columns = []
    for j in range(x.shape[0]):
        h = step * max(1.0, abs(float(x[j])))
        up, down = x.copy(), x.copy()
        up[j] += h
        down[j] -= h
        columns.append((evaluate(up)[1] - evaluate(down)[1]) / (2 * h))
    hessian = np.stack(columns, axis=1) * _objective_scale(model)
    if not np.all(np.isfinite(hessian)):
        raise np.linalg.LinAlgError("the Hessian is not finite")
    return (hessian + hessian.T) / 2


def _quasi_newton(model: Model, optimizer: str, evaluate: _Evaluations, x0: np.ndarray,
                  max_iterations: int, tolerance: float) -> tuple:
    """scipy's L-BFGS-B or BFGS, driving the compiled objective and gradient."""
    from scipy.optimize import minimize

    def fun(x: np.ndarray) -> tuple[float, np.ndarray]:
        value, grad = evaluate(x)
        if not np.isfinite(value):  # a failed step: let the line search back off
            return np.inf, np.zeros_like(x)
        return value, grad

    method = "L-BFGS-B" if optimizer == "lbfgs" else "BFGS"
    options = {"maxiter": max_iterations, "gtol": tolerance}
    if method == "L-BFGS-B":
        # stop on the gradient; a relative change of the objective this small means the
        # objective cannot improve at this precision
        options["ftol"] = 10 * np.finfo(np.float32 if model.precision == "single"
                                        else np.float64).eps
    result = minimize(fun, x0, jac=True, method=method, options=options)
    # a line search that can improve no further next to a vanishing gradient has converged
    # as far as the precision allows
    converged = bool(result.success) or float(np.max(np.abs(result.jac))) <= 100 * tolerance
    return result.x, result.fun, converged, result.nit


def _build_adam(model: Model, adjust: bool, max_iterations: int, tolerance: float,
                learning_rate: float) -> Callable:
    B = model.backend
    scale = _objective_scale(model)

    def run(x0: Any, *data: Any) -> tuple:
        def value_and_grad(x: Any) -> Any:
            return B.value_and_gradient(
                lambda z: -model.log_density(z, data, adjust) / scale, x)

        return _adam(B, value_and_grad, x0, max_iterations, tolerance, learning_rate)

    return B.compile_once(run)


def _adam(B: Any, value_and_grad: Callable, x0: Any, iterations: int, tolerance: float,
          learning_rate: float) -> tuple:
    b1, b2, eps = 0.9, 0.999, 1e-8

    def cond(i: Any, x: Any, m: Any, v: Any, f: Any, step: Any) -> Any:
        return (i < iterations) & (step > tolerance)

    def body(i: Any, x: Any, m: Any, v: Any, f: Any, step: Any) -> tuple:
        f, g = value_and_grad(x)
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        t = B.cast(i + 1, x.dtype)
        update = learning_rate * (m / (1 - b1**t)) / (B.np.sqrt(v / (1 - b2**t)) + eps)
        return i + 1, x - update, m, v, f, B.np.max(B.np.abs(update))

    zeros = x0 * 0.0
    big = B.convert(np.inf, x0.dtype)
    i, x, _, _, f, step = B.while_loop(cond, body, (B.convert(0), x0, zeros, zeros, big, big))
    return x, value_and_grad(x)[0], step <= tolerance, i


@tracked("opt")
def opt(model: Model, optimizer: str = "lbfgs", adjust: bool = True,
        initial_values: dict[str, Any] | None = None, seed: int | None = None,
        max_iterations: int = 1000, tolerance: float = 1e-8,
        learning_rate: float = 0.05, hessian: bool = False, device: str | None = None,
        devices: Any = None, shard: str | None = None) -> OptResult:
    """Find the mode: MAP with the Jacobian-adjusted density, or MLE without it.

    Parameters
    ----------
    model : Model
        The model.
    optimizer : {"lbfgs", "bfgs", "adam"}
        L-BFGS (default) or BFGS (scipy's, driving the compiled density and gradient),
        or Adam with ``learning_rate`` (one compiled loop).
    adjust : bool
        True: maximise the density of the unconstrained parameters, including the log
        Jacobian of their transformations (as greta does for MAP). False: the density
        of the constrained parameters as written (MLE when priors are flat).
    initial_values : dict, optional
        Constrained starting values by unknown name (others start at random).
    seed : int, optional
        Seed for the random start.
    max_iterations, tolerance : int, float
        Stopping rules (the gradient tolerance is on the objective divided by the
        number of observations).
    learning_rate : float
        Adam's step size.
    hessian : bool
        Also compute the Hessian at the optimum (``fit.hessian``, unconstrained scale, by
        central differences of the gradient: two gradients per unknown value), which gives
        the Laplace approximation: ``fit.draws(n)`` and ``fit.sd``.
    device : {"cpu", "gpu"}, optional
        Where to run; by default the backend's choice.
    devices, shard : optional
        JAX backend: split the rows of the data over several devices, as in :func:`vi`.

    Returns
    -------
    OptResult
        Ctrl-C (KeyboardInterrupt) returns the best point found so far, with a warning
        and ``interrupted=True``.

    Examples
    --------
    >>> import numpy as np, tfstats as ts
    >>> mu = ts.variable()
    >>> y = ts.normal(mu, 1, observed=np.array([1.0, 2.0, 3.0]))
    >>> fit = ts.opt(ts.model(mu), adjust=False)
    >>> round(float(fit.par["mu"]), 4)
    2.0
    """
    check_no_minibatch(model, "opt")
    if optimizer not in OPTIMIZERS:
        raise ValueError(f"optimizer must be one of {OPTIMIZERS}, got {optimizer!r}")
    if not isinstance(hessian, bool | np.bool_):
        raise ValueError(f"hessian must be True or False, got {hessian!r}")
    B = model.backend
    with B.device_scope(device):
        place = placement(model, devices, shard, caller="opt", platform=device)
        return _optimise(model, optimizer, adjust, initial_values, seed, max_iterations,
                         tolerance, learning_rate, place, hessian)


def _optimise(model: Model, optimizer: str, adjust: bool, initial_values: Any,
              seed: int | None, max_iterations: int, tolerance: float,
              learning_rate: float, place: Any = None, hessian: bool = False) -> OptResult:
    B = model.backend
    place = place or OneDevice()
    evaluate = _Evaluations(model, adjust, place)
    x0 = initial_state(model, 1, initial_values, seed, adjust=adjust,
                       finite=evaluate.finite)[0]
    interrupted = False
    try:
        if optimizer == "adam":
            run = place.with_data(model.compiled(
                ("adam", adjust, max_iterations, tolerance, learning_rate),
                lambda: _build_adam(model, adjust, max_iterations, tolerance, learning_rate)), 1)
            position, value, converged, iterations = B.to_numpy(
                run(B.convert(x0, model.float_dtype), *model.data_tensors()))
        else:
            position, value, converged, iterations = _quasi_newton(
                model, optimizer, evaluate, x0, max_iterations, tolerance)
    except KeyboardInterrupt:
        if evaluate.best is None:
            raise
        value, position = evaluate.best
        converged, iterations, interrupted = False, evaluate.count, True
        warnings.warn(f"optimisation interrupted after {evaluate.count} evaluations: "
                      f"returning the best point so far (not converged)",
                      stacklevel=user_stacklevel())
    ev = model.evaluator(model.data_tensors(), flat=B.convert(position, model.float_dtype))
    par = {k: np.asarray(B.to_numpy(ev.to_float(ev(a))))
           for k, a in model.output_arrays().items()}
    curvature = None
    if hessian and not interrupted:
        try:
            curvature = hessian_at(model, evaluate, np.asarray(position, np.float64))
        except np.linalg.LinAlgError:
            warnings.warn("the Hessian at the optimum is not finite: fit.hessian is None",
                          stacklevel=user_stacklevel())
    return OptResult(
        par=par,
        value=float(-value * _objective_scale(model)),
        converged=bool(converged), iterations=int(iterations), optimizer=optimizer,
        unconstrained=np.asarray(position), model=model, interrupted=interrupted,
        hessian=curvature,
    )
