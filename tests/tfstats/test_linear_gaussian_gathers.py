"""Gathers in a Gaussian likelihood summed from sufficient statistics (``alpha[county]``,
``x * b[county]``): the same log density and gradient as the per-row sum, batched over
chains, on both backends; the rule that keeps costly gathers per row; set_data on a mutable
index; the iterative fit of a large sparse Gram."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import tfstats as ts
from tests.tfstats.rewrites import switch_off, traced_shapes, value_and_gradient
from tfstats import linear_gaussian
from tfstats.linear_gaussian import ENVIRONMENT

N_ROWS, N_GROUPS, N_OTHER = 211, 13, 7


@pytest.fixture
def rewrite_off(monkeypatch: pytest.MonkeyPatch) -> Any:
    """Builds models without the rewrite while in use: ``with rewrite_off(): ...``."""
    return switch_off(monkeypatch, ENVIRONMENT)


def _data(seed: int = 5) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    group = rng.integers(0, N_GROUPS, size=N_ROWS)
    group[:N_GROUPS - 1] = np.arange(N_GROUPS - 1)  # the last group has maybe no rows
    group[group == N_GROUPS - 1] = 0
    other = rng.integers(0, N_OTHER, size=N_ROWS)
    X = rng.normal(size=(N_ROWS, 2))
    x = rng.normal(size=N_ROWS)
    y = rng.normal(size=N_GROUPS)[group] + X @ [0.5, -1.0] + x * 0.3 + rng.normal(size=N_ROWS)
    return {"group": group, "other": other, "X": X, "x": x, "y": y}


def _varying(data: dict[str, np.ndarray]) -> ts.Model:
    """Radon's form: a non-centred varying intercept gathered, plus a data slope."""
    mu = ts.normal(0, 5)
    tau = ts.normal(0, 1, truncation=(0, None))
    raw = ts.normal(0, 1, dim=N_GROUPS)
    beta = ts.normal(0, 1)
    sigma = ts.normal(0, 1, truncation=(0, None))
    ts.normal((mu + tau * raw)[data["group"]] + beta * data["x"], sigma, observed=data["y"])
    return ts.model(mu=mu, tau=tau, raw=raw, beta=beta, sigma=sigma)


def _mixed(data: dict[str, np.ndarray]) -> ts.Model:
    """An intercept, a matmul, a varying slope (x * b[group]) subtracted, and a second
    grouping (its columns dense beside the diagonal block)."""
    alpha = ts.normal(0, 5)
    beta = ts.normal(0, 1, dim=2)
    slope = ts.normal(0, 1, dim=N_GROUPS)
    effect = ts.normal(0, 1, dim=N_OTHER)
    sigma = ts.normal(0, 1, truncation=(0, None))
    ts.normal(alpha + data["X"] @ beta - data["x"] * slope[data["group"]]
              + effect[data["other"]], sigma, observed=data["y"])
    return ts.model(alpha=alpha, beta=beta, slope=slope, effect=effect, sigma=sigma)


MODELS: dict[str, tuple[Callable[[dict], ts.Model], int]] = {
    "varying intercept": (_varying, N_GROUPS + 1),
    "mixed": (_mixed, 1 + 2 + N_GROUPS + N_OTHER),
}


@pytest.mark.parametrize("name", list(MODELS))
def test_density_and_gradient_match_the_rows(backend: str, name: str,
                                             rewrite_off: Any) -> None:
    build, columns = MODELS[name]
    data = _data()
    fast = build(data)
    with rewrite_off():
        rows = build(data)
    assert [r.n_columns for r in fast.linear_gaussian] == [columns]
    assert fast.linear_gaussian[0].diagonal == N_GROUPS
    flats = np.random.default_rng(2).normal(0.0, 0.8, size=(4, fast.n_free))  # 4 chains
    value, grad = value_and_gradient(fast, flats)
    expected_value, expected_grad = value_and_gradient(rows, flats)
    np.testing.assert_allclose(value, expected_value, rtol=1e-10)
    scale = np.max(np.abs(expected_grad), axis=1, keepdims=True)
    np.testing.assert_allclose(grad / scale, expected_grad / scale, atol=1e-10)


def test_costly_gathers_stay_per_row() -> None:
    """Two groupings of many levels: the second one's columns would be dense beside the
    diagonal block, a quadratic form dearer than the rows."""
    rng = np.random.default_rng(3)
    first, second = rng.integers(0, 60, size=N_ROWS), rng.integers(0, 60, size=N_ROWS)
    a, b = ts.normal(0, 1, dim=60), ts.normal(0, 1, dim=60)
    ts.normal(a[first] + b[second], 1.0, observed=rng.normal(size=N_ROWS))
    assert ts.model(a, b).linear_gaussian == []
    c = ts.normal(0, 1, dim=60)  # one grouping: the diagonal block alone
    ts.normal(c[first], 1.0, observed=rng.normal(size=N_ROWS))
    assert [r.cost for r in ts.model(c).linear_gaussian] == [60]


def test_unknown_or_two_dimensional_index_stays_per_row() -> None:
    rng = np.random.default_rng(4)
    a = ts.normal(0, 1, dim=(N_GROUPS, 2))
    ts.normal(a[rng.integers(0, N_GROUPS, size=N_ROWS), 0], 1.0,
              observed=rng.normal(size=N_ROWS))
    assert ts.model(a).linear_gaussian == []


def test_set_data_on_a_mutable_index(rewrite_off: Any) -> None:
    first, second = _data(5), _data(6)

    def build(data: dict[str, np.ndarray]) -> ts.Model:
        group = ts.as_data(data["group"], mutable=True)
        a = ts.normal(0, 1, dim=N_GROUPS)
        sigma = ts.variable(lower=0)
        ts.normal(a[group], sigma, observed=data["y"])
        return ts.model(a=a, sigma=sigma)

    model = build(first)
    assert len(model.linear_gaussian) == 1
    with rewrite_off():
        reference = build({**first, "group": second["group"]})
    values = {"a": np.linspace(-1.0, 1.0, N_GROUPS), "sigma": 1.3}
    before = model.log_prob(values)
    model.set_data(group=second["group"])
    assert model.log_prob(values) != pytest.approx(before)
    np.testing.assert_allclose(model.log_prob(values), reference.log_prob(values), rtol=1e-12)


def test_iterative_fit_of_a_large_gram(rewrite_off: Any,
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """Above DENSE_SOLVE columns c0 comes from LSQR on the sparse Gram; rows in blocks."""
    monkeypatch.setattr(linear_gaussian, "DENSE_SOLVE", 0)
    monkeypatch.setattr(linear_gaussian, "BLOCK_ROWS", 50)
    data = _data()
    fast = _mixed(data)
    with rewrite_off():
        rows = _mixed(data)
    values = {"alpha": 0.4, "beta": [0.3, -0.2], "slope": np.linspace(-1, 1, N_GROUPS),
              "effect": np.linspace(1, -1, N_OTHER), "sigma": 0.9}
    np.testing.assert_allclose(fast.log_prob(values), rows.log_prob(values), rtol=1e-12)


def test_the_density_reads_no_row_data(backend: str) -> None:
    """Neither the gather nor its scatter-add gradient is left in the traced density."""
    model = _varying(_data())
    shapes = traced_shapes(model, backend)
    assert shapes and all(N_ROWS not in s for s in shapes)
