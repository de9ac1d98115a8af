"""Numbered streams of one seed (``Backend.uniform`` / ``normal``'s ``stream``), as NUTS
draws them with no key splits: on each backend, compiled with the stream a tensor, the
draws have the right distribution (moments within 5 Monte Carlo standard errors),
distinct streams are uncorrelated and the same stream repeats."""

from __future__ import annotations

import numpy as np
import pytest

N = 20_000


def _backend(name: str):  # noqa: ANN202 - a backend module
    pytest.importorskip(name)
    if name == "jax":
        from tfstats.backends import jax as backend
    else:
        from tfstats.backends import tensorflow as backend
    return backend


@pytest.mark.parametrize("name", ["jax", "tensorflow"])
def test_streams_of_one_seed(name: str) -> None:
    B = _backend(name)
    seed = B.split_seed(B.make_seed(11), 2)[0]
    like = B.np.zeros((N,), dtype=B.np.float64)
    draw = B.compile_function(lambda s, k: (B.uniform(like, s, k), B.normal(like, s, k)))
    (u1, _), (u2, z) = ((np.asarray(a), np.asarray(b)) for a, b in
                        (draw(seed, B.convert(k)) for k in (1, 2)))
    assert u1.dtype == np.float64 and u1.min() >= 0.0 and u1.max() < 1.0
    assert abs(u1.mean() - 0.5) < 5 * (1 / 12) ** 0.5 / N**0.5
    assert abs(z.mean()) < 5 / N**0.5 and abs(z.var() - 1.0) < 5 * 2**0.5 / N**0.5
    assert abs(np.mean(np.abs(z) > 1.96) - 0.05) < 5 * (0.05 * 0.95 / N) ** 0.5
    assert abs(np.corrcoef(u1, u2)[0, 1]) < 5 / N**0.5
    np.testing.assert_array_equal(np.asarray(draw(seed, B.convert(1))[0]), u1)
