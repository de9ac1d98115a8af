"""The NUTS kernel: Stan's robust U-turn checks keep trees short at every step size."""

from __future__ import annotations

import warnings

import pytest

import tfstats as ts


@pytest.fixture(scope="module")
def iid_normal() -> ts.Model:
    return ts.model(x=ts.normal(0, 1, dim=100))


@pytest.mark.parametrize("step_size", [0.2, 0.4])
def test_no_resonance_at_step_sizes_that_trap_the_span_only_check(
        iid_normal: ts.Model, step_size: float) -> None:
    """On a 100-d standard normal, a U-turn comes after about pi / 2 / step leapfrog
    steps, so trees of 15-31 steps at 0.2 and 7-15 at 0.4. TFP's NoUTurnSampler (span
    checks only) averages about 240 and 390 steps at these step sizes (up to 1023): Stan
    issue #2799. With the checks across merged subtrees the trees stay short."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        draws = ts.mcmc(iid_normal, n_samples=200, warmup=0, chains=4, seed=1,
                        sampler=ts.nuts(initial_step_size=step_size), progress=False)
    steps = draws.stats["n_steps"]
    assert steps.mean() < 40, steps.mean()
    assert steps.max() <= 63
    # fixed step, no adaptation: still the right distribution
    x = draws["x"].reshape(-1, 100)
    assert abs(x.mean()) < 0.02
    assert abs(x.var() - 1.0) < 0.03


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"max_tree_depth": 0}, "max_tree_depth must be an int >= 1, got 0"),
    ({"max_tree_depth": 2.5}, "max_tree_depth must be an int >= 1, got 2.5"),
    ({"max_tree_depth": 31}, "max_tree_depth must be <= 30"),
    ({"target_accept": 1.0}, r"target_accept must be in \(0, 1\)"),
    ({"initial_step_size": 0.0}, "initial_step_size must be positive"),
])
def test_bad_nuts_settings_are_named(kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        ts.nuts(**kwargs)
