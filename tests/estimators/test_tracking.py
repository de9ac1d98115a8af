"""MLflow tracking of estimator fits: parameters, per-epoch metrics and a servable model."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest

from estimators import LinearClassifier, LinearRegressor

pytest.importorskip("mlflow")


def _history(mlflow: Any, run: Any, name: str) -> list[float]:
    return [h.value for h in mlflow.MlflowClient().get_metric_history(run.info.run_id, name)]


def test_dnn_fit_logs_params_epochs_and_a_servable_savedmodel(tracking_on: Any) -> None:
    from estimators.neural import DNNClassifier

    mlflow = tracking_on
    rng = np.random.default_rng(0)
    X = pd.DataFrame({"x": rng.normal(size=120), "colour": rng.choice(["red", "blue"], 120)})
    y = (X["x"] + (X["colour"] == "red") > 0.5).astype(int)
    clf = DNNClassifier(hidden_units=[4], epochs=3, random_state=0).fit(X, y)
    run = mlflow.last_active_run()
    assert run.info.run_name == "DNNClassifier"
    assert run.data.params["hidden_units"] == "[4]"
    np.testing.assert_allclose(_history(mlflow, run, "loss"), clf.history_["loss"], rtol=1e-6)
    served = mlflow.pyfunc.load_model(f"runs:/{run.info.run_id}/model")
    np.testing.assert_array_equal(served.predict(X.head(7)), clf.predict(X.head(7)))
    np.testing.assert_allclose(served.predict(X.head(7), params={"method": "predict_proba"}),
                               clf.predict_proba(X.head(7)), atol=1e-6)


def test_glm_map_fit_logs_a_pickled_model(tracking_on: Any) -> None:
    mlflow = tracking_on
    X = np.arange(40.0).reshape(20, 2)
    y = X @ [0.5, -1.0] + np.sin(np.arange(20.0))
    reg = LinearRegressor().fit(X, y)
    run = mlflow.last_active_run()
    assert run.data.params["inference"] == "map"
    served = mlflow.pyfunc.load_model(f"runs:/{run.info.run_id}/model")
    np.testing.assert_allclose(served.predict(X[:5]), reg.predict(X[:5]))


def test_glm_vi_fit_adds_the_elbo_and_approximation_under_a_prefix(tracking_on: Any) -> None:
    import tfstats as ts

    mlflow = tracking_on
    ts.autolog(log_models=False)
    rng = np.random.default_rng(1)
    X = rng.normal(size=(60, 2))
    y = (X[:, 0] + rng.logistic(size=60) > 0).astype(int)
    clf = LinearClassifier(inference="vi", random_state=0).fit(X, y)
    run = mlflow.last_active_run()
    assert run.info.run_name == "LinearClassifier"
    assert run.data.params["inference"] == "vi"
    assert "fit" not in run.data.params  # the inner vi leaves the parameters to the estimator
    elbo = _history(mlflow, run, "vi/elbo")
    assert len(elbo) == run.data.metrics["vi/steps"] == clf.n_iter_
    listed = {a.path for a in mlflow.MlflowClient().list_artifacts(run.info.run_id, "vi")}
    assert listed == {"vi/approximation.csv"}
