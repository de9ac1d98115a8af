"""Ctrl-C during opt returns the best point found so far, with a warning."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import tfstats as ts
from tests.tfstats.fitted import opt_fit


def test_interrupted_opt_returns_the_best_point_so_far(monkeypatch: pytest.MonkeyPatch) -> None:
    fitted = opt_fit()  # compiles the objective of this model once
    model, full = fitted["model"], fitted["fit"]
    original = model.compiled
    seen: list[float] = []

    def compiled(key: Any, build: Callable) -> Callable:
        objective = original(key, build)
        if key != ("objective", True):
            return objective

        def interrupted(*args: Any) -> Any:
            if len(seen) == 12:  # Ctrl-C during the 13th evaluation
                raise KeyboardInterrupt
            value, grad = objective(*args)
            seen.append(float(np.asarray(value)))
            return value, grad

        return interrupted

    monkeypatch.setattr(model, "compiled", compiled)
    with pytest.warns(UserWarning, match="optimisation interrupted after 12 evaluations"):
        fit = ts.opt(model, seed=1)
    assert fit.interrupted and not fit.converged and fit.iterations == 12
    scale = fit.value / -min(seen)  # the value reported is the best seen, unscaled
    assert scale == pytest.approx(30.0)  # the objective is divided by the 30 observations
    assert fit.value < full.value  # short of the optimum, but the best of the 12
    point = {k: fit.par[k] for k in ("alpha", "sigma")}  # par is at that best point
    np.testing.assert_allclose(model.unconstrain(point), fit.unconstrained, rtol=1e-8)
