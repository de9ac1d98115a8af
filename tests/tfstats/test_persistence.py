"""A fitted model survives pickle and cloudpickle into a fresh process, with summary,
calculate (posterior predictive included), extra_samples and to_arviz working; Draws.save /
load reattach a matching model and refuse another one."""

from __future__ import annotations

import pickle
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import tfstats as ts
from tests.tfstats.fitted import fresh_process, opt_fit, radon_fit


@pytest.fixture(scope="module")
def fitted() -> dict[str, Any]:
    return opt_fit()


@pytest.fixture(scope="module")
def fresh() -> dict[str, Any]:
    return fresh_process()


def test_model_draws_and_optimum_pickle() -> None:
    fit = radon_fit()
    again = pickle.loads(pickle.dumps(fit["draws"]))
    assert again.model is not fit["model"] and again.model.variable_names == ["alpha", "sigma"]
    np.testing.assert_array_equal(again["alpha"], fit["draws"]["alpha"])


def test_a_fresh_process_uses_the_pickled_fit(fitted: dict, fresh: dict) -> None:
    out, draws, model = fresh["out"], fitted["draws"], fitted["model"]
    expected = draws.summary().round(10).to_dict()
    assert out["summary"]["mean"] == expected["mean"]
    assert out["y_rep"] == [2, 60, 30] and out["more"] == [2, 70, 3]
    # the replicates' mean is the data's mean, within Monte Carlo error
    assert abs(out["y_rep_mean"] - fitted["radon"].mean()) < 0.5
    np.testing.assert_allclose(out["mean"], fitted["fit"].par["mean"], rtol=1e-10)
    assert out["fit_par"] == pytest.approx(float(fitted["fit"].par["sigma"]), rel=1e-12)
    assert {"posterior", "posterior_predictive", "log_likelihood"} <= set(out["groups"])
    point = {"alpha": [0.1, 0.2, 0.3], "sigma": 1.5}
    assert out["log_prob"] == pytest.approx(model.log_prob(point), rel=1e-12)


def test_save_and_load_reattach_the_model(fitted: dict, tmp_path: Path) -> None:
    draws, model = fitted["draws"], fitted["model"]
    path = tmp_path / "draws.npz"
    draws.save(str(path))
    with pytest.raises(ValueError, match="have no model"):
        ts.calculate(model.targets["mean"], values=ts.Draws.load(str(path)))
    loaded = ts.Draws.load(str(path), model=model)
    np.testing.assert_allclose(ts.calculate(model.targets["mean"], values=loaded),
                               draws["mean"], rtol=1e-12)
    more = ts.extra_samples(loaded, 10, progress=False)
    direct = ts.extra_samples(draws, 10, progress=False)
    np.testing.assert_allclose(more["alpha"], direct["alpha"], rtol=1e-10)  # same chains
    other = ts.model(ts.normal(0, 1, dim=3), ts.exponential(1))
    with pytest.raises(ts.ModelError, match="not the one these draws came from"):
        ts.Draws.load(str(path), model=other)


@pytest.mark.filterwarnings("ignore:MCMC diagnostics")  # 2 x 20 draws
@pytest.mark.parametrize("chain_method", ["vectorized", "parallel"])
def test_draws_pickled_on_one_backend_continue_on_the_other(chain_method: str) -> None:
    """The chains' seed is saved in its backend's dtype (TensorFlow int32, JAX uint32):
    continued on the other backend, the chains go on from where they were."""
    pytest.importorskip("jax")
    first = ts.backend_name()
    other = "jax" if first == "tensorflow" else "tensorflow"
    mu = ts.normal(0, 10)
    ts.normal(mu, 1, observed=np.array([0.5, 1.5, 1.0]))
    draws = ts.mcmc(ts.model(mu), n_samples=20, warmup=20, chains=2, seed=1,
                    chain_method=chain_method, progress=False)
    saved = pickle.dumps(draws)
    ts.set_backend(other)
    try:
        loaded = pickle.loads(saved)
        more = ts.extra_samples(loaded, 10, progress=False)
    finally:
        ts.set_backend(first)
    assert more["mu"].shape == (2, 30)
    np.testing.assert_array_equal(more["mu"][:, :20], draws["mu"])
    assert np.all(np.isfinite(more["mu"])) and np.all(np.abs(more["mu"][:, 20:] - 1) < 10)
    assert more.chain_state.iteration == 50
