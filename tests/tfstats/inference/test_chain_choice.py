"""The default chain method: vectorised chains for models whose matrix products read much
data per gradient (one pass serves every chain), parallel chains otherwise; an explicit
``chain_method`` always wins. The choice is inspected, not timed."""

from __future__ import annotations

import numpy as np
import pytest

import tfstats as ts
from tfstats.inference import mcmc as mcmc_module
from tfstats.inference import parallel_chains
from tfstats.inference.chain_choice import DENSE_DATA_BYTES, dense_data_bytes
from tfstats.inference.parallel_chains import chain_method_for

ROWS = 60_000  # x 20 columns: 4.8 MB in float32 (the default mixed precision)


@pytest.fixture(autouse=True)
def four_cores(monkeypatch: pytest.MonkeyPatch) -> None:
    """The default depends on the cores: make it the same on every machine."""
    monkeypatch.setattr(parallel_chains.os, "sched_getaffinity", lambda _: {0, 1, 2, 3},
                        raising=False)


@pytest.fixture(scope="module")
def design() -> np.ndarray:
    return np.random.default_rng(3).normal(size=(ROWS, 20))


def _logistic(x: np.ndarray, precision: str | None = None) -> ts.Model:
    alpha = ts.normal(0, 5)
    beta = ts.normal(0, 1, dim=x.shape[1])
    ts.bernoulli(ts.ilogit(alpha + x @ beta), observed=(x[:, 0] > 0).astype(float))
    return ts.model(alpha=alpha, beta=beta, precision=precision)


def _eight_schools() -> ts.Model:
    y = np.array([28.0, 8.0, -3.0, 7.0, -1.0, 1.0, 18.0, 12.0])
    sigma = np.array([15.0, 10.0, 16.0, 11.0, 9.0, 11.0, 10.0, 18.0])
    mu = ts.normal(0, 5)
    tau = ts.cauchy(0, 5, truncation=(0, None))
    theta_tilde = ts.normal(0, 1, dim=8)
    ts.normal(mu + tau * theta_tilde, sigma, observed=y)
    return ts.model(mu=mu, tau=tau, theta_tilde=theta_tilde)


def test_large_dense_glm_runs_vectorized_and_explicit_wins(design: np.ndarray) -> None:
    model = _logistic(design)
    assert model.single_data  # mixed precision: the design is read in float32
    assert dense_data_bytes(model) == ROWS * 20 * 4 >= DENSE_DATA_BYTES
    assert chain_method_for(None, 4, True, False, model=model) == "vectorized"
    assert chain_method_for("parallel", 4, True, False, model=model) == "parallel"
    # float64 data are read at twice the width, but the batched loop does not pay there
    double = _logistic(design, "double")
    assert dense_data_bytes(double) == ROWS * 20 * 8
    assert chain_method_for(None, 4, True, False, model=double) == "parallel"
    single = _logistic(design, "single")
    assert chain_method_for(None, 4, True, False, model=single) == "vectorized"
    # a tenth of the rows: parallel
    assert chain_method_for(None, 4, True, False, model=_logistic(design[:6000])) == "parallel"


def test_small_models_and_sufficient_statistics_run_parallel(
        design: np.ndarray, monkeypatch: pytest.MonkeyPatch) -> None:
    model = _eight_schools()
    assert dense_data_bytes(model) == 0
    assert chain_method_for(None, 4, True, False, model=model) == "parallel"
    assert chain_method_for("vectorized", 4, True, False, model=model) == "vectorized"
    assert chain_method_for(None, 4, True, True, model=model) == "vectorized"  # a GPU

    def gaussian() -> ts.Model:
        beta = ts.normal(0, 1, dim=20)
        sigma = ts.half_normal(1)
        ts.normal(design @ beta, sigma, observed=design[:, 0] + 1.0)
        return ts.model(beta=beta, sigma=sigma)

    # a Gaussian regression is summed from sufficient statistics: no per-row data read
    assert dense_data_bytes(gaussian()) == 0
    monkeypatch.setenv("TFSTATS_SUFFICIENT_STATISTICS", "0")
    assert chain_method_for(None, 4, True, False, model=gaussian()) == "vectorized"


class _Chosen(Exception):
    """Stops ``mcmc`` once it has chosen the chain method (before compiling the loop)."""


def test_mcmc_and_extra_samples_ask_with_the_model(monkeypatch: pytest.MonkeyPatch) -> None:
    mu = ts.normal(0, 1)
    ts.normal(mu, 1, observed=np.array([0.3, -0.2, 0.5]))
    model = ts.model(mu=mu)
    chosen: list[str] = []

    def spy(*args: object, **kwargs: object) -> str:
        method = chain_method_for(*args, **kwargs)
        if len(args) == 6:  # the call that runs the chains (the first one checks arguments)
            assert args[5] is model
            chosen.append(method)
            raise _Chosen
        return method

    monkeypatch.setattr(mcmc_module, "chain_method_for", spy)
    with pytest.raises(_Chosen):
        ts.mcmc(model, chains=4, progress=False)
    monkeypatch.setattr(parallel_chains, "prefers_vectorized", lambda model: True)
    with pytest.raises(_Chosen):
        ts.mcmc(model, chains=4, progress=False)
    with pytest.raises(_Chosen):
        ts.mcmc(model, chains=4, progress=False, chain_method="parallel")
    assert chosen == ["parallel", "vectorized", "parallel"]
