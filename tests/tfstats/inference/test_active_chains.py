"""Lockstep NUTS on data-heavy models evaluates only the active chains while at most half
are active (``inference/active_chains.py``): the branch is taken, and a seed's draws are
those of the full batch up to float rounding."""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import tfstats as ts
from tfstats.backends import get_backend
from tfstats.inference import active_chains, nuts
from tfstats.inference.active_chains import ENVIRONMENT, active_batch, with_active_batch
from tfstats.inference.nuts import NoUTurn

STEPS = np.array([[0.1], [0.3], [0.9], [1.4]])  # per chain: trees of different lengths


def _recorder(B: Any, calls: list[int]) -> Callable[[int], None]:
    """Records the rows of each evaluation as it runs (not as it is traced)."""
    if B.name == "jax":
        import jax

        return lambda rows: jax.debug.callback(lambda: calls.append(rows))
    return calls.append  # eager TensorFlow: a branch's Python runs when it is taken


def _transitions(B: Any, size: int, calls: list[int]) -> tuple[np.ndarray, ...]:
    """Three NUTS transitions of four chains on a 3-d standard normal."""
    record = _recorder(B, calls)

    def value_and_grad(z: Any, rows: Any = None) -> tuple[Any, Any]:
        record(B.shape_of(z)[0])
        return -0.5 * B.np.sum(z**2, axis=-1), -z

    def run(z: Any, seed: Any) -> tuple[Any, Any, Any]:
        kernel = NoUTurn(B, with_active_batch(value_and_grad, size),
                         B.convert(STEPS, z.dtype), max_tree_depth=6)
        results = kernel.bootstrap_results(z)
        zs, steps = [], []
        for _ in range(3):
            seed, step_seed = B.split_seed(seed, 2)[0], B.split_seed(seed, 2)[1]
            z, results = kernel.one_step(z, results, step_seed)
            zs.append(z)
            steps.append(results.leapfrogs_taken)
        return B.np.stack(zs), B.np.stack(steps), results.target_log_prob

    if B.name == "jax":
        run = B.compile_function(run)
    z0 = B.convert(np.random.default_rng(0).normal(size=(4, 3)), B.float_dtype("double"))
    return tuple(np.asarray(v) for v in B.to_numpy(run(z0, B.make_seed(7))))


def test_kernel_evaluates_only_the_active_chains(backend: str) -> None:
    B = get_backend()
    full_calls: list[int] = []
    few_calls: list[int] = []
    full = _transitions(B, 0, full_calls)
    few = _transitions(B, 2, few_calls)
    for a, b in zip(full, few, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)
    # the steps with at most two chains still going ran on a batch of two
    assert set(full_calls) == {4} and 2 in few_calls
    assert len(few_calls) == len(full_calls)
    assert few_calls.count(4) < len(full_calls) - 3
    assert full[1].max() > 2 * full[1].min()  # the trees differ in length between chains


def test_rule_data_heavy_models_with_four_chains_or_more(
        monkeypatch: pytest.MonkeyPatch) -> None:
    x = np.random.default_rng(1).normal(size=(100, 5))
    beta = ts.normal(0, 1, dim=5)
    ts.bernoulli(ts.ilogit(x @ beta), observed=np.ones(100))
    glm = ts.model(beta)
    mu = ts.normal(0, 1)
    ts.normal(mu, 1, observed=np.zeros(300))
    small = ts.model(mu)
    assert active_batch(glm, 4) == 0  # 4 KB of data: the switch would cost more
    monkeypatch.setattr(active_chains, "ACTIVE_DATA_BYTES", 100 * 5 * 8)
    assert [active_batch(glm, c) for c in (1, 2, 3, 4, 8)] == [0, 0, 0, 2, 4]
    assert active_batch(glm, 4, on_gpu=True) == 0
    assert active_batch(small, 4) == 0  # no matrix product of data
    monkeypatch.setenv(ENVIRONMENT, "0")
    assert active_batch(glm, 4) == 0
    monkeypatch.setenv(ENVIRONMENT, "of")  # a typo is named, not read as on
    with pytest.raises(ValueError, match=r"TFSTATS_ACTIVE_CHAINS='of': use 1/on/true/yes"):
        active_batch(glm, 4)


def _logistic() -> ts.Model:
    rng = np.random.default_rng(2)
    x = rng.normal(size=(300, 4)) * np.array([0.2, 1.0, 3.0, 8.0])
    beta = ts.normal(0, 1, dim=4)
    ts.bernoulli(ts.ilogit(x @ beta), observed=(rng.uniform(size=300) < 0.5).astype(float))
    return ts.model(beta=beta)


@pytest.mark.parametrize("metric", ["diag", "dense"])
def test_mcmc_draws_of_a_seed_unchanged(backend: str, metric: str,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """Through ``ts.mcmc`` (each chain's mass matrix gathered with its row): after a short
    warmup, the same continued draws as the full batch, to float rounding. (Over a long
    warmup the rounding of the sums, 1e-16, grows through the adaptation: the draws of a
    seed then differ from the full batch's as after any change of rounding.)"""
    monkeypatch.setattr(active_chains, "ACTIVE_DATA_BYTES", 1)
    calls: list[int] = []
    if backend == "jax":  # count the small batches the compiled loop evaluates
        evaluate = nuts.evaluate_active

        def counted(B: Any, value_and_grad: Callable, z: Any, active: Any) -> tuple:
            record = _recorder(B, calls)

            def recorded(z_: Any, rows: Any = None) -> tuple[Any, Any]:
                record(B.shape_of(z_)[0])
                return value_and_grad(z_, rows)

            return evaluate(B, with_active_batch(recorded, value_and_grad.active_batch),
                            z, active)

        monkeypatch.setattr(nuts, "evaluate_active", counted)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        monkeypatch.setenv(ENVIRONMENT, "0")
        tuned = ts.mcmc(_logistic(), n_samples=0, warmup=40, chains=4, seed=5,
                        sampler=ts.nuts(metric=metric), progress=False,
                        chain_method="vectorized")
        assert 2 not in calls  # switched off: always the full batch
        draws = {}
        for setting in ("1", "0"):
            monkeypatch.setenv(ENVIRONMENT, setting)
            draws[setting] = ts.extra_samples(tuned, 20, progress=False,
                                              chain_method="vectorized")
    scale = tuned.chain_state.adaptation["scale"]
    assert np.ptp(scale, axis=0).max() > 0.01  # each chain its own mass matrix
    np.testing.assert_allclose(draws["1"]["beta"], draws["0"]["beta"], rtol=0, atol=1e-9)
    np.testing.assert_array_equal(draws["1"].stats["n_steps"], draws["0"].stats["n_steps"])
    if backend == "jax":
        assert 2 in calls and 4 in calls
