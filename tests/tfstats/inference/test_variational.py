"""vi(): ADVI against known Gaussian targets, posteriordb references, and its result API.

On a Gaussian target the optimal full-rank approximation is the target itself, and the
optimal mean-field one has the target's mean and its conditional sds
``1 / sqrt(diag(Sigma^-1))`` (Bishop 2006, section 10.1.2): the tests compare with these.
The tolerances (0.05 sd for means, 5% for sds) are several times the spread of the
tail-averaged estimate over seeds (measured: at most 0.03 sd and 3%).
"""

from __future__ import annotations

import pickle
import warnings
from collections.abc import Iterator

import numpy as np
import pytest

import tfstats as ts
from tests.tfstats.posteriordb_models import POSTERIORDB, load_reference, shared_model
from tfstats.backends import backend_name

D = 10
MEAN = np.linspace(-2.0, 2.0, D)
SDS = np.linspace(0.5, 3.0, D)
SIGMA = (0.6 + 0.4 * np.eye(D)) * np.outer(SDS, SDS)  # correlation 0.6 between all pairs
CONDITIONAL_SDS = 1 / np.sqrt(np.diag(np.linalg.inv(SIGMA)))
FIT = {"steps": 3000, "learning_rate": 0.02, "samples": 4, "seed": 1, "progress": False,
       "init": "random"}


@pytest.fixture
def backend(request: pytest.FixtureRequest) -> Iterator[str]:
    before = backend_name()
    ts.set_backend(request.param)
    yield request.param
    ts.set_backend(before)


@pytest.fixture(scope="module")
def gaussian() -> ts.Model:
    x = ts.multivariate_normal(MEAN, SIGMA)
    return ts.model(x)


@pytest.fixture(scope="module")
def small() -> ts.Model:
    mu = ts.normal(0, 10)
    sigma = ts.variable(lower=0)
    ts.normal(mu, sigma, observed=np.random.default_rng(0).normal(1.0, 2.0, 50))
    return ts.model(mu, sigma, y_rep=mu * 2)


def test_fullrank_recovers_a_correlated_gaussian(gaussian: ts.Model) -> None:
    fit = ts.vi(gaussian, method="fullrank", **FIT)
    covariance = fit.scale_tril @ fit.scale_tril.T
    assert np.max(np.abs(fit.loc - MEAN) / SDS) < 0.05
    np.testing.assert_allclose(np.sqrt(np.diag(covariance)), SDS, rtol=0.05)
    correlation = covariance / np.outer(np.sqrt(np.diag(covariance)),
                                        np.sqrt(np.diag(covariance)))
    assert np.max(np.abs(correlation - (0.6 + 0.4 * np.eye(D)))) < 0.05
    assert fit.elbo.shape == (3000,) and not fit.converged


@pytest.mark.parametrize("backend", ["tensorflow", "jax"], indirect=True)
def test_meanfield_gives_the_conditional_sds(gaussian: ts.Model, backend: str) -> None:
    fit = ts.vi(gaussian, method="meanfield", **FIT)
    assert np.max(np.abs(fit.loc - MEAN) / SDS) < 0.05
    sds = np.sqrt(np.diag(fit.scale_tril @ fit.scale_tril.T))
    np.testing.assert_allclose(sds, CONDITIONAL_SDS, rtol=0.05)
    assert np.all(sds < 0.7 * SDS)  # the mean-field underestimate of the marginal sds


REFERENCES = ["kidiq-kidscore_momiq", "earnings-logearn_height", "wells_data-wells_dist",
              "mesquite-logmesquite"]


@pytest.mark.skipif(not POSTERIORDB.is_dir(), reason=f"no posteriordb data at {POSTERIORDB}")
@pytest.mark.parametrize("posterior", REFERENCES)
def test_fullrank_matches_near_gaussian_references(posterior: str) -> None:
    model, names = shared_model(posterior)
    fit = ts.vi(model, method="fullrank", steps=3000, seed=1, progress=False)
    reference = load_reference(posterior)
    for ref_name, (name, index) in names.items():
        ref = reference[ref_name]
        mean, sd = np.asarray(fit.mean[name])[index], np.asarray(fit.sd[name])[index]
        assert abs(mean - ref["mean"]) < 0.1 * ref["sd"], ref_name
        assert abs(sd / ref["sd"] - 1) < 0.15, ref_name


def test_draws_work_as_mcmc_draws(small: ts.Model) -> None:
    fit = ts.vi(small, steps=1000, learning_rate=0.05, seed=1, progress=False)
    draws = fit.draws(400, seed=2)
    assert draws["mu"].shape == (1, 400) and draws["sigma"].shape == (1, 400)
    np.testing.assert_allclose(draws["y_rep"], 2 * draws["mu"])
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # iid draws: no diagnostics warning
        table = draws.summary()
    assert table.loc["mu", "ess_bulk"] > 300  # independent draws
    assert abs(table.loc["mu", "mean"] - fit.mean["mu"]) < 4 * fit.sd["mu"] / 20
    doubled = ts.calculate(small.targets["mu"] * 2, values=draws)
    np.testing.assert_allclose(doubled, 2 * draws["mu"])
    idata = draws.to_arviz()
    assert idata.posterior["mu"].shape == (1, 400)
    assert "log_likelihood" in idata.groups()
    again = fit.draws(400, seed=2)
    np.testing.assert_array_equal(again["mu"], draws["mu"])


def test_result_pickles(small: ts.Model) -> None:
    fit = ts.vi(small, steps=100, seed=1, progress=False)
    restored = pickle.loads(pickle.dumps(fit))
    np.testing.assert_array_equal(restored.elbo, fit.elbo)
    np.testing.assert_array_equal(restored.draws(10, seed=1)["mu"], fit.draws(10, seed=1)["mu"])


def test_result_reports_elbo_and_convergence(small: ts.Model) -> None:
    fit = ts.vi(small, steps=5000, learning_rate=0.05, tolerance=1e-3, seed=1,
                progress=False)
    assert fit.converged and fit.steps < 5000 and fit.steps % 100 == 0
    assert fit.elbo.shape == (fit.steps,) and np.all(np.isfinite(fit.elbo))
    assert ts.vi(small, steps=150, seed=1, progress=False).elbo.shape == (150,)
    assert fit.mean["sigma"] > 0 and fit.sd["mu"] > 0


def test_optimizers_and_samples(small: ts.Model) -> None:
    for optimizer in ("rmsprop", "adagrad", "sgd"):
        fit = ts.vi(small, steps=200, learning_rate=0.01, optimizer=optimizer, samples=2,
                    seed=1, progress=False)
        assert fit.optimizer == optimizer and np.all(np.isfinite(fit.loc))


def test_ctrl_c_returns_the_approximation_so_far(small: ts.Model,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    from tfstats.inference import variational

    calls = []

    def interrupt(elbo: np.ndarray, tolerance: float) -> bool:
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return False

    monkeypatch.setattr(variational, "converged_at", interrupt)
    with pytest.warns(UserWarning, match="interrupted after 200 of 1000"):
        fit = ts.vi(small, steps=1000, seed=1, progress=False)
    assert fit.interrupted and fit.steps == 200 and np.all(np.isfinite(fit.loc))


@pytest.mark.parametrize("kwargs, match", [
    ({"steps": 0}, "steps must be a positive int"),
    ({"steps": 2.5}, "steps must be a positive int"),
    ({"learning_rate": 0.0}, "learning_rate must be a positive number"),
    ({"learning_rate": -1}, "learning_rate must be a positive number"),
    ({"method": "full"}, "method must be one of"),
    ({"optimizer": "lbfgs"}, "optimizer must be one of"),
    ({"samples": 0}, "samples must be a positive int"),
    ({"init": "zero"}, "init must be one of"),
])
def test_bad_arguments_are_named(small: ts.Model, kwargs: dict, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        ts.vi(small, progress=False, **kwargs)
