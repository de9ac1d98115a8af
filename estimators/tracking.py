"""Estimator fits in MLflow, when :func:`estimators.autolog` (``tfstats.autolog``) is on.

Each ``fit`` is one run named after the estimator's class, holding

- its parameters (``get_params()``),
- one metric value per epoch for every column of ``history_`` (the deep nets' ``loss``,
  ``accuracy``, ``val_loss``, ...),
- the fitted model as an MLflow model that ``mlflow.pyfunc.load_model`` serves: for the
  deep nets the exported SavedModel (:func:`estimators.export.export_saved_model`, usable
  without Python too), for the GLMs the pickled estimator; ``predict`` takes the same raw
  columns as the estimator, and ``params={"method": "predict_proba"}`` (or any other
  prediction method) chooses the method.

A GLM fitted by NUTS or VI also logs its posterior diagnostics and summary (see
:mod:`tfstats.tracking`) under ``mcmc/`` or ``vi/`` in the same run. Serving needs this
project installed where the model is loaded.

Examples
--------
>>> import tempfile, mlflow, numpy as np
>>> import estimators
>>> estimators.autolog(tracking_uri="sqlite:///" + tempfile.mkdtemp() + "/runs.db",
...                    log_models=False)
>>> X = np.arange(20.0).reshape(10, 2); y = X @ [1.0, 2.0]
>>> est = estimators.LinearRegressor().fit(X, y)
>>> mlflow.last_active_run().data.params["inference"]
'map'
>>> estimators.autolog(disable=True)
"""

from __future__ import annotations

import functools
import os
import pickle
import tempfile
import warnings
from collections.abc import Callable
from typing import Any

from tfstats import tracking

__all__ = ["tracked_fit", "estimator_model_class"]


def tracked_fit(fit: Callable[..., Any]) -> Callable[..., Any]:
    """Decorate an estimator's ``fit`` so the fit is logged when tracking is on."""

    @functools.wraps(fit)
    def wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
        if not tracking.tracking_enabled():
            return fit(self, *args, **kwargs)
        with tracking.tracked_run(type(self).__name__) as (run, prefix):
            fitted = fit(self, *args, **kwargs)
            try:
                _log_estimator(run, prefix, fitted)
            except Exception as error:  # noqa: BLE001 - a logging failure must not lose the fit
                warnings.warn(f"MLflow logging of this {type(self).__name__} fit failed "
                              f"({error}); the estimator is fitted but unlogged",
                              RuntimeWarning, stacklevel=2)
        return fitted

    return wrapper


def _log_estimator(run: Any, prefix: str, estimator: Any) -> None:
    if not prefix:  # an estimator fitted inside another's fit leaves the parameters to it
        tracking.log_params(estimator.get_params(deep=False))
    history = getattr(estimator, "history_", None)
    if history is not None:
        for column in history.columns:
            tracking.log_series(run, f"{prefix}{column}", history[column].to_numpy(),
                                first_step=int(history.index[0]) if len(history) else 0)
    if tracking.models_enabled() and not prefix:
        _log_model(estimator)


def _log_model(estimator: Any) -> None:
    import mlflow

    with tempfile.TemporaryDirectory() as folder:
        if hasattr(estimator, "export"):
            path = estimator.export(os.path.join(folder, "saved_model"))
            artifacts = {"saved_model": str(path)}
        else:
            path = os.path.join(folder, "estimator.pkl")
            with open(path, "wb") as file:
                pickle.dump(estimator, file)
            artifacts = {"estimator": path}
        with warnings.catch_warnings():  # its advice on type hints and input examples
            warnings.simplefilter("ignore", UserWarning)
            mlflow.pyfunc.log_model(name="model", python_model=estimator_model_class()(),
                                    artifacts=artifacts, pip_requirements=_requirements(),
                                    signature=_signature())


def _signature() -> Any:
    """No input schema (the estimator checks its columns); the ``method`` parameter."""
    from mlflow.models import ModelSignature
    from mlflow.types import ParamSchema, ParamSpec

    return ModelSignature(inputs=None,
                          params=ParamSchema([ParamSpec("method", "string", "predict")]))


def _requirements() -> list[str]:
    from importlib import metadata

    try:
        return [f"tfstats=={metadata.version('tfstats')}"]
    except metadata.PackageNotFoundError:  # run from a source tree
        return ["tfstats"]


@functools.cache
def estimator_model_class() -> type:
    """The MLflow ``pyfunc`` model class around a fitted estimator (SavedModel or pickle).

    Made on first use, as MLflow is optional; ``predict`` is left without type hints, so
    MLflow passes the raw columns through unchanged (the estimator checks them).
    """
    import mlflow.pyfunc

    with warnings.catch_warnings():  # MLflow's advice to add type hints
        warnings.simplefilter("ignore", UserWarning)

        class EstimatorModel(mlflow.pyfunc.PythonModel):
            def load_context(self, context):
                if "saved_model" in context.artifacts:
                    from estimators.export import load_estimator

                    self.estimator = load_estimator(context.artifacts["saved_model"])
                else:
                    with open(context.artifacts["estimator"], "rb") as file:
                        self.estimator = pickle.load(file)

            def predict(self, context, model_input, params=None):
                method = (params or {}).get("method", "predict")
                return getattr(self.estimator, method)(model_input)

    return EstimatorModel
