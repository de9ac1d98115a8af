"""The rows in each block of a large-data GLM sum (``blocked_glm.block_bytes``): the
logit families' smaller blocks on JAX, the size fixed when a model is built (and in its
structure key), and the same value and gradient at any block size."""

from __future__ import annotations

import numpy as np
import pytest

import tfstats as ts
from tests.tfstats.rewrites import value_and_gradient
from tfstats import blocked_glm, compile_cache
from tfstats.backends import backend_name

N_ROWS = 4099


def _glm(family: str, monkeypatch: pytest.MonkeyPatch, logit_bytes: int,
         other_bytes: int) -> ts.Model:
    """A GLM (intercept, X @ beta) read in float64: 4 columns are 32 bytes a row."""
    monkeypatch.setattr(blocked_glm, "MIN_BYTES", 0)
    monkeypatch.setattr(blocked_glm, "LOGIT_BLOCK_BYTES", logit_bytes)
    monkeypatch.setattr(blocked_glm, "BLOCK_BYTES", other_bytes)
    rng = np.random.default_rng(3)
    X = rng.normal(size=(N_ROWS, 4))
    truth = 0.2 + X @ np.array([0.4, -0.3, 0.2, 0.1])
    alpha, beta = ts.normal(0, 2), ts.normal(0, 1, dim=4)
    eta = alpha + X @ beta
    if family == "bernoulli":
        ts.bernoulli(ts.ilogit(eta), observed=(rng.uniform(size=N_ROWS)
                                               < 1 / (1 + np.exp(-truth))).astype(float))
    elif family == "binomial":
        ts.binomial(4, ts.ilogit(eta), observed=rng.binomial(4, 1 / (1 + np.exp(-truth))))
    else:
        ts.poisson(np.exp(eta), observed=rng.poisson(np.exp(truth)))
    return ts.model(alpha=alpha, beta=beta, precision="double")


def test_block_bytes_by_backend_and_family() -> None:
    mib = 2**20
    assert blocked_glm.block_bytes("jax", "bernoulli_logit") == 2 * mib
    assert blocked_glm.block_bytes("jax", "binomial_logit") == 2 * mib
    assert blocked_glm.block_bytes("jax", "poisson_log") == 4 * mib
    for family in blocked_glm.FAMILIES:
        assert blocked_glm.block_bytes("tensorflow", family) == 4 * mib


@pytest.mark.parametrize("family", ["bernoulli", "binomial", "poisson"])
def test_models_take_their_backends_block_size(backend: str, family: str,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    model = _glm(family, monkeypatch, logit_bytes=8192, other_bytes=16384)
    rewrite = model.blocked_glm[0]
    smaller = backend_name() == "jax" and family != "poisson"
    assert rewrite.block_bytes == (8192 if smaller else 16384)
    _, _, _, block_rows = rewrite.arguments(model.evaluator(model.data_tensors()))
    assert block_rows == (256 if smaller else 512)  # 32-byte rows


def test_sizes_compile_apart_and_sum_alike(backend: str,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    """Blocks of 256, 512 and 2,048 rows (16, 8 and 2 blocks, rows left over): the same
    value and gradient to rounding; each size its own structure key."""
    flats = np.random.default_rng(1).uniform(-0.5, 0.5, size=(4, 5))
    models = [_glm("bernoulli", monkeypatch, logit_bytes=size, other_bytes=size)
              for size in (8192, 16384, 65536)]
    keys = {compile_cache.structure_key(m) for m in models}
    assert len(keys) == 3
    v0, g0 = value_and_gradient(models[0], flats)
    for model in models[1:]:
        v, g = value_and_gradient(model, flats)
        np.testing.assert_allclose(v, v0, rtol=1e-12)
        np.testing.assert_allclose(g, g0, rtol=1e-10, atol=1e-10)
