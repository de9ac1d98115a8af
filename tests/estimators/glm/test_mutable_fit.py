"""The GLM estimators refit through the cached model's mutable data (``Model.set_data``):
a second fit on new data of the same padded shape traces nothing, and predictions go
through the family's link as tfstats defines it."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import special

from estimators import LinearClassifier, PoissonRegressor
from estimators.glm.models import LINKS, bucket, clear_cache, mean_of, template
from tfstats import compile_cache


def _data(n: int, seed: int, classes: int = 2) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 3))
    coef = rng.normal(size=(classes, 3)) * 1.5
    labels = np.argmax(X @ coef.T + rng.gumbel(size=(n, classes)), axis=1)
    counts = rng.poisson(np.exp(0.5 + X @ coef[0] * 0.3))
    return X, labels, counts


@pytest.mark.parametrize("classes", [2, 3])
def test_a_second_map_fit_of_one_padded_shape_traces_nothing(traces: dict[str, int],
                                                             classes: int) -> None:
    X1, y1, _ = _data(80, 1, classes)
    X2, y2, _ = _data(90, 2, classes)  # another CV fold's size: the same padded shape
    assert bucket(80, 3) == bucket(90, 3)
    clear_cache()
    compile_cache.clear()
    first = LinearClassifier().fit(X1, y1)
    before = traces["n"]
    assert before > 0  # the counter sees the first fit's traces
    second = LinearClassifier().fit(X2, y2)
    assert traces["n"] == before, "the second fit traced a function again"
    assert not np.allclose(first.coef_, second.coef_)
    assert second.score(X2, y2) > 0.6
    family = "logistic" if classes == 2 else "multinomial"
    held = template(family, 512, 16, 1 if classes == 2 else classes, True)
    assert all(np.all(nodes[0].value == 0.0) for nodes in held.model.mutable_data.values())


def test_poisson_refit_traces_nothing_and_predicts_through_the_log_link(
        traces: dict[str, int]) -> None:
    X1, _, y1 = _data(100, 3)
    X2, _, y2 = _data(100, 4)
    PoissonRegressor().fit(X1, y1)
    before = traces["n"]
    reg = PoissonRegressor().fit(X2, y2)
    assert traces["n"] == before
    np.testing.assert_allclose(reg.predict(X2[:5]),
                               np.exp(X2[:5] @ reg.coef_ + reg.intercept_), rtol=1e-12)


def test_links_are_tfstats_inverse_links() -> None:
    eta = np.array([[-2.0, 0.0, 3.0]])
    assert LINKS == {"normal": "identity", "logistic": "logit", "multinomial": "softmax",
                     "poisson": "log"}
    np.testing.assert_allclose(mean_of("logistic", eta), special.expit(eta))
    np.testing.assert_allclose(mean_of("multinomial", eta), special.softmax(eta, axis=-1))
    np.testing.assert_allclose(mean_of("normal", eta), eta)
