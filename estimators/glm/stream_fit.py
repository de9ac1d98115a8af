"""LinearClassifier and PoissonRegressor fitted on a stream.

MAP: L-BFGS on the exact objective, its value and gradient accumulated over the chunks at
every evaluation. One compiled function (the cached template model's objective and
gradient, ``ts.opt``'s) serves every chunk: each chunk is padded to the same number of
rows with zero-weight rows and set as the model's mutable data (``Model.set_data``), so
nothing recompiles. The prior enters with the first chunk
only. The files are read once per evaluation and never held whole.

VI: full-rank ADVI (``ts.vi``) on a model over ``ts.minibatch`` of the encoded chunks (a
``tf.data`` generator), with the same standardisation and priors as in memory, started at
the streamed mode. Each step sees one batch, its likelihood scaled by N / batch_size.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
from scipy.optimize import minimize

import tfstats as ts
from estimators.glm.models import (
    MAX_ITERATIONS,
    TOLERANCE,
    GLMData,
    GLMFit,
    bucket,
    graph_mode,
    initial_values,
    loaded,
    model_arrays,
    original_scale,
    sum_zero_basis,
    template,
)
from tfstats.inference.optimize import compiled_objective

__all__ = ["fit_glm_stream"]

Chunks = Callable[[], Iterator[tuple[np.ndarray, np.ndarray]]]


def _pieces(chunks: Chunks, rows: int) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """The chunks cut to at most ``rows`` rows each."""
    for X, y in chunks():
        for start in range(0, X.shape[0], rows):
            yield X[start:start + rows], y[start:start + rows]


def _chunk_arrays(family: str, k: int, X: np.ndarray, y: np.ndarray, n_pad: int,
                  d_pad: int, settings: np.ndarray) -> dict[str, np.ndarray]:
    """A chunk as the template's data: padded with zero-weight rows and zero columns."""
    n, d = X.shape
    X_pad = np.zeros((n_pad, d_pad))
    X_pad[:n, :d] = X
    if family == "logistic":
        y = 2.0 * y - 1.0
    elif family == "multinomial":
        y = np.eye(k)[y.astype(np.int64)]
    y_pad = np.zeros((n_pad, *y.shape[1:]))
    y_pad[:n] = y
    w_pad = np.zeros(n_pad)
    w_pad[:n] = 1.0
    return {"X": X_pad, "w": w_pad, "settings": settings, "y": y_pad}


def fit_glm_stream(data: GLMData, chunks: Chunks, total: float, rows: int,
                   batch_size: int | None = None, seed: int | None = None,
                   inference: str = "map", n_samples: int = 1000) -> GLMFit:
    """A logistic, multinomial or Poisson GLM fitted on a stream: MAP, or VI started there.

    Parameters
    ----------
    data : GLMData
        The stream's sample (encoded): it sets the standardisation and starting point.
    chunks : callable
        ``() -> iterator of (design, target)``, every chunk of the stream, encoded (the
        target as in ``GLMData``: counts, 0/1 or class codes), unit weights.
    total : float
        The number of rows of the stream (the objective is divided by it, as in memory).
    rows : int
        Rows of the compiled function's chunk (longer chunks are cut, shorter padded).
    inference : {"map", "vi"}
        "vi": full-rank ADVI (``ts.vi``) over minibatches of the stream (``ts.minibatch``
        of ``batch_size`` rows, default ``min(rows, total)``), started at the streamed
        mode; ``n_samples`` draws.
    """
    values, back, converged, iterations = _stream_mode(data, chunks, total, rows)
    if inference == "vi":
        return _stream_vi(data, chunks, values, back, int(total),
                          batch_size or int(min(rows, total)), n_samples, seed)
    coef, intercept, _ = original_scale(data, values, back, ())
    return GLMFit(coef, intercept, None, converged, iterations)


def _stream_mode(data: GLMData, chunks: Chunks, total: float, rows: int) -> tuple:
    """The mode by L-BFGS on the streamed objective: (internal values, back, converged,
    iterations)."""
    d = data.X.shape[1]
    n_pad, d_pad = bucket(rows, d)
    k = data.n_classes if data.family == "multinomial" else 1
    held = template(data.family, n_pad, d_pad, k, data.fit_intercept)
    sample_rows = data.X.shape[0]
    first, back = model_arrays(data, sample_rows, d_pad, tempered=True)
    first_settings = first["settings"]
    first_settings[4 * d_pad] = 1.0 / total
    rest_settings = first_settings.copy()
    rest_settings[2 * d_pad:3 * d_pad] = 0.0  # the prior: with the first chunk only

    with loaded(held) as model:
        B = model.backend

        def evaluate(x: np.ndarray) -> tuple[float, np.ndarray]:
            value, grad = 0.0, np.zeros_like(x)
            for i, (X, y) in enumerate(_pieces(chunks, n_pad)):
                settings = first_settings if i == 0 else rest_settings
                model.set_data(**_chunk_arrays(data.family, k, X, y, n_pad, d_pad, settings))
                with graph_mode():
                    objective = compiled_objective(model, False)
                    v, g = B.to_numpy(objective(B.convert(x, model.float_dtype),
                                                *model.data_tensors()))
                value += float(v)
                grad += np.asarray(g, np.float64)
            if not np.isfinite(value):  # a failed step: let the line search back off
                return np.inf, np.zeros_like(x)
            return value, grad

        x0 = model.unconstrain(initial_values(data, model, d_pad, back))
        tolerance = TOLERANCE[model.precision]
        eps = np.finfo(np.float32 if model.precision == "single" else np.float64).eps
        result = minimize(evaluate, x0, jac=True, method="L-BFGS-B",
                          options={"maxiter": MAX_ITERATIONS, "gtol": tolerance,
                                   "ftol": 10 * eps})
        converged = bool(result.success) or float(np.max(np.abs(result.jac))) <= (
            100 * tolerance)
        X, y = next(_pieces(chunks, n_pad))
        model.set_data(**_chunk_arrays(data.family, k, X, y, n_pad, d_pad, first_settings))
        ev = model.evaluator(model.data_tensors(), flat=B.convert(result.x, model.float_dtype))
        values = {name: np.asarray(B.to_numpy(ev.to_float(ev(a))))
                  for name, a in model.output_arrays().items()}
    d = data.X.shape[1]
    values["beta"] = values["beta"][:d]  # the padded columns stay 0
    return values, back, converged, int(result.nit)


def _stream_vi(data: GLMData, chunks: Chunks, mode: dict, back: dict, total: int,
               batch_size: int, n_samples: int, seed: int | None) -> GLMFit:
    """Full-rank ADVI over minibatches of the (encoded) stream, started at the mode."""
    import tensorflow as tf

    d, k = data.X.shape[1], data.n_classes
    columns = [f"x{j}" for j in range(d)]
    # the multinomial's target as one-hot columns (its likelihood is a factor over them)
    labels = [f"y{c}" for c in range(k)] if data.family == "multinomial" else ["y"]

    def rows_of_chunks() -> Iterator[dict[str, np.ndarray]]:
        for X, y in chunks():
            targets = np.eye(k)[y.astype(np.int64)].T if len(labels) > 1 else [y]
            yield {**{c: X[:, j] for j, c in enumerate(columns)},
                   **{c: t for c, t in zip(labels, targets, strict=True)}}

    spec = {c: tf.TensorSpec((None,), tf.float64) for c in [*columns, *labels]}
    dataset = tf.data.Dataset.from_generator(rows_of_chunks, output_signature=spec)
    X_b, y_b = ts.minibatch(dataset, batch_size=min(batch_size, total), seed=seed,
                            columns=[columns, labels if len(labels) > 1 else "y"],
                            n_rows=total)
    Z = (X_b - back["loc"]) / back["scale"]  # the standardised design, as in memory
    prec = np.zeros(d)
    if data.prior_scale is not None:
        prec = 1.0 / (data.prior_scale * back["scale"]) ** 2
    targets: dict[str, Any] = {}
    if data.family == "multinomial":
        basis_t = sum_zero_basis(k).T
        beta = ts.variable(dim=(d, k - 1))
        eta = Z @ (beta @ basis_t)
        ts.factor(-0.5 * np.sum(prec[:, None] * beta**2))
        if data.fit_intercept:
            alpha = ts.variable(dim=k - 1)
            eta = eta + alpha @ basis_t
            targets["intercept"] = alpha
        ts.factor(-np.sum(ts.logsumexp(eta, axis=1) - np.sum(y_b * eta, axis=1)))
    else:
        beta = ts.variable(dim=d)
        eta = Z @ beta
        ts.factor(-0.5 * np.sum(prec * beta**2))
        if data.fit_intercept:
            alpha = ts.variable()
            eta = eta + alpha
            targets["intercept"] = alpha
        if data.family == "logistic":
            ts.bernoulli(ts.ilogit(eta), observed=y_b)
        else:
            ts.poisson(np.exp(eta), observed=y_b)
    targets["beta"] = beta
    model = ts.model(**targets)
    fit = ts.vi(model, method="fullrank", seed=seed, progress=False,
                initial_values={name: mode[name] for name in targets})
    draws = fit.draws(n_samples, seed=seed)
    values = {name: draws[name] for name in draws.keys()}
    coef, intercept, _ = original_scale(data, values, back, values["beta"].shape[:2])
    return GLMFit(coef, intercept, None, fit.converged, fit.steps, dict(draws.stats),
                  draws.sampler)
