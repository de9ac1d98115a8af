"""mcmc() and extra_samples(): the design's eight-schools example, continuing chains,
compiling once, thinning, initial values and Ctrl-C.

All fits use one model object with NUTS and 4 chains, so the sampler is compiled once
(the driver's compiled loop takes the warmup length, draw count and seed as arguments).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import tfstats as ts
from tests.tfstats.posteriordb_models import POSTERIORDB, compare, map_names
from tfstats.inference import mcmc as mcmc_module

Y = np.array([28.0, 8, -3, 7, -1, 1, 18, 12])
SIGMA_J = np.array([15.0, 10, 16, 11, 9, 11, 10, 18])


@pytest.fixture(scope="module")
def design() -> dict[str, Any]:
    """Eight schools exactly as DESIGN.md section 2 writes it."""
    y, sigma_j = Y, SIGMA_J
    mu = ts.normal(0, 5)                          # scalar
    z = ts.normal(0, 1, dim=8)                    # dim: int or tuple
    tau = ts.cauchy(0, 5, truncation=(0, None))   # truncation on continuous univariates
    theta = mu + tau * z
    ts.normal(theta, sigma_j, observed=y)         # y: data; or a model array (adds its density)
    m = ts.model(mu=mu, tau=tau, theta=theta)     # keyword names; positional arrays named
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        draws = ts.mcmc(m, n_samples=1000, warmup=1000, chains=4,
                        sampler=ts.nuts(), seed=1, initial_values=None, progress=True)
    return {"model": m, "draws": draws, "warnings": caught, "mu": mu, "tau": tau, "z": z,
            "theta": theta}


def _fit(model: ts.Model, **kwargs: Any) -> ts.Draws:
    """A short NUTS fit with the design fixture's sampler settings (no recompilation)."""
    settings = {"n_samples": 100, "warmup": 100, "chains": 4, "sampler": ts.nuts(),
                "seed": 3, "progress": False}
    settings.update(kwargs)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # short runs are rightly called unhealthy
        return ts.mcmc(model, **settings)


# --- the design example ------------------------------------------------------------------------


def test_design_example_shapes_and_summary(design: dict) -> None:
    draws = design["draws"]
    assert draws["theta"].shape == (4, 1000, 8)
    assert draws["mu"].shape == (4, 1000)
    assert draws["tau"].shape == (4, 1000)
    assert np.all(draws["tau"] > 0)
    table = draws.summary()
    assert list(table.index) == ["mu", "tau"] + [f"theta[{i}]" for i in range(8)]
    for column in ("mean", "sd", "q5", "q50", "q95", "ess_bulk", "ess_tail", "r_hat"):
        assert column in table.columns
    assert isinstance(draws.divergences, int)
    assert draws.to_arviz() is not None
    more = ts.extra_samples(draws, 500, progress=False)
    assert more["theta"].shape == (4, 1500, 8)


@pytest.mark.skipif(not POSTERIORDB.is_dir(), reason="no posteriordb reference data")
def test_design_example_matches_reference(design: dict) -> None:
    posterior = "eight_schools-eight_schools_noncentered"
    names = map_names([*(f"theta[{i}]" for i in range(1, 9)), "mu", "tau"])
    assert compare(design["draws"], posterior, names) == []


def test_design_example_keeps_theta_deterministic(design: dict) -> None:
    """theta is mu + tau * z at every draw."""
    draws = design["draws"]
    expected = draws["mu"][..., None] + draws["tau"][..., None] * draws["z"]
    np.testing.assert_allclose(draws["theta"], expected, rtol=1e-10, atol=1e-10)


# --- compiling once, continuing, thinning ------------------------------------------------------


def test_second_fit_with_same_settings_does_not_recompile(design: dict) -> None:
    model = design["model"]
    size = len(model._cache)
    draws = _fit(model, n_samples=60, warmup=40, seed=11)
    assert len(model._cache) == size
    assert draws["theta"].shape == (4, 60, 8)


def test_same_seed_same_draws_other_seed_other_draws(design: dict) -> None:
    model = design["model"]
    first, second, other = _fit(model), _fit(model), _fit(model, seed=4)
    np.testing.assert_array_equal(first["theta"], second["theta"])
    assert not np.array_equal(first["theta"], other["theta"])


def test_extra_samples_continue_the_chains(design: dict) -> None:
    model = design["model"]
    draws = _fit(model)
    size = len(model._cache)
    more = ts.extra_samples(draws, 50, progress=False)
    assert len(model._cache) == size
    assert more["theta"].shape == (4, 150, 8)
    assert more.stats["divergent"].shape == (4, 150)
    np.testing.assert_array_equal(more["theta"][:, :100], draws["theta"])
    # the continuation keeps the tuned step size and mass matrix ...
    np.testing.assert_allclose(more.stats["step_size"][:, 100:],
                               np.repeat(draws.step_size[:, None], 50, axis=1))
    np.testing.assert_allclose(more.inverse_mass, draws.inverse_mass)
    # ... and the random stream: it is the same as one longer run
    longer = _fit(model, n_samples=150)
    np.testing.assert_array_equal(more["theta"], longer["theta"])


def test_extra_samples_of_extra_samples(design: dict) -> None:
    draws = _fit(design["model"], n_samples=20)
    more = ts.extra_samples(ts.extra_samples(draws, 10, progress=False), 10, progress=False)
    assert more["mu"].shape == (4, 40)
    assert more.n_draws == 40


def test_thin_keeps_every_kth_draw(design: dict) -> None:
    model = design["model"]
    size = len(model._cache)
    full = _fit(model, n_samples=150)
    thinned = _fit(model, n_samples=150, thin=5)
    assert len(model._cache) == size
    assert thinned["theta"].shape == (4, 30, 8)
    assert thinned.thin == 5
    np.testing.assert_array_equal(thinned["theta"], full["theta"][:, ::5])
    assert thinned.stats["accept"].shape == (4, 30)


def test_extra_samples_of_thinned_draws_keep_the_thinning(design: dict) -> None:
    model = design["model"]
    thinned = _fit(model, n_samples=150, thin=5)
    more = ts.extra_samples(thinned, 50, progress=False)
    assert more["theta"].shape == (4, 40, 8)
    assert more.thin == 5
    longer = _fit(model, n_samples=200, thin=5)
    np.testing.assert_array_equal(more["theta"], longer["theta"])
    with pytest.raises(ValueError, match="thinning"):
        ts.extra_samples(thinned, 50, thin=2, progress=False)


# --- initial values ------------------------------------------------------------------------------


@pytest.fixture
def starts(design: dict, monkeypatch: pytest.MonkeyPatch) -> list[np.ndarray]:
    """Record the unconstrained starting points handed to the compiled sampler."""
    model = design["model"]
    recorded: list[np.ndarray] = []
    original = model.compiled

    def compiled(key: Any, build: Callable) -> Callable:
        runner = original(key, build)
        if not (isinstance(key, tuple) and key and key[0] == "mcmc"):
            return runner

        def recording(x: Any, *args: Any) -> Any:
            if not recorded:
                recorded.append(np.array(model.backend.to_numpy(x)))
            return runner(x, *args)

        return recording

    monkeypatch.setattr(model, "compiled", compiled)
    return recorded


def test_one_initial_value_dict_for_all_chains(design: dict, starts: list) -> None:
    model = design["model"]
    values = {"mu": 2.0, "tau": 3.0, "z": np.linspace(-1, 1, 8)}
    _fit(model, n_samples=10, warmup=10, initial_values=values, chain_method="vectorized")
    expected = model.unconstrain(values)
    np.testing.assert_allclose(starts[0], np.tile(expected, (4, 1)))


def test_one_initial_value_dict_per_chain(design: dict, starts: list) -> None:
    model = design["model"]
    values = [{"mu": float(c), "tau": 1.0 + c, "z": np.full(8, c / 10)} for c in range(4)]
    _fit(model, n_samples=10, warmup=10, initial_values=values, chain_method="vectorized")
    expected = np.stack([model.unconstrain(v) for v in values])
    np.testing.assert_allclose(starts[0], expected)
    # constrained values are mapped to the unconstrained space: log(tau) for tau > 0
    offset, _ = model.layout[design["tau"]]
    np.testing.assert_allclose(starts[0][:, offset], np.log(1.0 + np.arange(4)))


def test_random_initial_values_differ_between_chains(design: dict, starts: list) -> None:
    _fit(design["model"], n_samples=10, warmup=10, chain_method="vectorized")
    assert np.all(np.abs(starts[0]) <= 2)
    assert len({tuple(row) for row in starts[0]}) == 4


def test_initial_value_outside_the_support_names_the_unknown(design: dict) -> None:
    with pytest.raises(ValueError, match="'tau'.*outside its support"):
        _fit(design["model"], initial_values={"mu": 0.0, "tau": -1.0, "z": np.zeros(8)})


def test_initial_values_for_the_wrong_number_of_chains(design: dict) -> None:
    with pytest.raises(ValueError, match="3 sets for 4 chains"):
        _fit(design["model"], initial_values=[{"mu": 0.0}] * 3)


def test_initial_values_with_an_unknown_name_or_wrong_shape(design: dict) -> None:
    with pytest.raises(KeyError, match="sigma"):
        _fit(design["model"], initial_values={"mu": 0.0, "sigma": 1.0})
    with pytest.raises(ValueError, match="'z'"):
        _fit(design["model"], initial_values={"mu": 0.0, "z": np.zeros(3)})


@pytest.fixture(scope="module")
def flat_bounded() -> ts.Model:
    mu = ts.normal(0, 5)
    sigma = ts.variable(lower=0)
    ts.normal(mu, sigma, observed=np.array([1.2, 0.4, 2.2]))
    return ts.model(mu, sigma)


@pytest.mark.parametrize("values", [{"mu": 0.0, "sigma": -1.0}, {"mu": 0.0, "sigma": 0.0},
                                    [{"mu": 0.0, "sigma": 1.0}] * 3 + [{"sigma": -2.0}]])
def test_initial_value_outside_flat_bounds_says_which_and_why(flat_bounded: ts.Model,
                                                              values: Any) -> None:
    with pytest.raises(ValueError) as error:
        ts.mcmc(flat_bounded, initial_values=values, progress=False)
    message = str(error.value)
    assert "'sigma'" in message and "'mu'" not in message
    assert "outside its support" in message


def test_initial_value_with_an_infinite_log_density(flat_bounded: ts.Model) -> None:
    """In the support, but the likelihood is not finite there: still a clear error."""
    with pytest.raises(ts.ModelError, match="not finite.*normal density"):
        ts.mcmc(flat_bounded, initial_values={"mu": 1e200, "sigma": 1e-200}, progress=False)


@pytest.mark.parametrize("chain_method", ["parallel", "vectorized"])
def test_random_starts_are_drawn_again_where_the_density_is_not_finite(
        chain_method: str) -> None:
    """About half of the random starts of ``x`` have a likelihood of zero (y = 0.2 lies
    below a uniform's lower bound x): the sampling chunk's zero-iteration calls check them
    and the bad ones are drawn again, so every chain starts, and stays, where x < 0.2."""
    x = ts.normal(0, 1)
    ts.uniform(x, 10.0, observed=np.array([0.2]))
    model = ts.model(x)
    original = model.compiled
    checks: list[np.ndarray] = []
    starts: list[np.ndarray] = []

    def compiled(key: Any, build: Callable) -> Callable:
        runner = original(key, build)
        if not (isinstance(key, tuple) and key and key[0] == "mcmc"):
            return runner

        def recording(*args: Any) -> Any:
            rows = np.array(model.backend.to_numpy(args[0]))
            (checks if int(args[4]) == 0 else starts).append(rows)
            return runner(*args)

        return recording

    model.compiled = compiled  # type: ignore[method-assign]
    draws = _fit(model, n_samples=50, warmup=50, seed=4, chain_method=chain_method)
    checked = np.concatenate(checks)[:, 0]
    assert (checked >= 0.2).any() and (checked < 0.2).any()  # some starts were redrawn
    first = np.concatenate(starts[:4] if chain_method == "parallel" else starts[:1])[:, 0]
    assert len(first) == 4 and (first < 0.2).all()
    assert np.all(draws["x"] < 0.2)
    # the check is the chunk's: no program of its own was traced for it
    assert not any("log_density_and_gradient" in str(k) for k in model._cache)


# --- arguments, interruption ---------------------------------------------------------------------


@pytest.mark.parametrize("kwargs, error", [
    ({"n_samples": -1}, ValueError), ({"warmup": 1.5}, ValueError), ({"chains": 0}, ValueError),
    ({"thin": 0}, ValueError), ({"sampler": "nuts"}, TypeError),
])
def test_bad_arguments(design: dict, kwargs: dict, error: type) -> None:
    with pytest.raises(error):
        ts.mcmc(design["model"], progress=False, **kwargs)


@pytest.mark.parametrize("failing_chunk", [4, 1])
def test_interrupt_returns_the_draws_so_far(design: dict, monkeypatch: pytest.MonkeyPatch,
                                            failing_chunk: int) -> None:
    """Ctrl-C (KeyboardInterrupt) during the 4th chunk: a warning, and the draws of the
    sampling iterations finished before it. During the 1st chunk (warmup): no draws, but
    still a Draws to look at."""
    model = design["model"]
    original = model.compiled
    calls = []

    def compiled(key: Any, build: Callable) -> Callable:
        runner = original(key, build)
        if not (isinstance(key, tuple) and key and key[0] == "mcmc"):
            return runner

        def interrupted(*args: Any) -> Any:
            start, n = int(args[3]), int(args[4])
            if n == 0:  # the starting points' check: no iterations
                return runner(*args)
            calls.append(range(start, start + n))
            if len(calls) == failing_chunk:
                raise KeyboardInterrupt
            return runner(*args)

        return interrupted

    _fit(model, chain_method="vectorized")  # the lockstep loop compiled, whatever ran before
    monkeypatch.setattr(model, "compiled", compiled)
    chunk = mcmc_module.CHUNK
    size = len(model._cache)
    with pytest.warns(UserWarning, match="interrupted"):
        draws = ts.mcmc(model, n_samples=4 * chunk, warmup=chunk, chains=4, seed=5,
                        progress=False, chain_method="vectorized")  # parallel: its own test
    done = [i for iterations in calls[:-1] for i in iterations]
    kept = sum(i >= chunk for i in done)  # the sampling iterations finished
    assert (kept > 0) == (failing_chunk == 4)
    assert len(calls) == failing_chunk
    assert draws.interrupted
    assert draws["theta"].shape == (4, kept, 8)
    assert draws.stats["accept"].shape == (4, kept)
    assert np.all(np.isfinite(draws["theta"]))
    assert len(model._cache) == size
    table = draws.summary()
    assert list(table.index) == ["mu", "tau"] + [f"theta[{i}]" for i in range(8)]
    assert table["mean"].notna().all() == bool(kept)
    assert len(draws.to_dataframe()) == 4 * kept
