"""MLflow tracking of tfstats fits: parameters, diagnostics, ELBO traces and artifacts."""

from __future__ import annotations

import os
import sys
from typing import Any

import numpy as np
import pandas as pd
import pytest

import tfstats as ts
from tfstats import tracking

pytest.importorskip("mlflow")


def _model() -> Any:
    y = np.array([0.3, -0.2, 1.1, 0.4, 0.9])
    mu = ts.normal(0, 10)
    ts.normal(mu, 1, observed=y)
    return ts.model(mu)


def _runs(mlflow: Any) -> pd.DataFrame:
    experiment = mlflow.get_experiment_by_name(mlflow.get_experiment(
        mlflow.tracking.fluent._get_experiment_id()).name)
    return mlflow.search_runs([experiment.experiment_id])


def test_mcmc_run_holds_settings_diagnostics_and_posterior(tracking_on: Any) -> None:
    mlflow = tracking_on
    draws = ts.mcmc(_model(), n_samples=200, warmup=200, chains=2, seed=1, progress=False)
    run = mlflow.last_active_run()
    assert run.data.params["fit"] == "mcmc"
    assert run.data.params["chains"] == "2"
    table = draws.summary()
    assert run.data.metrics["r_hat_max"] == pytest.approx(table["r_hat"].max())
    assert run.data.metrics["ess_bulk_min"] == pytest.approx(table["ess_bulk"].min())
    folder = mlflow.artifacts.download_artifacts(run_id=run.info.run_id)
    assert set(os.listdir(folder)) == {"summary.csv", "posterior.nc"}
    import arviz

    posterior = arviz.from_netcdf(os.path.join(folder, "posterior.nc")).posterior
    np.testing.assert_allclose(posterior["mu"].to_numpy(), draws["mu"])


def test_vi_logs_one_elbo_value_per_step(tracking_on: Any) -> None:
    mlflow = tracking_on
    result = ts.vi(_model(), steps=300, seed=2, progress=False)
    run = mlflow.last_active_run()
    history = mlflow.MlflowClient().get_metric_history(run.info.run_id, "elbo")
    assert [h.step for h in history] == list(range(result.steps))
    np.testing.assert_allclose([h.value for h in history], result.elbo, rtol=1e-6)
    # the Laplace start's opt logs into the same run, under a prefix and without parameters
    assert run.data.params["fit"] == "vi"


def test_fit_inside_a_user_run_logs_there(tracking_on: Any) -> None:
    mlflow = tracking_on
    with mlflow.start_run() as run:
        result = ts.opt(_model())
    logged = mlflow.get_run(run.info.run_id)
    assert logged.data.metrics["log_density"] == pytest.approx(result.value)
    assert logged.data.params["optimizer"] == "lbfgs"


def test_opt_with_hessian_logs_estimates_with_their_sds(tracking_on: Any) -> None:
    mlflow = tracking_on
    result = ts.opt(_model(), hessian=True)
    run = mlflow.last_active_run()
    folder = mlflow.artifacts.download_artifacts(run_id=run.info.run_id)
    table = pd.read_csv(os.path.join(folder, "estimates.csv"))
    assert list(table.columns) == ["name", "element", "value", "sd"]
    assert table["value"].iloc[0] == pytest.approx(float(result.par["mu"]))
    assert table["sd"].iloc[0] == pytest.approx(float(result.sd["mu"]))
    assert run.data.params["hessian"] == "True"


def test_disabled_tracking_logs_nothing(tracking_on: Any) -> None:
    mlflow = tracking_on
    ts.opt(_model())
    before = len(_runs(mlflow))
    ts.autolog(disable=True)
    ts.opt(_model())
    assert len(_runs(mlflow)) == before == 1


def test_a_logging_failure_warns_and_keeps_the_result(tracking_on: Any,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*args: Any) -> None:
        raise OSError("disk full")

    monkeypatch.setitem(tracking._LOGGERS, "opt", broken)
    with pytest.warns(RuntimeWarning, match="disk full"):
        result = ts.opt(_model())
    assert result.converged


def test_missing_mlflow_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "mlflow", None)
    with pytest.raises(ImportError, match=r"tfstats\[tracking\]"):
        ts.autolog()
