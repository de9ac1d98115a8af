"""The pass over row blocks split into independent shares of the rows (one per usable
core on JAX, ``TFSTATS_ROW_BLOCKS_SPLIT``): the same value and gradient as one share, to
rounding, on both backends, and the switch."""

from __future__ import annotations

import os

import numpy as np
import pytest

import tfstats as ts
from tests.tfstats.rewrites import value_and_gradient
from tfstats import blocked_glm, compile_cache
from tfstats.blocked_glm import SPLIT_ENVIRONMENT

N_ROWS = 4099  # 16 blocks of 256 rows and 3 rows left


@pytest.fixture(autouse=True)
def small_blocks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(blocked_glm, "MIN_BYTES", {"tensorflow": 0, "jax": 0})
    monkeypatch.setattr(blocked_glm, "BLOCK_BYTES", 4096)  # 256 rows of 4 float32 columns


def _glm(family: str, parts: int, monkeypatch: pytest.MonkeyPatch) -> ts.Model:
    """A GLM (intercept, X @ beta, an offset) whose sweep sums ``parts`` shares."""
    monkeypatch.setattr(blocked_glm, "split_parts", lambda: parts)
    rng = np.random.default_rng(7)
    X, offset = rng.normal(size=(N_ROWS, 4)), 0.1 * rng.normal(size=N_ROWS)
    truth = 0.2 + X @ np.array([0.4, -0.3, 0.2, 0.1]) + offset
    alpha, beta = ts.normal(0, 2), ts.normal(0, 1, dim=4)
    eta = alpha + X @ beta + offset
    if family == "bernoulli":
        ts.bernoulli(ts.ilogit(eta), observed=(rng.uniform(size=N_ROWS)
                                               < 1 / (1 + np.exp(-truth))).astype(float))
    else:
        ts.poisson(np.exp(eta), observed=rng.poisson(np.exp(truth)))
    model = ts.model(alpha=alpha, beta=beta, precision="double")
    assert [r.row_parts for r in model.blocked_glm] == [parts]
    return model


# 2 shares: 8 blocks each; 3: 5 each, one block and 3 rows left outside the loop
def test_jax_split_sums_equal_one_sweep(jax_backend: str,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    flats = np.random.default_rng(1).uniform(-0.5, 0.5, size=(4, 5))
    for family in ("bernoulli", "poisson"):
        v1, g1 = value_and_gradient(_glm(family, 1, monkeypatch), flats)
        for parts in (2, 3):
            v, g = value_and_gradient(_glm(family, parts, monkeypatch), flats)
            np.testing.assert_allclose(v, v1, rtol=1e-12)
            np.testing.assert_allclose(g, g1, rtol=1e-10, atol=1e-10)


def test_tensorflow_sweep_in_shares_equals_one_sweep(tensorflow_backend: str,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """TensorFlow's models sweep one share; ``row_block_sweep`` in 2 and 3 shares (the
    option measured) sums the same, on a model's blocks."""
    from tfstats.backends.tf_blocks import row_block_sweep

    model = _glm("bernoulli", 1, monkeypatch)
    rewrite = model.blocked_glm[0]
    layout, rows, fixed, block_rows = rewrite.arguments(
        model.evaluator(model.data_tensors()), chains=True)
    rng = np.random.default_rng(2)
    params = (rng.uniform(-0.5, 0.5, size=(4, 4)), rng.uniform(-0.5, 0.5, size=4))
    sums = [row_block_sweep(layout.block, params, rows, fixed, block_rows, parts)
            for parts in (1, 2, 3, 40)]  # 40: no more shares than the 16 blocks
    for value, gradients in sums[1:]:
        np.testing.assert_allclose(value, sums[0][0], rtol=1e-12)
        for g, g1 in zip(gradients, sums[0][1], strict=True):
            np.testing.assert_allclose(g, g1, rtol=1e-10, atol=1e-10)


def test_switch(monkeypatch: pytest.MonkeyPatch) -> None:
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None
    monkeypatch.delenv(SPLIT_ENVIRONMENT, raising=False)
    assert blocked_glm.split_parts() == min(blocked_glm.MAX_PARTS, cores or os.cpu_count() or 1)
    for off in ("0", "off", "false", "no"):
        monkeypatch.setenv(SPLIT_ENVIRONMENT, off)
        assert blocked_glm.split_parts() == 1
    monkeypatch.setenv(SPLIT_ENVIRONMENT, "sometimes")
    with pytest.raises(ValueError, match="TFSTATS_ROW_BLOCKS_SPLIT='sometimes'"):
        blocked_glm.split_parts()


def test_models_split_differently_compile_apart(monkeypatch: pytest.MonkeyPatch) -> None:
    """A model built with the switch off does not reuse the compiled functions of one
    built with it on (the shares are in the structure key)."""
    one, two = (_glm("poisson", parts, monkeypatch) for parts in (1, 2))
    assert compile_cache.structure_key(one) != compile_cache.structure_key(two)
