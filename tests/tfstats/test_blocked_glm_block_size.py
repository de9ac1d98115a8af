"""The rows in each block of a large-data GLM sum (``blocked_glm.BLOCK_BYTES``): the size
is fixed when a model is built (and in its structure key), and any size gives the same
value and gradient."""

from __future__ import annotations

import numpy as np
import pytest

import tfstats as ts
from tests.tfstats.rewrites import value_and_gradient
from tfstats import blocked_glm, compile_cache

N_ROWS = 4099


def _glm(family: str, block_bytes: int, monkeypatch: pytest.MonkeyPatch) -> ts.Model:
    """A GLM (intercept, X @ beta) read in float64: 4 columns are 32 bytes a row."""
    monkeypatch.setattr(blocked_glm, "MIN_BYTES", {"tensorflow": 0, "jax": 0})
    monkeypatch.setattr(blocked_glm, "BLOCK_BYTES", block_bytes)
    rng = np.random.default_rng(3)
    X = rng.normal(size=(N_ROWS, 4))
    truth = 0.2 + X @ np.array([0.4, -0.3, 0.2, 0.1])
    alpha, beta = ts.normal(0, 2), ts.normal(0, 1, dim=4)
    eta = alpha + X @ beta
    if family == "bernoulli":
        ts.bernoulli(ts.ilogit(eta), observed=(rng.uniform(size=N_ROWS)
                                               < 1 / (1 + np.exp(-truth))).astype(float))
    else:
        ts.poisson(np.exp(eta), observed=rng.poisson(np.exp(truth)))
    return ts.model(alpha=alpha, beta=beta, precision="double")


@pytest.mark.parametrize("family", ["bernoulli", "poisson"])
def test_block_size_is_fixed_when_built(backend: str, family: str,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    model = _glm(family, 16384, monkeypatch)
    monkeypatch.setattr(blocked_glm, "BLOCK_BYTES", 8192)  # read at build time only
    rewrite = model.blocked_glm[0]
    assert rewrite.block_bytes == 16384
    _, _, _, block_rows = rewrite.arguments(model.evaluator(model.data_tensors()))
    assert block_rows == 512  # 16 KiB of 32-byte rows


@pytest.mark.parametrize(("block_bytes", "rows"), [(65536, 2048), (131072, N_ROWS)])
def test_designs_of_fewer_than_two_blocks_are_one_block(block_bytes: int, rows: int,
                                                        monkeypatch: pytest.MonkeyPatch
                                                        ) -> None:
    """4,099 rows are 2 blocks of 2,048 (and 3 rows left), or one block of 4,096 and 3
    rows: summed as one block of all rows (each block is a copy of its rows)."""
    model = _glm("bernoulli", block_bytes, monkeypatch)
    _, _, _, block_rows = model.blocked_glm[0].arguments(model.evaluator(model.data_tensors()))
    assert block_rows == rows


def test_sizes_compile_apart_and_sum_alike(backend: str,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    """Blocks of 256, 512 and 2,048 rows (16, 8 and 2 blocks, rows left over): the same
    value and gradient to rounding; each size its own structure key."""
    flats = np.random.default_rng(1).uniform(-0.5, 0.5, size=(4, 5))
    models = [_glm("bernoulli", size, monkeypatch) for size in (8192, 16384, 65536)]
    assert len({compile_cache.structure_key(m) for m in models}) == 3
    v0, g0 = value_and_gradient(models[0], flats)
    for model in models[1:]:
        v, g = value_and_gradient(model, flats)
        np.testing.assert_allclose(v, v0, rtol=1e-12)
        np.testing.assert_allclose(g, g0, rtol=1e-10, atol=1e-10)
