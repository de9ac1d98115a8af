"""mcmc(chain_method="parallel"): each chain in its own compiled loop and thread.

The posterior of a conjugate model within Monte Carlo error on both backends, the same
draws for the same seed, independent chains, Ctrl-C keeping the draws of every chain up
to the slowest one, continuing the chains, and the choice of the default.
"""

from __future__ import annotations

import threading
import warnings
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest

import tfstats as ts
from tfstats.backends import backend_name
from tfstats.inference import mcmc as mcmc_module
from tfstats.inference.parallel_chains import chain_method_for

Y = np.array([1.2, 0.4, 2.2, 1.9, 0.7, 1.5, 1.1, 2.6, 0.9, 1.3])
PRIOR_MEAN, PRIOR_SD, SD = 1.0, 2.0, 1.5
PRECISION = 1 / PRIOR_SD**2 + len(Y) / SD**2
EXACT_MEAN = (PRIOR_MEAN / PRIOR_SD**2 + Y.sum() / SD**2) / PRECISION
EXACT_SD = PRECISION**-0.5


@pytest.fixture
def restore_backend() -> Iterator[None]:
    before = backend_name()
    yield
    ts.set_backend(before)


def _normal_normal() -> ts.Model:
    mu = ts.normal(PRIOR_MEAN, PRIOR_SD)
    ts.normal(mu, SD, observed=Y)
    return ts.model(mu=mu)


def _fit(model: ts.Model, **kwargs: Any) -> ts.Draws:
    settings = {"n_samples": 400, "warmup": 200, "chains": 4, "seed": 11, "progress": False,
                "chain_method": "parallel"}
    settings.update(kwargs)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # short runs may be called unhealthy
        return ts.mcmc(model, **settings)


@pytest.mark.parametrize("backend", ["tensorflow", "jax"])
def test_parallel_chains_give_the_exact_posterior_reproducibly(
        backend: str, restore_backend: None) -> None:
    if backend == "jax":
        pytest.importorskip("jax")
    ts.set_backend(backend)
    model = _normal_normal()
    draws = _fit(model)
    mu = draws["mu"]
    assert mu.shape == (4, 400)
    row = draws.summary().loc["mu"]
    mcse_mean = row["sd"] / np.sqrt(row["ess_bulk"])
    assert abs(row["mean"] - EXACT_MEAN) < 5 * mcse_mean
    # sd of the sd estimate: about sd / sqrt(2 ess) for a normal posterior
    assert abs(row["sd"] - EXACT_SD) < 5 * EXACT_SD / np.sqrt(2 * row["ess_bulk"])
    assert row["r_hat"] < 1.05
    # each chain adapted its own step size and mass matrix, from its own seed
    assert len(set(np.round(draws.step_size, 12))) == 4
    assert len({tuple(np.round(chain[:5], 12)) for chain in mu}) == 4
    again = _fit(model)  # the same seed: the same draws, whatever the threads' timing
    np.testing.assert_array_equal(again["mu"], mu)
    assert not np.array_equal(_fit(model, seed=12)["mu"], mu)
    more = ts.extra_samples(draws, 50, progress=False, chain_method="parallel")
    assert more["mu"].shape == (4, 450)
    np.testing.assert_array_equal(more["mu"][:, :400], mu)


def test_vectorized_chains_continue_parallel_ones() -> None:
    model = _normal_normal()
    draws = _fit(model, n_samples=50, warmup=50, chains=2)
    more = ts.extra_samples(draws, 20, progress=False, chain_method="vectorized")
    assert more["mu"].shape == (2, 70)
    assert np.all(np.isfinite(more["mu"]))
    again = ts.extra_samples(more, 20, progress=False, chain_method="parallel")
    assert again["mu"].shape == (2, 90)


@pytest.mark.parametrize("failing_start", [0, 150])
def test_interrupt_keeps_every_chain_up_to_the_slowest(
        monkeypatch: pytest.MonkeyPatch, failing_start: int) -> None:
    """Ctrl-C in the last chain to reach iteration ``failing_start`` (0: warmup's first
    chunk; 150: sampling): a warning, and every chain cut back to that iteration."""
    model = _normal_normal()
    chunk = mcmc_module.CHUNK
    compiled = model.compiled
    arrivals: list[int] = []
    lock = threading.Lock()

    def counting(key: Any, build: Any) -> Any:
        runner = compiled(key, build)
        if not (isinstance(key, tuple) and key and key[0] == "mcmc"):
            return runner

        def interrupted(*args: Any) -> Any:
            if int(args[3]) == failing_start and int(args[4]) > 0:  # not the compiling call
                with lock:
                    arrivals.append(int(args[3]))
                    last = len(arrivals) == 4
                if last:
                    raise KeyboardInterrupt
            return runner(*args)

        return interrupted

    monkeypatch.setattr(model, "compiled", counting)
    with pytest.warns(UserWarning, match=f"interrupted after {failing_start} of") as caught:
        draws = ts.mcmc(model, n_samples=6 * chunk, warmup=chunk, chains=4, seed=11,
                        progress=False, chain_method="parallel")
    assert draws.interrupted and len(arrivals) == 4
    # the warning points at the user's call, not at tfstats' chain driver
    assert {w.filename for w in caught if "interrupted" in str(w.message)} == {__file__}
    kept = max(0, failing_start - chunk)
    assert draws["mu"].shape == (4, kept)
    assert draws.stats["accept"].shape == (4, kept)
    assert np.all(np.isfinite(draws["mu"]))
    assert draws.chain_state.iteration == failing_start
    if kept:  # the cut chains continue from there
        more = ts.extra_samples(draws, 10, progress=False)
        assert more["mu"].shape == (4, kept + 10)


def test_initial_values_one_dict_per_chain(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each chain's loop starts from its own initial values."""
    model = _normal_normal()
    compiled = model.compiled
    firsts: list[float] = []

    def recording(key: Any, build: Any) -> Any:
        runner = compiled(key, build)
        if not (isinstance(key, tuple) and key and key[0] == "mcmc"):
            return runner

        def record(x: Any, *args: Any) -> Any:
            if int(args[2]) == 0 and int(args[3]) > 0:  # each chain's first chunk
                firsts.append(float(model.backend.to_numpy(x)[0, 0]))
            return runner(x, *args)

        return record

    monkeypatch.setattr(model, "compiled", recording)
    _fit(model, n_samples=10, warmup=10, initial_values=[{"mu": c - 1.5} for c in range(4)])
    assert sorted(firsts) == [-1.5, -0.5, 0.5, 1.5]


def test_chain_method_choice_and_errors() -> None:
    model = _normal_normal()
    with pytest.raises(ValueError, match="chain_method must be one of"):
        ts.mcmc(model, chain_method="sequential", progress=False)
    with pytest.raises(ValueError, match="devices=1"):
        chain_method_for("parallel", 4, on_one_device=False, on_gpu=False)
    assert chain_method_for(None, 1, on_one_device=True, on_gpu=False) == "vectorized"
    assert chain_method_for(None, 4, on_one_device=False, on_gpu=False) == "vectorized"
    assert chain_method_for("vectorized", 4, on_one_device=True, on_gpu=False) == "vectorized"
    if backend_name() == "tensorflow":  # TFP's slice sampler needs a batch of two or more
        assert chain_method_for(None, 4, True, False, ts.slice()) == "vectorized"
        with pytest.raises(ValueError, match="slice sampler cannot run one chain alone"):
            ts.mcmc(model, sampler=ts.slice(), chain_method="parallel", progress=False)
