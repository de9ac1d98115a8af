"""The GLMs of ``estimators.glm.linear`` as tfstats models, fitted by ``ts.opt`` / ``ts.mcmc`` /
``ts.vi``.

Model (``i`` indexes samples, ``j`` design columns; ``w_i`` the sample weights)::

    eta_i  = intercept + sum_j x_ij * coef_j
    coef_j ~ normal(0, prior_scale)        (flat when prior_scale is None)
    intercept: flat prior
    normal:      y_i ~ normal(eta_i, sigma),   sigma: flat prior on (0, inf),
                 coef_j ~ normal(0, prior_scale * sigma)  (the conjugate scaling)
    logistic:    y_i ~ bernoulli(ilogit(eta_i))
    multinomial: y_i ~ categorical(softmax(eta_i)),  eta_i of length K
    poisson:     y_i ~ poisson(exp(eta_i))
    log density = sum_i w_i * log p(y_i | eta_i) + log priors

Inside, the unknowns are on a standardised scale: ``beta_j = coef_j * scale_j`` where
``scale_j`` is the (weighted) sd of numeric column j (from at most ``MOMENT_ROWS`` evenly
spaced rows: it only conditions), and the intercept is that of the
centred columns; the normal family also works on ``(y - mean) / sd``. This is only a
reparameterisation for conditioning (L-BFGS and NUTS see unit-scale unknowns): the prior
stays on the original-scale coefficients, so ``prior_scale = s`` is scikit-learn's L2
penalty with ``C = s**2``. The centring and scaling are computed in the graph from the raw
design matrix, which is passed as it is (no standardised copy). The normal family is the
exception: its model sees only sufficient statistics, the Gram matrix of the standardised
design, an intercept column and the standardised response (``gram``), so each step costs
O(d^2) whatever the number of rows; its MAP starts at the exact mode and ``ts.opt`` runs
untraced (``eager_scope``).

For the normal family the coefficients' prior is scaled by ``sigma`` (as in the
normal-inverse-gamma conjugate model): then the joint posterior mode exists even when the
data can be fitted exactly (as many features as samples), where with a fixed prior scale
the density grows without bound as ``sigma -> 0``; and the MAP coefficients are those of
scikit-learn's ``Ridge(alpha=1 / prior_scale**2)``.

The multinomial model has K coefficient vectors with iid normal priors, as scikit-learn's
``LogisticRegression``; the likelihood only sees their differences, so the unknowns are
the coordinates in an orthonormal basis of the sum-to-zero subspace (K - 1 vectors, the
same prior, identified even with a flat prior).

Compilation. Every setting that may change between fits (prior scale, standardisation,
tempering, weights) is data, and small problems (fewer than ``PAD_BELOW`` rows) are padded
to bucketed shapes with zero-weight rows and zero columns (whose internal coefficient has
a standard normal prior, so stays 0 at the mode). So one tfstats model serves every fit of
the same family, bucketed shape and ``fit_intercept``: its data are mutable
(``ts.as_data(..., mutable=True)``), each fit sets them with ``Model.set_data`` (and
releases them after), and its compiled functions (cached on the model by tfstats) are
reused, nothing traced again. The models are kept by shape in a small module-level cache.
For MAP, the log density and gradient that ``ts.opt``'s L-BFGS-B calls are compiled in
graph mode (no XLA): on CPU that compiles faster and runs faster at a million rows; NUTS
keeps XLA (docs/performance_glm.md). Predictions use each family's link (``LINKS``,
``mean_of``), defined once in ``tfstats.formulas.family``.

The weighted negative log-likelihood and prior, ``total``, enter the model as
``ts.factor(-total)``.
"""

from __future__ import annotations

import contextlib
import threading
import warnings
from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np

import tfstats as ts
from tfstats.backends import get_backend
from tfstats.formulas.family import inverse_link_numpy

__all__ = ["FAMILIES", "LINKS", "GLMData", "GLMFit", "fit_glm", "PAD_BELOW", "clear_cache",
           "mean_of", "bucket", "template", "loaded", "graph_mode", "model_arrays",
           "initial_values", "original_scale", "sum_zero_basis", "gram"]

FAMILIES = ("normal", "logistic", "multinomial", "poisson")
# each family's link, by tfstats' name (tfstats.formulas.family defines the inverse links)
LINKS = {"normal": "identity", "logistic": "logit", "multinomial": "softmax",
         "poisson": "log"}
PAD_BELOW = 65536  # problems with fewer rows are padded to bucketed shapes
MIN_ROWS, MIN_COLUMNS = 512, 16  # the smallest padded shape (a few microseconds per pass)
MOMENT_ROWS = 131072  # rows used for the standardisation constants
CACHE_SIZE = 32
# L-BFGS gradient tolerance on the objective divided by the total weight (the data here
# are mutable, so "mixed" models run in float64)
TOLERANCE = {"double": 1e-10, "mixed": 1e-10, "single": 1e-5}
MAX_ITERATIONS = 1000


@dataclass
class GLMData:
    """One fit's numeric inputs (unpadded).

    ``y`` is the response (normal, poisson), 0/1 (logistic) or class codes 0..K-1
    (multinomial). ``numeric`` marks the design columns to standardise.
    """

    family: str
    X: np.ndarray
    y: np.ndarray
    weights: np.ndarray
    numeric: np.ndarray
    n_classes: int = 1
    fit_intercept: bool = True
    standardize: bool = True
    prior_scale: float | None = 1.0


@dataclass
class GLMFit:
    """Fitted parameters on the original scale.

    ``coef`` has shape (D,) or, for the multinomial, (K, D); ``intercept`` () or (K,);
    ``sigma`` () for the normal family. For NUTS each has leading axes (chains, draws).
    """

    coef: np.ndarray
    intercept: np.ndarray
    sigma: np.ndarray | None = None
    converged: bool = True
    iterations: int = 0
    stats: dict[str, np.ndarray] = field(default_factory=dict)
    sampler: Any = None


# --- shapes and the model cache ---------------------------------------------------------------

def mean_of(family: str, eta: np.ndarray) -> np.ndarray:
    """The mean of the response from the linear predictor ``eta`` (classes on the last
    axis for the multinomial): the family's inverse link, as tfstats defines it."""
    return inverse_link_numpy(LINKS[family], eta)


def bucket(n: int, d: int, columns: bool = True) -> tuple[int, int]:
    """Padded (rows, columns): powers of two, at least ``MIN_ROWS`` x ``MIN_COLUMNS``, for
    problems with fewer than ``PAD_BELOW`` rows; larger problems keep their shape. Columns
    are padded only when ``columns`` (for MAP: NUTS would sample the padding too)."""
    if n >= PAD_BELOW:
        return n, d
    rows = max(MIN_ROWS, 1 << (n - 1).bit_length())
    return rows, max(MIN_COLUMNS, 1 << (d - 1).bit_length()) if columns else d


def _settings_size(d: int) -> int:
    """loc, scale, prec, prec_sigma (d each), temper, n_sigma_prior."""
    return 4 * d + 2


def sum_zero_basis(k: int) -> np.ndarray:
    """An orthonormal basis (K, K - 1) of the vectors of length K that sum to zero."""
    centred = np.eye(k) - 1.0 / k
    u, _, _ = np.linalg.svd(centred)
    return u[:, :k - 1]


@dataclass
class Template:
    """A family's model for one padded shape; its data (mutable) are set per fit under
    ``lock``."""

    model: ts.Model
    lock: threading.Lock = field(default_factory=threading.Lock)


_CACHE: OrderedDict[tuple, Template] = OrderedDict()
_CACHE_LOCK = threading.Lock()


def clear_cache() -> None:
    """Forget the cached models (and their compiled functions)."""
    with _CACHE_LOCK:
        _CACHE.clear()


def template(family: str, n: int, d: int, k: int, intercept: bool) -> Template:
    """The model of ``family`` for ``n`` x ``d`` padded data (``k`` classes), cached."""
    key = (ts.backend_name(), family, n, d, k, intercept)
    with _CACHE_LOCK:
        if key in _CACHE:
            _CACHE.move_to_end(key)
            return _CACHE[key]
    built = _build(family, n, d, k, intercept)
    with _CACHE_LOCK:
        built = _CACHE.setdefault(key, built)
        while len(_CACHE) > CACHE_SIZE:
            _CACHE.popitem(last=False)
    return built


def _build(family: str, n: int, d: int, k: int, intercept: bool) -> Template:
    """The tfstats model of a family for padded shapes (its mutable data are zeros until a
    fit sets them)."""
    if family == "normal":
        return _build_normal(d, intercept)
    X = ts.as_data(np.zeros((n, d)), name="X", mutable=True)
    w = ts.as_data(np.zeros(n), name="w", mutable=True)  # the sample weights
    settings = ts.as_data(np.zeros(_settings_size(d)), name="settings", mutable=True)
    y = ts.as_data(np.zeros((n, k) if family == "multinomial" else n), name="y", mutable=True)
    loc, scale, prec = settings[:d], settings[d:2 * d], settings[2 * d:3 * d]
    temper = settings[4 * d]  # 1 for the posterior; 1 / total weight for the optimiser
    targets: dict[str, Any] = {}
    if family == "multinomial":
        basis_t = sum_zero_basis(k).T  # (K - 1, K)
        beta = ts.variable(dim=(d, k - 1))
        coef = (beta / scale[:, None]) @ basis_t
        eta = X @ coef
        prior = 0.5 * np.sum(prec[:, None] * beta**2)
        if intercept:
            alpha = ts.variable(dim=k - 1)
            eta = eta + (alpha @ basis_t - loc @ coef)
            targets["intercept"] = alpha
    else:
        beta = ts.variable(dim=d)
        coef = beta / scale
        eta = X @ coef
        prior = 0.5 * np.sum(prec * beta**2)
        if intercept:
            alpha = ts.variable()
            eta = eta + (alpha - np.sum(coef * loc))
            targets["intercept"] = alpha
    targets["beta"] = beta
    if family == "logistic":  # y holds -1 / +1
        nll = np.sum(w * ts.log1pe(-y * eta))
    elif family == "poisson":
        nll = np.sum(w * (np.exp(eta) - y * eta))
    else:  # multinomial, y one-hot
        nll = np.sum(w * (ts.logsumexp(eta, axis=1) - np.sum(y * eta, axis=1)))
    ts.factor(-(nll + prior) * temper)
    return Template(ts.model(**targets))


def _build_normal(d: int, intercept: bool) -> Template:
    """The normal family on sufficient statistics: ``G = Z' W Z`` for the internal design
    ``Z = [standardised X, 1, standardised y]`` ((d + 2) x (d + 2)), so a pass of the
    optimiser or a NUTS leapfrog step costs O(d^2), not O(n d). The sum of squares is
    ``v' G v`` with ``v = [-beta, -intercept, 1]``."""
    G = ts.as_data(np.zeros((d + 2, d + 2)), name="gram", mutable=True)
    settings = ts.as_data(np.zeros(_settings_size(d)), name="settings", mutable=True)
    prec, prec_sigma = settings[2 * d:3 * d], settings[3 * d:4 * d]
    temper, n_sigma_prior = settings[4 * d], settings[4 * d + 1]
    beta = ts.variable(dim=d)
    sigma = ts.variable(lower=0)
    squares = beta @ G[:d, :d] @ beta - 2.0 * (beta @ G[:d, d + 1]) + G[d + 1, d + 1]
    targets: dict[str, Any] = {}
    if intercept:
        alpha = ts.variable()
        squares = squares + alpha * (alpha * G[d, d] + 2.0 * (beta @ G[:d, d])
                                     - 2.0 * G[d, d + 1])
        targets["intercept"] = alpha
    squares = np.maximum(squares, 0.0)  # rounding must not make it negative
    nll = 0.5 * squares / sigma**2 + G[d, d] * np.log(sigma)
    prior = (0.5 * np.sum(prec * beta**2) + 0.5 * np.sum(prec_sigma * beta**2) / sigma**2
             + n_sigma_prior * np.log(sigma))
    ts.factor(-(nll + prior) * temper)
    return Template(ts.model(**targets, beta=beta, sigma=sigma))


def gram(X: np.ndarray, y: np.ndarray, w: np.ndarray, loc: np.ndarray, scale: np.ndarray,
         d_pad: int, block: int = 65536) -> np.ndarray:
    """``Z' W Z`` for ``Z = [(X - loc) / scale, 1, y]`` padded to ``d_pad`` columns,
    accumulated over blocks of rows (centred first, so no cancellation)."""
    n, d = X.shape
    G = np.zeros((d_pad + 2, d_pad + 2))
    columns = np.r_[np.arange(d), d_pad, d_pad + 1]
    unit = bool(np.all(w == 1.0))
    for start in range(0, n, block):
        stop = min(n, start + block)
        Z = np.empty((stop - start, d + 2))
        np.subtract(X[start:stop], loc, out=Z[:, :d])
        Z[:, :d] /= scale
        Z[:, d] = 1.0
        Z[:, d + 1] = y[start:stop]
        weighted = Z if unit else Z * w[start:stop, None]
        G[np.ix_(columns, columns)] += weighted.T @ Z
    return G


@contextlib.contextmanager
def loaded(held: Template) -> Iterator[ts.Model]:
    """The template's model, held for the duration; its data (set by the caller with
    ``set_data``) are released after, so the cache keeps no user data."""
    with held.lock:
        model = held.model
        try:
            yield model
        finally:
            model.set_data(**{name: np.broadcast_to(0.0, nodes[0].shape)
                              for name, nodes in model.mutable_data.items()})


@contextlib.contextmanager
def graph_mode() -> Iterator[None]:
    """Functions compiled inside are TensorFlow graphs without XLA."""
    B = get_backend()
    before = B.set_xla(False)
    try:
        yield
    finally:
        B.set_xla(before)


# --- data preparation -------------------------------------------------------------------------

def _column_moments(X: np.ndarray, w: np.ndarray, columns: np.ndarray) -> tuple[np.ndarray,
                                                                                np.ndarray]:
    """Weighted mean and sd of the chosen columns. They only condition the optimiser and
    sampler, so above ``MOMENT_ROWS`` rows an evenly strided subset of rows is used."""
    step = max(1, X.shape[0] // MOMENT_ROWS)
    sub, w = X[::step], w[::step]
    if not columns.all():
        sub = sub[:, columns]
    total = w.sum()
    mean = np.einsum("i,ij->j", w, sub) / total
    var = np.einsum("i,ij,ij->j", w, sub, sub) / total - mean**2
    lost = var <= 1e-6 * mean**2  # cancellation: recompute those columns centred
    for j in np.flatnonzero(lost):
        var[j] = w @ (sub[:, j] - mean[j]) ** 2 / total
    return mean, np.sqrt(np.maximum(var, 0.0))


def model_arrays(data: GLMData, n_pad: int, d_pad: int, tempered: bool) -> tuple[dict, dict]:
    """The padded data arrays of the model, and the transforms back to original scale."""
    X, w = data.X, data.weights
    n, d = X.shape
    loc, scale = np.zeros(d_pad), np.ones(d_pad)
    if data.standardize and data.numeric.any():
        mean, sd = _column_moments(X, w, data.numeric)
        sd = np.where(sd > 1e-12 * np.maximum(1.0, np.abs(mean)), sd, 1.0)
        scale[:d][data.numeric] = sd
        if data.fit_intercept:
            loc[:d][data.numeric] = mean
    y_loc, y_scale = 0.0, 1.0
    y = data.y
    if data.family == "normal":
        y_loc = float(w @ y / w.sum()) if data.fit_intercept else 0.0
        y_scale = float(np.sqrt(w @ (y - y_loc) ** 2 / w.sum())) or 1.0
        y = (y - y_loc) / y_scale
    elif data.family == "logistic":
        y = 2.0 * y - 1.0
    elif data.family == "multinomial":
        y = np.eye(data.n_classes)[y.astype(np.int64)]
    prec, prec_sigma = np.ones(d_pad), np.zeros(d_pad)  # padded columns: normal(0, 1)
    prec[:d] = 0.0
    if data.prior_scale is not None:  # normal: in units of sigma (both on y's scale)
        target = prec_sigma if data.family == "normal" else prec
        target[:d] = 1.0 / (data.prior_scale * scale[:d]) ** 2
    settings = np.zeros(_settings_size(d_pad))
    settings[:4 * d_pad] = np.concatenate([loc, scale, prec, prec_sigma])
    settings[4 * d_pad] = 1.0 / w.sum() if tempered else 1.0
    settings[4 * d_pad + 1] = d if data.prior_scale is not None else 0.0
    back = {"loc": loc[:d], "scale": scale[:d], "y_loc": y_loc, "y_scale": y_scale, "d": d}
    if data.family == "normal":
        G = gram(np.asarray(X, dtype=np.float64), y, w, loc[:d], scale[:d], d_pad)
        back["gram"] = G
        return {"gram": G, "settings": settings}, back
    if (n, d) == (n_pad, d_pad):
        X_pad = np.asarray(X, dtype=np.float64)
    else:
        X_pad = np.zeros((n_pad, d_pad))
        X_pad[:n, :d] = X
    y_pad = np.zeros((n_pad, *y.shape[1:]))
    y_pad[:n] = y
    w_pad = np.zeros(n_pad)
    w_pad[:n] = w
    arrays = {"X": X_pad, "w": w_pad, "settings": settings, "y": y_pad}
    return arrays, back


def _normal_mode(data: GLMData, back: dict, d_pad: int) -> dict[str, Any]:
    """Normal family: the joint mode, solved from the Gram matrix (the coefficients' prior
    is scaled by sigma, so they solve a ridge system that does not involve sigma). L-BFGS
    starts there and only confirms it."""
    d, G = back["d"], back["gram"]
    keep = np.r_[np.arange(d), d_pad] if data.fit_intercept else np.arange(d)
    cross, b = G[np.ix_(keep, keep)], G[keep, d_pad + 1]
    penalty = np.zeros(len(keep))
    if data.prior_scale is not None:
        penalty[:d] = 1.0 / (data.prior_scale * back["scale"]) ** 2
    solution = np.linalg.lstsq(cross + np.diag(penalty), b, rcond=None)[0]
    # the sum of squares plus the prior's: sigma's mode is sqrt(that / (weight + d prior))
    squares = (G[d_pad + 1, d_pad + 1] - 2.0 * solution @ b + solution @ cross @ solution
               + penalty @ solution**2)
    n_prior = d if data.prior_scale is not None else 0
    beta = np.zeros(d_pad)
    beta[:d] = solution[:d]
    sigma = float(np.sqrt(max(squares, 0.0) / (G[d_pad, d_pad] + n_prior)))
    values: dict[str, Any] = {"beta": beta, "sigma": max(sigma, 1e-8)}
    if data.fit_intercept:
        values["intercept"] = float(solution[d])
    return values


def initial_values(data: GLMData, model: ts.Model, d_pad: int, back: dict) -> dict[str, Any]:
    if data.family == "normal":
        return _normal_mode(data, back, d_pad)
    w, y = data.weights, data.y
    values: dict[str, Any] = {}
    k = data.n_classes
    values["beta"] = np.zeros((d_pad, k - 1) if data.family == "multinomial" else d_pad)
    if "intercept" in model.variable_names:
        start = 0.0
        if data.family == "logistic":
            p = np.clip(w @ y / w.sum(), 1e-6, 1 - 1e-6)
            start = float(np.log(p / (1 - p)))
        elif data.family == "poisson":
            start = float(np.log(max(w @ y / w.sum(), 1e-6)))
        values["intercept"] = np.zeros(k - 1) if data.family == "multinomial" else start
    if data.family == "normal":
        values["sigma"] = 1.0
    return values


def original_scale(data: GLMData, values: dict[str, np.ndarray], back: dict,
                    lead: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Coefficients, intercepts (and sigma) on the original scale, for ``lead`` leading
    axes of draws."""
    d = back["d"]
    beta = values["beta"]
    loc, scale = back["loc"], back["scale"]
    if data.family == "multinomial":
        basis = sum_zero_basis(data.n_classes)
        coef = (beta[..., :d, :] / scale[:, None]) @ basis.T       # (..., D, K)
        coef = np.swapaxes(coef, -1, -2)                          # (..., K, D)
        if "intercept" in values:
            intercept = values["intercept"] @ basis.T - coef @ loc
        else:
            intercept = np.zeros((*lead, data.n_classes))
        return coef, intercept, None
    coef = beta[..., :d] / scale
    intercept = values["intercept"] - coef @ loc if "intercept" in values else np.zeros(lead)
    sigma = None
    if data.family == "normal":
        coef = coef * back["y_scale"]
        intercept = back["y_loc"] + back["y_scale"] * intercept
        sigma = back["y_scale"] * values["sigma"]
    return coef, np.asarray(intercept), sigma


# --- fitting ----------------------------------------------------------------------------------

def fit_glm(data: GLMData, inference: str = "map", *, n_samples: int = 1000,
            warmup: int = 1000, chains: int = 4, seed: int | None = None,
            stream_gram: Any = None) -> GLMFit:
    """Fit a GLM by MAP (``ts.opt``), NUTS (``ts.mcmc``) or full-rank VI (``ts.vi``,
    ``n_samples`` draws of the approximation) and return its parameters on the original
    scale. ``stream_gram`` (normal family): ``(back, d_pad) -> (Gram, total weight)`` of
    a stream, replacing the Gram of ``data`` (then a sample that sets the scaling)."""
    if data.family not in FAMILIES:
        raise ValueError(f"unknown family {data.family!r}")
    keep = data.weights > 0  # zero-weight rows change nothing: leave them out
    if not keep.all():
        data = GLMData(**{**data.__dict__, "X": data.X[keep], "y": data.y[keep],
                          "weights": data.weights[keep]})
    n, d = data.X.shape
    n_pad, d_pad = bucket(n, d, columns=inference == "map")
    k = data.n_classes if data.family == "multinomial" else 1
    rows = 0 if data.family == "normal" else n_pad  # the normal family sees only a Gram
    held = template(data.family, rows, d_pad, k, data.fit_intercept)
    arrays, back = model_arrays(data, n_pad, d_pad, tempered=inference == "map")
    if stream_gram is not None:
        arrays["gram"], total = stream_gram(back, d_pad)
        back["gram"] = arrays["gram"]
        if inference == "map":
            arrays["settings"][4 * d_pad] = 1.0 / total
    with loaded(held) as model:
        model.set_data(**arrays)
        if inference == "map":
            initial = initial_values(data, model, d_pad, back)
            # the normal family's objective is O(d^2): run it untraced (tracing costs more)
            scope = get_backend().eager_scope() if data.family == "normal" else graph_mode()
            with scope:
                result = ts.opt(model, adjust=False, initial_values=initial, seed=seed,
                                tolerance=TOLERANCE[model.precision],
                                max_iterations=MAX_ITERATIONS)
            values = {name: np.asarray(v) for name, v in result.par.items()}
            coef, intercept, sigma = original_scale(data, values, back, ())
            return GLMFit(coef, intercept, sigma, result.converged, result.iterations)
        if inference == "vi":
            fit = ts.vi(model, method="fullrank", seed=seed, progress=False)
            draws = fit.draws(n_samples, seed=seed)
            converged, iterations = fit.converged, fit.steps
        else:
            with warnings.catch_warnings():  # diagnosed on the original scale by the caller
                warnings.filterwarnings("ignore", message="MCMC diagnostics")
                draws = ts.mcmc(model, n_samples=n_samples, warmup=warmup, chains=chains,
                                seed=seed, progress=False)
            converged, iterations = True, n_samples + warmup
    values = {name: draws[name] for name in draws.keys()}
    lead = values["beta"].shape[:2]
    coef, intercept, sigma = original_scale(data, values, back, lead)
    return GLMFit(coef, intercept, sigma, converged, iterations, dict(draws.stats),
                  draws.sampler)
