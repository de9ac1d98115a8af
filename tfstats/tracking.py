"""Run tracking in MLflow: ``autolog()`` records every fit that follows.

With tracking on, each :func:`~tfstats.mcmc`, :func:`~tfstats.opt` and :func:`~tfstats.vi`
call (and each estimator ``fit``, see :mod:`estimators.tracking`) is one MLflow run:

- ``mcmc``: its settings as parameters; the worst ``r_hat``, the smallest bulk and tail
  ESS, the divergences and the wall time as metrics; ``summary.csv`` and the posterior as
  an ArviZ NetCDF file (``posterior.nc``) as artifacts.
- ``opt``: settings; the log density, iterations and convergence; the optimum as
  ``estimates.csv``.
- ``vi``: settings; the ELBO at every step (one metric series) and the approximation's
  mean and sd as ``approximation.csv``.

MLflow is an optional dependency (``pip install "tfstats[tracking]"``). A fit inside a run
the user opened (``with mlflow.start_run():``) logs into that run; a fit called by another
tracked fit (``vi``'s starting ``opt``, the NUTS of a GLM estimator) adds its metrics and
artifacts to the outer run, under a prefix, and no parameters. Logging never loses a fit:
if it fails, a warning says why and the result is returned.

Examples
--------
>>> import tempfile, mlflow, tfstats as ts
>>> ts.autolog(tracking_uri="sqlite:///" + tempfile.mkdtemp() + "/runs.db")
>>> mu = ts.normal(0, 1)
>>> result = ts.opt(ts.model(mu))
>>> mlflow.last_active_run().data.metrics["log_density"] == result.value
True
>>> ts.autolog(disable=True)
"""

from __future__ import annotations

import contextlib
import contextvars
import functools
import inspect
import os
import tempfile
import time
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from tfstats.errors import user_stacklevel

__all__ = ["autolog", "tracking_enabled", "tracked", "tracked_run", "log_series"]

_SETTINGS: dict[str, Any] = {"enabled": False, "experiment": None, "log_models": True}
_DEPTH: contextvars.ContextVar[int] = contextvars.ContextVar("tfstats_tracking_depth",
                                                             default=0)
_PARAM_CHARS = 500  # longer parameter values are cut (MLflow stores them as text)
_BATCH = 1000  # MLflow's limit of metrics per log_batch call


def _mlflow() -> Any:
    try:
        import mlflow
    except ImportError as error:
        raise ImportError("run tracking needs MLflow: pip install \"tfstats[tracking]\"") \
            from error
    return mlflow


def autolog(*, tracking_uri: str | None = None, experiment: str | None = None,
            log_models: bool = True, disable: bool = False) -> None:
    """Log every following fit (tfstats and estimators) to MLflow, until disabled.

    Parameters
    ----------
    tracking_uri : str, optional
        Where runs go, e.g. ``"sqlite:///mlflow.db"`` (a local file, no server). None keeps
        MLflow's own setting (``MLFLOW_TRACKING_URI`` or its default).
    experiment : str, optional
        The MLflow experiment the runs go to (created if needed). None keeps the active one,
        or is "tfstats" when ``tracking_uri`` is given. A new experiment in a SQLite store
        keeps its artifacts in ``mlruns/`` beside the database file.
    log_models : bool, default=True
        Whether estimator fits also log the fitted model as an MLflow model
        (``mlflow.pyfunc.load_model`` serves it).
    disable : bool, default=False
        Turn tracking off.

    Examples
    --------
    See the module's example for a logged fit.

    >>> import tfstats as ts
    >>> ts.autolog(disable=True)
    >>> ts.tracking.tracking_enabled()
    False
    """
    if disable:
        _SETTINGS["enabled"] = False
        return
    mlflow = _mlflow()
    if tracking_uri is not None:
        mlflow.set_tracking_uri(tracking_uri)
    if experiment is not None or tracking_uri is not None:
        _use_experiment(mlflow, experiment or "tfstats", tracking_uri)
    _SETTINGS.update(enabled=True, experiment=experiment, log_models=bool(log_models))


def _use_experiment(mlflow: Any, name: str, tracking_uri: str | None) -> None:
    """Make ``name`` the active experiment; a new one in a SQLite store keeps its artifacts
    in ``mlruns/`` beside the database file, so the store is one folder."""
    prefix = "sqlite:///"
    if (tracking_uri or "").startswith(prefix) and mlflow.get_experiment_by_name(name) is None:
        folder = Path(tracking_uri[len(prefix):]).resolve().parent
        mlflow.create_experiment(name, artifact_location=(folder / "mlruns").as_uri())
    mlflow.set_experiment(name)


def tracking_enabled() -> bool:
    """Whether :func:`autolog` is on."""
    return bool(_SETTINGS["enabled"])


def models_enabled() -> bool:
    """Whether estimator fits log their model."""
    return tracking_enabled() and bool(_SETTINGS["log_models"])


@contextlib.contextmanager
def tracked_run(name: str) -> Iterator[tuple[Any, str]]:
    """The run a fit logs to, and its key prefix ("" for its own run, ``name/`` nested).

    Opens a run when none is active; an outer tracked fit's run is reused with a prefix.
    """
    mlflow = _mlflow()
    depth = _DEPTH.get()
    token = _DEPTH.set(depth + 1)
    try:
        active = mlflow.active_run()
        if active is not None:
            yield active, (f"{name}/" if depth > 0 else "")
        else:
            with mlflow.start_run(run_name=name) as run:
                yield run, ""
    finally:
        _DEPTH.reset(token)


def log_params(values: dict[str, Any]) -> None:
    """Log parameters as text, long values cut to 500 characters."""
    mlflow = _mlflow()
    mlflow.log_params({k: _param_text(v) for k, v in values.items()})


def _param_text(value: Any) -> str:
    text = value if isinstance(value, str) else repr(value)
    return text if len(text) <= _PARAM_CHARS else text[: _PARAM_CHARS - 3] + "..."


def log_series(run: Any, name: str, values: Any, first_step: int = 0) -> None:
    """Log one metric value per step (an ELBO trace, a training curve) in batches."""
    mlflow = _mlflow()
    stamp = int(time.time() * 1000)
    metrics = [mlflow.entities.Metric(name, float(v), stamp, first_step + i)
               for i, v in enumerate(np.asarray(values, dtype=float).ravel())
               if np.isfinite(v)]
    client = mlflow.MlflowClient()
    for start in range(0, len(metrics), _BATCH):
        client.log_batch(run.info.run_id, metrics=metrics[start: start + _BATCH])


def log_table(frame: pd.DataFrame, filename: str, prefix: str) -> None:
    """Log a DataFrame as a CSV artifact."""
    mlflow = _mlflow()
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, filename)
        frame.to_csv(path)
        mlflow.log_artifact(path, artifact_path=prefix.rstrip("/") or None)


def _settings(function: Callable[..., Any], args: tuple, kwargs: dict) -> dict[str, Any]:
    bound = inspect.signature(function).bind(*args, **kwargs)
    bound.apply_defaults()
    return {k: v for k, v in bound.arguments.items() if k not in ("model", "kwargs")}


def tracked(kind: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Decorate a fitting function so its result is logged when tracking is on."""

    def decorate(function: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(function)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            if not tracking_enabled():
                return function(*args, **kwargs)
            with tracked_run(kind) as (run, prefix):
                start = time.perf_counter()
                result = function(*args, **kwargs)
                seconds = time.perf_counter() - start
                _log_safely(kind, run, prefix, result, seconds,
                            lambda: _settings(function, args, kwargs))
            return result

        return wrapper

    return decorate


def _log_safely(kind: str, run: Any, prefix: str, result: Any, seconds: float,
                settings: Callable[[], dict[str, Any]]) -> None:
    try:
        _LOGGERS[kind](run, prefix, result)
        _mlflow().log_metric(f"{prefix}seconds", seconds)
        if not prefix:  # a nested fit's settings belong to the outer fit
            log_params({"fit": kind, **settings()})
    except Exception as error:  # noqa: BLE001 - a logging failure must not lose the fit
        warnings.warn(f"MLflow logging of this {kind} fit failed ({error}); the result is "
                      "returned unlogged", RuntimeWarning, stacklevel=user_stacklevel())


def _log_draws(run: Any, prefix: str, draws: Any) -> None:
    mlflow = _mlflow()
    metrics: dict[str, float] = {"divergences": float(draws.divergences)}
    if draws.n_draws >= 4:
        table = draws.summary()
        metrics.update(r_hat_max=float(table["r_hat"].max()),
                       ess_bulk_min=float(table["ess_bulk"].min()),
                       ess_tail_min=float(table["ess_tail"].min()))
        log_table(table, "summary.csv", prefix)
    mlflow.log_metrics({f"{prefix}{k}": v for k, v in metrics.items() if np.isfinite(v)})
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "posterior.nc")
        draws.to_arviz().to_netcdf(path)
        mlflow.log_artifact(path, artifact_path=prefix.rstrip("/") or None)


def _log_optimum(run: Any, prefix: str, result: Any) -> None:
    mlflow = _mlflow()
    mlflow.log_metrics({f"{prefix}log_density": float(result.value),
                        f"{prefix}iterations": float(result.iterations),
                        f"{prefix}converged": float(result.converged)})
    rows = {name: np.ravel(value) for name, value in result.par.items()}
    frame = pd.DataFrame([(n, i, v) for n, vals in rows.items() for i, v in enumerate(vals)],
                         columns=["name", "element", "value"])
    if result.hessian is not None:  # hessian=True: the Laplace approximation's sds
        try:
            frame["sd"] = np.concatenate([np.ravel(result.sd[name]) for name in rows])
        except ValueError:  # not positive definite: no approximation, no sds
            pass
    log_table(frame.set_index(["name", "element"]), "estimates.csv", prefix)


def _log_approximation(run: Any, prefix: str, result: Any) -> None:
    mlflow = _mlflow()
    log_series(run, f"{prefix}elbo", result.elbo)
    mlflow.log_metrics({f"{prefix}steps": float(result.steps),
                        f"{prefix}converged": float(result.converged)})
    moments = [(name, i, m, s) for name in result.mean
               for i, (m, s) in enumerate(zip(np.ravel(result.mean[name]),
                                              np.ravel(result.sd[name]), strict=True))]
    frame = pd.DataFrame(moments, columns=["name", "element", "mean", "sd"])
    log_table(frame.set_index(["name", "element"]), "approximation.csv", prefix)


_LOGGERS: dict[str, Callable[[Any, str, Any], None]] = {
    "mcmc": _log_draws, "opt": _log_optimum, "vi": _log_approximation,
}
