"""ode(): solutions against scipy's solve_ivp, gradients against finite differences, a
Lotka-Volterra posterior, failing solves as divergences, and errors; on both backends."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest
from scipy.integrate import solve_ivp

import tfstats as ts
from tfstats.backends import backend_name, get_backend

BACKENDS = ["tensorflow", pytest.param("jax", marks=pytest.mark.skipif(
    pytest.importorskip("importlib.util").find_spec("diffrax") is None,
    reason="diffrax is not installed"))]

LV_TRUE = np.array([0.55, 0.028, 0.024, 0.8])
LV_Y0 = np.array([10.0, 5.0])
LV_TIMES = np.linspace(1.0, 10.0, 8)


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> Iterator[str]:
    before = backend_name()
    ts.set_backend(request.param)
    yield request.param
    ts.set_backend(before)


def lotka_volterra(theta: ts.Array):
    def rhs(y: ts.Array, t: ts.Array) -> ts.Array:
        prey, predators = y[0], y[1]
        return ts.stack([theta[0] * prey - theta[1] * prey * predators,
                         theta[2] * prey * predators - theta[3] * predators])
    return rhs


def lv_reference(theta: np.ndarray, y0: np.ndarray, times: np.ndarray) -> np.ndarray:
    a, b, c, d = theta
    solution = solve_ivp(lambda t, y: [a * y[0] - b * y[0] * y[1], c * y[0] * y[1] - d * y[1]],
                         (0.0, times[-1]), y0, t_eval=times, rtol=1e-12, atol=1e-12)
    return solution.y.T


def test_lotka_volterra_matches_solve_ivp(backend: str) -> None:
    """dopri5, with the parameters and the initial state unknowns of the model."""
    theta = ts.lognormal(0, 1, dim=4)
    y0 = ts.lognormal(2, 1, dim=2)
    times = np.linspace(0.0, 12.0, 9)  # the first time is t0: the initial state
    z = ts.ode(lotka_volterra(theta), y0, times, rtol=1e-9, atol=1e-9)
    out = ts.calculate(z, values={theta: LV_TRUE, y0: LV_Y0})
    assert out.shape == (9, 2)
    np.testing.assert_allclose(out, lv_reference(LV_TRUE, LV_Y0, times), rtol=1e-5)


def robertson(k: ts.Array):
    def rhs(y: ts.Array, t: ts.Array) -> ts.Array:
        a = -k[0] * y[0] + k[2] * y[1] * y[2]
        c = k[1] * y[1] ** 2
        return ts.stack([a, -a - c, c])
    return rhs


def test_robertson_stiff_problem_with_bdf(backend: str) -> None:
    k_true = np.array([0.04, 3e7, 1e4])
    k = ts.lognormal(0, 10, dim=3)
    times = np.array([0.01, 0.1, 1.0, 10.0, 100.0])
    z = ts.ode(robertson(k), np.array([1.0, 0.0, 0.0]), times, method="bdf", rtol=1e-9,
               atol=1e-12)
    out = ts.calculate(z, values={k: k_true})

    def reference(t: float, y: np.ndarray) -> list[float]:
        a = -k_true[0] * y[0] + k_true[2] * y[1] * y[2]
        return [a, -a - k_true[1] * y[1] ** 2, k_true[1] * y[1] ** 2]

    expected = solve_ivp(reference, (0.0, 100.0), [1.0, 0.0, 0.0], method="Radau",
                         t_eval=times, rtol=1e-12, atol=1e-16).y.T
    np.testing.assert_allclose(out, expected, rtol=1e-5, atol=1e-11)
    np.testing.assert_allclose(out.sum(axis=1), 1.0, rtol=1e-8)  # mass is conserved


@pytest.mark.parametrize("backend, method", [
    ("tensorflow", "dopri5"), ("tensorflow", "bdf"), ("jax", "dopri5")], indirect=["backend"])
def test_gradient_matches_finite_differences(backend: str, method: str) -> None:
    """The gradient of a log density reaches the parameters fn uses and the unknown initial
    state: TFP's adjoint method on TensorFlow (each solver has its own), differentiation
    through diffrax on JAX (the same for both solvers; "bdf" left out for compile time)."""
    rate = ts.normal(0, 1, dim=2)
    start = ts.normal(1, 1)
    y = ts.ode(lambda y, t: ts.stack([-rate[0] * y[0] + y[1], -rate[1] * y[1] * y[0]]),
               ts.stack([start, 0.5]), [0.5, 1.0, 2.0], method=method, rtol=1e-10,
               atol=1e-10)
    ts.normal(y, 0.3, observed=np.array([[0.9, 0.4], [0.8, 0.3], [0.5, 0.2]]))
    model = ts.model(rate=rate, start=start)
    B = get_backend()
    data = model.data_tensors()

    compiled = B.compile_once(lambda x: B.value_and_gradient(
        lambda u: model.log_density(u, data, False), x))

    point = np.array([0.7, 1.2, 1.1])
    value, grad = (np.asarray(B.to_numpy(v)) for v in compiled(B.convert(point,
                                                                        model.float_dtype)))
    h = 1e-5
    finite = []
    for i in range(3):
        step = np.zeros(3)
        step[i] = h
        up = compiled(B.convert(point + step, model.float_dtype))[0]
        down = compiled(B.convert(point - step, model.float_dtype))[0]
        finite.append((float(B.to_numpy(up)) - float(B.to_numpy(down))) / (2 * h))
    assert np.isfinite(value)
    np.testing.assert_allclose(grad, finite, rtol=1e-5, atol=1e-6)


def blow_up_model() -> tuple[ts.Array, ts.Array, np.ndarray]:
    """dy/dt = k y^2, y(0) = 1 blows up at t = 1/k: for k > 0.5 before t = 2."""
    k = ts.normal(0, 1)
    times = np.array([0.5, 1.0, 2.0])
    y = ts.ode(lambda y, t: k * y ** 2, 1.0, times)
    ts.normal(y, 1.0, observed=np.array([0.9, 0.6, 0.5]))
    return k, y, times


def test_a_failing_solve_gives_nan_not_an_error(backend: str) -> None:
    """The solution and the log density are NaN where the solver fails, compiled with their
    gradient too; finite elsewhere."""
    k, y, times = blow_up_model()
    model = ts.model(k=k)
    B = get_backend()
    data = model.data_tensors()

    def solution_density_and_gradient(x):
        value, grad = B.value_and_gradient(lambda u: model.log_density(u, data), x)
        return model.evaluator(data, flat=x)(y), value, grad

    compiled = B.compile_function(solution_density_and_gradient)
    blown, fine = ([np.asarray(B.to_numpy(t)) for t in compiled(
        B.convert([value], model.float_dtype))] for value in (1.0, -0.5))
    assert np.all(np.isnan(blown[0])) and not np.isfinite(blown[1])
    np.testing.assert_allclose(fine[0], 1 / (1 + 0.5 * times), rtol=1e-5)
    assert np.isfinite(fine[1]) and np.isfinite(fine[2]).all()


@pytest.mark.parametrize("backend", ["tensorflow"], indirect=True)
def test_nuts_counts_failing_solves_as_divergences(backend: str) -> None:
    """NUTS proposals that reach the blow-up (k > 0.5) are divergences, not exceptions. (On
    JAX the same run gave 31 divergences; it is left out here for its compile time.)"""
    k, _, _ = blow_up_model()
    draws = ts.mcmc(ts.model(k=k), n_samples=200, warmup=200, chains=2, seed=2,
                    initial_values={"k": 0.3}, progress=False)
    assert np.all(np.isfinite(draws["k"])) and np.all(draws["k"] < 0.5)
    assert draws.divergences > 0


@pytest.mark.parametrize("backend", ["tensorflow"], indirect=True)
def test_matrix_state_and_time_dependent_rhs(backend: str, evaluate) -> None:
    """A (2, 2) state decaying at rates given by an unknown matrix, with forcing in t."""
    rates = ts.variable(lower=0, dim=(2, 2))
    times = np.array([0.5, 1.5])
    y = ts.ode(lambda y, t: -rates * y + np.cos(t), np.ones((2, 2)), times, t0=0.25)
    assert y.shape == (2, 2, 2)
    r = np.array([[0.5, 1.0], [2.0, 3.0]])
    out = evaluate(y, {rates: r})
    # y' = -r y + cos t: y(t) = e^{-r(t - t0)} y0 + int_t0^t e^{-r(t - s)} cos s ds
    def exact(t: float) -> np.ndarray:
        def primitive(s: float) -> np.ndarray:
            return np.exp(r * s) * (r * np.cos(s) + np.sin(s)) / (1 + r ** 2)
        return np.exp(-r * (t - 0.25)) + np.exp(-r * t) * (primitive(t) - primitive(0.25))
    np.testing.assert_allclose(out, np.stack([exact(t) for t in times]), rtol=1e-5)


def test_errors_are_raised_where_the_model_is_written() -> None:
    k = ts.normal(0, 1)
    with pytest.raises(ts.ModelError, match="fn must be a function"):
        ts.ode(3.0, 1.0, [1.0])
    with pytest.raises(ts.ModelError, match=r"fn returned shape \(2,\).*\(y0\) has shape \(3,\)"):
        ts.ode(lambda y, t: ts.stack([y[0], y[1]]), np.ones(3), [1.0])
    with pytest.raises(ts.ModelError, match="strictly increasing"):
        ts.ode(lambda y, t: -k * y, 1.0, [1.0, 3.0, 2.0])
    with pytest.raises(ts.ModelError, match=r"not be before t0 = 1.0"):
        ts.ode(lambda y, t: -k * y, 1.0, [0.5, 2.0], t0=1.0)
    with pytest.raises(ts.ModelError, match="unknown method 'rk4'"):
        ts.ode(lambda y, t: -k * y, 1.0, [1.0], method="rk4")
    with pytest.raises(ts.ModelError, match="rtol must be a positive number"):
        ts.ode(lambda y, t: -k * y, 1.0, [1.0], rtol=0)
    with pytest.raises(ts.ModelError, match="atol must be a positive number"):
        ts.ode(lambda y, t: -k * y, 1.0, [1.0], atol=-1e-6)
    with pytest.raises(ts.ModelError, match="times must be fixed numbers"):
        ts.ode(lambda y, t: -k * y, 1.0, k * np.ones(2))
    with pytest.raises(ts.ModelError, match="fn creates unknowns"):
        ts.ode(lambda y, t: -ts.normal(0, 1) * y, 1.0, [1.0])


def test_a_model_with_an_ode_pickles() -> None:
    cloudpickle = pytest.importorskip("cloudpickle")
    k = ts.lognormal(0, 1)
    y = ts.ode(lambda y, t: -k * y, 2.0, [1.0, 2.0])
    ts.normal(y, 0.1, observed=np.array([0.8, 0.3]))
    model = cloudpickle.loads(cloudpickle.dumps(ts.model(k=k)))
    assert np.isfinite(model.log_prob({"k": 1.0}))


@pytest.mark.parametrize("backend", ["jax"], indirect=True)
def test_single_precision_bdf_on_jax(backend: str) -> None:
    """diffrax's Kvaerno5 fails in float32 (max_steps on y' = -0.7 y): in float32 models it
    steps in float64 around the float32 right-hand side. (TensorFlow's BDF is fine.)"""
    k = ts.lognormal(0, 1)
    times = np.array([1.0, 2.0, 3.0])
    y = ts.ode(lambda y, t: -k * y, 2.0, times, method="bdf")
    out = ts.calculate(y, values={k: 0.7}, precision="single")
    assert out.dtype == np.float32
    np.testing.assert_allclose(out, 2 * np.exp(-0.7 * times), rtol=1e-4)
