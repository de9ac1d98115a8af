"""Adding a sampler is one class: a random-walk Metropolis with uniform proposals, defined
only here, runs through ``ts.mcmc`` (warmup tunes its proposal width, the mass matrix
scales it) and recovers a normal posterior. Its spec also saves and loads with draws."""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import pytest

import tfstats as ts
from tests.tfstats.inference.conjugate import case
from tfstats.inference.samplers import accept_probability, sampler_class


@dataclass(frozen=True)
class UniformWalk(ts.Sampler):
    """Random-walk Metropolis with proposals uniform in ``z +- step`` (TFP's kernel)."""

    method: ClassVar[str] = "uniform_walk_test"
    target_accept: float = 0.3

    def kernel(self, B: Any, target: Callable, value_and_grad: Callable, step: Any) -> Any:
        mcmc = B.tfp.mcmc
        return mcmc.RandomWalkMetropolis(
            target, new_state_fn=mcmc.random_walk_uniform_fn(scale=step))

    def log_density(self, results: Any) -> Any:
        return results.accepted_results.target_log_prob

    def statistics(self, B: Any, results: Any, dtype: Any) -> dict[str, Any]:
        lp = self.log_density(results)
        one = B.np.ones_like(lp)
        return {"accept": accept_probability(B, results.log_accept_ratio),
                "divergent": one * 0.0, "n_steps": one, "energy": -lp}


@pytest.fixture(scope="module")
def fit() -> tuple[Any, ts.Draws]:
    exact = case("normal_normal")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # diagnostics are asserted below
        draws = ts.mcmc(exact.model, n_samples=2000, warmup=500, chains=4,
                        sampler=UniformWalk(), seed=1, progress=False)
    return exact, draws


def test_a_sampler_defined_in_one_class_recovers_the_posterior(fit: tuple) -> None:
    exact, draws = fit
    row = draws.summary().loc["mu"]
    assert row["r_hat"] < 1.05, row
    assert row["ess_bulk"] > 300, row
    mcse = row["sd"] / np.sqrt(row["ess_bulk"])
    assert abs(row["mean"] - exact.mean) < 4 * mcse, (row["mean"], exact.mean, mcse)
    assert abs(row["sd"] - exact.sd) < 0.1 * exact.sd, (row["sd"], exact.sd)


def test_warmup_tunes_its_step_toward_its_target(fit: tuple) -> None:
    _, draws = fit
    accept = draws.stats["accept"].mean()  # an untuned step (1 sd) accepts about 0.75
    assert 0.15 < accept < 0.45, accept  # target 0.3; measured 0.20-0.25 (seeds 1-3)
    assert draws.sampler == UniformWalk()


def test_its_spec_saves_and_loads(fit: tuple, tmp_path: Any) -> None:
    exact, draws = fit
    path = str(tmp_path / "draws.npz")
    draws.save(path)
    loaded = ts.Draws.load(path, model=exact.model)
    assert loaded.sampler == UniformWalk()
    assert sampler_class("uniform_walk_test") is UniformWalk


def test_a_sampler_class_needs_a_name() -> None:
    with pytest.raises(TypeError, match="must set the class attribute `method`"):
        @dataclass(frozen=True)
        class Nameless(ts.Sampler):
            pass


def test_settings_common_to_every_sampler_are_checked() -> None:
    with pytest.raises(ValueError, match=r"target_accept must be in \(0, 1\)"):
        UniformWalk(target_accept=1.5)
    with pytest.raises(ValueError, match="metric must be 'diag' or 'dense'"):
        UniformWalk(metric="full")
