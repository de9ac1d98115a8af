"""precision="mixed" (the CPU default): float32 data-sized work, float64 everything else.

Tolerances: float32 rounds each value by at most 6e-8 of itself. Summed in float64 over N
rows, the random part of that rounding moves the log density by about sqrt(N) * 1e-7;
rounding a parameter-only part shared by every row (``log(sigma)`` in a normal term) can
move it coherently by up to N * 6e-8 * |log sigma| (0.004 nats at N = 100,000 in
``docs/performance_mcmc.md``). The tests allow 1e-7 * N nats of variation of the error
between points and 1e-5 of relative error on the gradient (measured: about 1e-6).
"""

from __future__ import annotations

import numpy as np
import pytest

import tfstats as ts
from tfstats.compile_cache import structure_key
from tfstats.mixed_precision import LARGE

N, D = 20_000, 4
RNG = np.random.default_rng(20261130)
X = RNG.normal(size=(N, D))
BETA = np.array([0.4, -0.3, 0.2, 0.1])
ETA = 0.3 + X @ BETA
# per-row sd scales: a normal likelihood with a scalar sd and a linear mean is summed from
# float64 sufficient statistics instead (tfstats.linear_gaussian), whatever the precision
SCALE = 1.0 + RNG.uniform(size=N) / 2
Y = {"bernoulli": (RNG.uniform(size=N) < 1 / (1 + np.exp(-ETA))).astype(float),
     "gaussian": ETA + 1.5 * SCALE * RNG.normal(size=N),
     "poisson": RNG.poisson(np.exp(ETA)).astype(float)}


def glm(family: str, precision: str | None, x: np.ndarray = X) -> ts.Model:
    alpha = ts.normal(0, 5)
    beta = ts.normal(0, 1, dim=D)
    eta = alpha + x @ beta
    targets = {"alpha": alpha, "beta": beta}
    if family == "bernoulli":
        ts.bernoulli(ts.ilogit(eta), observed=Y[family])
    elif family == "gaussian":
        sigma = ts.normal(0, 1, truncation=(0, None))
        ts.normal(eta, sigma * SCALE, observed=Y[family])
        targets["sigma"] = sigma
    else:
        ts.poisson(np.exp(eta), observed=Y[family])
    return ts.model(**targets, precision=precision)


def values_and_gradients(model: ts.Model, flats: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    B = model.backend
    fn = B.compile_function(B.vectorize_value_and_gradient(
        lambda flat, *data: model.log_density(flat, data)))
    value, grad = fn(B.convert(flats, model.float_dtype), *model.data_tensors())
    assert B.to_numpy(value).dtype == np.float64
    return np.asarray(B.to_numpy(value)), np.asarray(B.to_numpy(grad))


def data_dtypes(model: ts.Model) -> list[str]:
    return sorted(np.dtype(getattr(t.dtype, "as_numpy_dtype", t.dtype)).name
                  for t in model.data_tensors())


def test_mixed_is_the_cpu_default_and_passes_large_float_data_in_float32() -> None:
    assert X.size >= LARGE
    model = glm("bernoulli", None)
    assert model.precision == "mixed"
    assert model.float_dtype == model.backend.float_dtype("double")
    assert data_dtypes(model) == ["float32", "float32"]  # X and y
    assert glm("bernoulli", "double").single_data == frozenset()
    assert glm("bernoulli", "single").single_data == frozenset()


def test_data_that_float32_would_blur_keep_the_model_in_float64() -> None:
    blurred = 1e6 + X / 10  # float32 keeps these to 0.06: 0.6 sd
    kept = glm("bernoulli", "mixed", blurred)
    assert kept.single_data == frozenset()
    # same graph, other argument dtypes: no compiled function is shared
    assert structure_key(kept) != structure_key(glm("bernoulli", "mixed"))
    mutable = ts.as_data(X, mutable=True)  # set_data may bring any values: float64
    assert data_dtypes(glm("bernoulli", "mixed", mutable)) == ["float32", "float64"]  # y, X
    small = X[:100]
    beta = ts.normal(0, 1, dim=D)
    ts.normal(small @ beta, 1.0, observed=Y["gaussian"][:100])
    assert ts.model(beta=beta).single_data == frozenset()
    years = np.column_stack([np.arange(N) % 30 + 1990.0, X[:, 1:]])  # exact in float32
    assert glm("bernoulli", "mixed", years).single_data != frozenset()


@pytest.mark.parametrize("family", ["bernoulli", "gaussian", "poisson"])
def test_log_density_and_gradient_agree_with_strict_float64(family: str) -> None:
    mixed, double = glm(family, "mixed"), glm(family, "double")
    assert mixed.single_data and not mixed.linear_gaussian
    flats = np.zeros((8, mixed.n_free))
    flats[:, 0], flats[:, 1:D + 1] = 0.3, BETA
    flats += np.random.default_rng(1).normal(size=flats.shape) * 3 / np.sqrt(N)
    if family == "gaussian":
        flats[:, -1] = np.log(np.expm1(1.5))
    lp_mixed, grad_mixed = values_and_gradients(mixed, flats)
    lp_double, grad_double = values_and_gradients(double, flats)
    error = lp_mixed - lp_double
    assert np.max(np.abs(error - error.mean())) <= 1e-7 * N
    assert np.max(np.abs(error)) <= 1e-6 * N  # a constant offset is allowed besides
    relative = (np.linalg.norm(grad_mixed - grad_double, axis=1)
                / np.linalg.norm(grad_double, axis=1))
    assert np.max(relative) <= 1e-5


def test_indexing_reductions_and_calculate_on_float32_data() -> None:
    group = np.arange(N) % 10
    effects = ts.normal(0, 1, dim=10)
    scale = ts.normal(0, 1, truncation=(0, None))
    first = X[:, 0] * effects[group]  # data-sized: float32
    column_means = np.mean(X, axis=0) @ effects[:D]  # a reduction: float64
    mean = first + np.maximum(X[:, 1], 0.0) * scale + column_means
    ts.normal(mean, SCALE, observed=Y["gaussian"])
    values = {"effects": np.linspace(-1, 1, 10), "scale": 0.7}
    mixed = ts.model(effects=effects, scale=scale, mean=mean)
    double = ts.model(effects=effects, scale=scale, mean=mean, precision="double")
    assert mixed.single_data and not mixed.linear_gaussian
    assert abs(mixed.log_prob(values) - double.log_prob(values)) <= 1e-6 * N
    calculated = ts.calculate(mean, values=values)
    assert calculated.dtype == np.float64
    exact = (X[:, 0] * values["effects"][group] + np.maximum(X[:, 1], 0.0) * 0.7
             + np.mean(X, axis=0) @ values["effects"][:D])
    np.testing.assert_allclose(calculated, exact, rtol=1e-5, atol=1e-6)


def test_mixture_with_data_sized_weights() -> None:
    weights = np.random.default_rng(2).dirichlet([1.0, 1.0], size=N)
    models = {}
    for precision in ("mixed", "double"):
        low, high = ts.normal(0, 5), ts.normal(0, 5)
        ts.mixture(ts.normal(low, 1.0), ts.normal(high, 1.5), weights=weights,
                   observed=Y["gaussian"])
        models[precision] = ts.model(low=low, high=high, precision=precision)
    assert models["mixed"].single_data
    values = {"low": -0.5, "high": 1.0}
    assert abs(models["mixed"].log_prob(values) - models["double"].log_prob(values)) <= 1e-6 * N


def test_posterior_of_a_conjugate_regression_within_mcse() -> None:
    """Known noise sds (per row): the posterior is Gaussian with a closed form."""
    y, sd = Y["gaussian"], 1.5 * SCALE
    beta = ts.normal(0, 1, dim=D)
    ts.normal(X @ beta, sd, observed=y)
    model = ts.model(beta=beta)
    assert model.single_data and not model.linear_gaussian
    weights = 1.0 / sd**2
    cov = np.linalg.inv(X.T @ (X * weights[:, None]) + np.eye(D))
    mean = cov @ (X.T @ (y * weights))
    draws = ts.mcmc(model, n_samples=300, warmup=300, chains=2, seed=3, progress=False)
    summary = draws.summary()
    mcse = summary["sd"].to_numpy() / np.sqrt(summary["ess_bulk"].to_numpy())
    z = (summary["mean"].to_numpy() - mean) / mcse
    assert np.all(np.abs(z) < 4.5), z
    np.testing.assert_allclose(summary["sd"].to_numpy(), np.sqrt(np.diag(cov)), rtol=0.2)
