"""The normal family's sufficient statistics."""

from __future__ import annotations

import numpy as np

from estimators.glm.models import gram


def test_gram_is_the_weighted_cross_product_of_the_padded_design() -> None:
    rng = np.random.default_rng(0)
    X = rng.normal(5.0, 2.0, size=(1000, 3))
    y, w = rng.normal(size=1000), rng.uniform(0.5, 2.0, size=1000)
    loc, scale = X.mean(0), X.std(0)
    G = gram(X, y, w, loc, scale, d_pad=4, block=128)  # blocks do not divide the rows
    Z = np.zeros((1000, 6))
    Z[:, :3] = (X - loc) / scale
    Z[:, 4], Z[:, 5] = 1.0, y
    np.testing.assert_allclose(G, Z.T @ (w[:, None] * Z), rtol=1e-12, atol=1e-9)
    assert np.all(G[3] == 0) and np.all(G[:, 3] == 0)  # the padded column
    unit = gram(X, y, np.ones(1000), loc, scale, d_pad=4)
    np.testing.assert_allclose(unit, Z.T @ Z, rtol=1e-12, atol=1e-9)
