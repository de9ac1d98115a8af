"""Generalised linear models as scikit-learn estimators, fitted as tfstats models.

``LinearRegressor`` (normal), ``LinearClassifier`` (logistic, binary or multinomial) and
``PoissonRegressor`` (log link). Each fit builds the tfstats model of
``estimators.glm.models`` and fits it with ``ts.opt`` (``inference="map"``, the
posterior mode), ``ts.mcmc`` (``inference="nuts"``, posterior draws) or ``ts.vi``
(``inference="vi"``, draws from a full-rank Gaussian approximation).

Priors: ``coef_j ~ normal(0, prior_scale)`` on the original scale of the design matrix
(``prior_scale=None``: flat, i.e. maximum likelihood); the intercept has a flat prior. So
``prior_scale = s`` is the L2 penalty of scikit-learn's ``LogisticRegression(C=s**2)``
and of its ``PoissonRegressor(alpha=1 / (n * s**2))`` (unit weights). For the linear
regression the prior sd is ``prior_scale * sigma`` (the conjugate scaling, so the
posterior mode always exists): its MAP is ``Ridge(alpha=1 / s**2)``. ``standardize=True``
(the default) changes only the internal parameterisation, for conditioning; it never
changes the model or its answer.

The fitted estimator holds numpy arrays only (coefficients, posterior draws), so it
clones and pickles; the tfstats model stays in a module-level cache.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy import stats
from scipy.special import logsumexp
from sklearn.base import ClassifierMixin, RegressorMixin
from sklearn.metrics import d2_tweedie_score
from sklearn.utils.validation import check_is_fitted

from estimators.base import (
    Options,
    check_classification_target,
    check_regression_target,
    check_sample_weight,
    class_sample_weight,
    require_y,
)
from estimators.glm.base import GLMEstimator, common_params_doc
from estimators.glm.dataset_stream import as_glm_stream
from estimators.glm.models import mean_of
from estimators.glm.stream import stream_chunks, stream_fit_sample, stream_labels
from estimators.glm.stream import stream_gram as stream_gram_of
from estimators.glm.stream_predict import predict_by_rows, stream_predictions
from estimators.tracking import tracked_fit

__all__ = ["LinearRegressor", "LinearClassifier", "PoissonRegressor"]


class _Regressor(RegressorMixin, GLMEstimator):
    """Regression: predictions, predictive sd and intervals."""

    @tracked_fit
    def fit(self, X: Any, y: Any = None, sample_weight: Any = None) -> _Regressor:
        """Fit the model.

        Parameters
        ----------
        X : array-like or DataFrame of shape (n_samples, n_features), or a stream
            A stream (``estimators.io.inputs.csv_input`` / ``parquet_input`` with a
            ``label``, ``y=None``), or a ``tf.data.Dataset`` of ``(features dict, label)``
            pairs (columns scalars or 1-D batches, one pass), is read chunk by chunk,
            never whole: for
            ``LinearRegressor`` into the Gram matrix (any ``inference``); for
            ``PoissonRegressor`` (MAP and VI) see ``LinearClassifier.fit``.
        y : array-like of shape (n_samples,)
        sample_weight : array-like of shape (n_samples,), optional
            Weights multiplying each sample's log-likelihood.

        Returns
        -------
        self
        """
        self._check_params()
        stream_gram, stream = None, None
        source = as_glm_stream(X, self)
        if source is not None:
            X, y, names = stream_fit_sample(self, source, y, sample_weight)
        require_y(self, y)
        design = self._encode_fit(X)
        y = check_regression_target(y, design.shape[0])
        self._check_target(y)
        weights = check_sample_weight(sample_weight, design.shape[0])
        if source is not None and self._family == "normal":
            stream_gram = stream_gram_of(source, self.encoder_.transform, names)
        elif source is not None:  # one pass: the rows counted, targets and encoding checked
            chunks = stream_chunks(source, self.encoder_.transform, names,
                                   lambda v: np.asarray(v, np.float64))
            rows = 0
            for part, target in chunks():
                self._check_target(check_regression_target(target, part.shape[0]))
                rows += part.shape[0]
            stream = (chunks, float(rows), source.chunk_size, source.batch_size)
        fit = self._fit_glm(design, y, weights, stream_gram=stream_gram, stream=stream)
        if self.posterior_ is None:
            self.coef_, self.intercept_ = fit.coef, float(fit.intercept)
            if fit.sigma is not None:
                self.sigma_ = float(fit.sigma)
        else:
            self.coef_ = fit.coef.mean(axis=(0, 1))
            self.intercept_ = float(fit.intercept.mean())
            if fit.sigma is not None:
                self.sigma_ = float(fit.sigma.mean())
        return self

    def _check_target(self, y: np.ndarray) -> None:
        pass

    def _mean_draws(self, eta: np.ndarray) -> np.ndarray:
        """The mean of the response: the model's inverse link of ``eta``."""
        return mean_of(self._family, eta)

    @stream_predictions
    def predict(self, X: Any, return_std: bool = False) -> Any:
        """Predictive mean (the posterior mean for NUTS; the plug-in for MAP).

        With ``return_std=True``, also the predictive sd: for NUTS, the sd of the
        posterior predictive distribution (parameter uncertainty and noise); for MAP, the
        noise sd at the mode only (no parameter uncertainty).
        """
        design = self._encode(X)
        mean = np.empty(design.shape[0])
        sd = np.empty(design.shape[0])
        for start, eta in self._eta_blocks(design):
            mu = self._mean_draws(eta)
            stop = start + mu.shape[0]
            mean[start:stop] = mu.mean(axis=1)
            if return_std:
                sd[start:stop] = np.sqrt(mu.var(axis=1) + self._noise_variance(mu))
        return (mean, sd) if return_std else mean

    def predict_interval(self, X: Any, level: float = 0.9) -> np.ndarray:
        """Central predictive intervals that include the noise, shape (n, 2).

        NUTS and VI: quantiles of posterior predictive simulations (at least 4000 per
        row) from one random generator seeded by ``random_state``, run on across the
        chunks of a stream, so a stream gets the in-memory answer. MAP: quantiles of the
        noise distribution at the mode (parameter uncertainty is not included).
        """
        if not 0.0 < level < 1.0:
            raise ValueError(f"level must be in (0, 1), got {level!r}")
        check_is_fitted(self)
        tails = np.array([(1 - level) / 2, (1 + level) / 2])
        rng = np.random.default_rng(self.seed_)
        return predict_by_rows(self, X, lambda part: self._intervals(part, tails, rng),
                               "predict_interval")

    def _intervals(self, X: Any, tails: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """The intervals of ``predict_interval`` for in-memory rows; the simulations draw
        from ``rng`` row after row, so successive calls continue one random stream."""
        design = self._encode(X)
        out = np.empty((design.shape[0], 2))
        for start, eta in self._eta_blocks(design):
            mu = self._mean_draws(eta)
            stop = start + mu.shape[0]
            if self.posterior_ is None:
                out[start:stop] = self._noise_quantiles(mu[:, 0], tails)
            else:
                reps = max(1, -(-4000 // mu.shape[1]))
                sims = self._simulate(np.repeat(mu, reps, axis=1), rng, reps)
                out[start:stop] = np.quantile(sims, tails, axis=1).T
        return out


class LinearRegressor(_Regressor):
    """Bayesian linear regression: ``y ~ normal(intercept + X @ coef, sigma)``.

    The coefficients have independent ``normal(0, prior_scale * sigma)`` priors on the
    original scale (the conjugate scaling); the intercept and ``sigma`` have flat priors.
    The MAP coefficients are those of scikit-learn's ``Ridge(alpha=1 / prior_scale**2)``;
    with ``prior_scale=None``, ordinary (weighted) least squares as ``LinearRegression``.
    (With a prior scale fixed apart from ``sigma``, the posterior density would grow
    without bound as ``sigma -> 0`` whenever the data can be fitted exactly, e.g. with as
    many features as samples, and there would be no mode.)

    Parameters
    ----------""" + common_params_doc() + """
    Attributes
    ----------
    coef_ : ndarray of shape (n_features_out,)
        Coefficients (posterior means for NUTS), named by ``feature_names_out_``.
    intercept_ : float
    sigma_ : float
        The noise sd.
    posterior_ : tfstats.Draws or None
        NUTS: draws of ``intercept``, ``coef`` and ``sigma`` (None for MAP).
    feature_names_in_, n_features_in_, feature_names_out_ : as in scikit-learn.

    Examples
    --------
    >>> import numpy as np
    >>> from estimators import LinearRegressor
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(100, 2))
    >>> y = 1.0 + X @ [2.0, -1.0] + rng.normal(scale=0.1, size=100)
    >>> reg = LinearRegressor(prior_scale=None).fit(X, y)
    >>> np.round(reg.coef_, 1)
    array([ 2., -1.])
    """

    _family = "normal"

    def _noise_variance(self, mu: np.ndarray) -> np.ndarray:
        if self.posterior_ is None:
            return self.sigma_**2
        return np.mean(self.posterior_["sigma"] ** 2)

    def _noise_quantiles(self, mu: np.ndarray, tails: np.ndarray) -> np.ndarray:
        return mu[:, None] + self.sigma_ * stats.norm.ppf(tails)[None]

    def _simulate(self, mu: np.ndarray, rng: np.random.Generator, reps: int) -> np.ndarray:
        sigma = np.repeat(self.posterior_["sigma"].reshape(-1), reps)
        return mu + sigma * rng.standard_normal(mu.shape)


class PoissonRegressor(_Regressor):
    """Bayesian Poisson regression (log link): ``y ~ poisson(exp(intercept + X @ coef))``.

    The coefficients have independent ``normal(0, prior_scale)`` priors on the original
    scale and the intercept a flat prior: the MAP fit is scikit-learn's
    ``PoissonRegressor(alpha=1 / (n * prior_scale**2))`` for n unit-weight samples.
    ``score`` is D^2 (the fraction of Poisson deviance explained), as scikit-learn's.

    Parameters
    ----------""" + common_params_doc() + """
    Attributes
    ----------
    coef_ : ndarray of shape (n_features_out,)
    intercept_ : float
    posterior_ : tfstats.Draws or None

    Examples
    --------
    >>> import numpy as np
    >>> from estimators import PoissonRegressor
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(200, 1))
    >>> y = rng.poisson(np.exp(0.5 + 0.8 * X[:, 0]))
    >>> reg = PoissonRegressor(prior_scale=None).fit(X, y)
    >>> bool(abs(reg.coef_[0] - 0.8) < 0.15)
    True
    """

    _family = "poisson"

    def _check_target(self, y: np.ndarray) -> None:
        if np.any(y < 0):
            raise ValueError(f"PoissonRegressor needs non-negative targets y (counts), got "
                             f"a minimum of {y.min()}")
        if not np.any(y > 0):
            raise ValueError("PoissonRegressor needs some positive targets y: all are zero")

    def _noise_variance(self, mu: np.ndarray) -> np.ndarray:
        return mu.mean(axis=1)

    def _noise_quantiles(self, mu: np.ndarray, tails: np.ndarray) -> np.ndarray:
        return stats.poisson.ppf(tails[None], mu[:, None])

    def _simulate(self, mu: np.ndarray, rng: np.random.Generator, reps: int) -> np.ndarray:
        return rng.poisson(mu).astype(np.float64)

    def score(self, X: Any, y: Any, sample_weight: Any = None) -> float:
        """D^2: the fraction of Poisson deviance explained (1 is perfect), as
        scikit-learn's ``PoissonRegressor.score``."""
        return float(d2_tweedie_score(y, self.predict(X), sample_weight=sample_weight,
                                      power=1))

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.target_tags.positive_only = True
        return tags


class LinearClassifier(ClassifierMixin, GLMEstimator):
    """Bayesian logistic regression: binary, or multinomial for three or more classes.

    Binary: ``P(y = classes_[1]) = ilogit(intercept + X @ coef)``. Multinomial:
    ``P(y = k) = softmax(intercept + X @ coef.T)[k]`` with one coefficient vector per
    class, as scikit-learn's ``LogisticRegression``. The coefficients have independent
    ``normal(0, prior_scale)`` priors on the original scale and the intercepts flat
    priors: the MAP fit is ``LogisticRegression(C=prior_scale**2)``.

    Parameters
    ----------""" + common_params_doc() + """
    class_weight : dict, "balanced" or None, default=None
        Weights per class multiplying the sample weights, as scikit-learn's.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        The labels (any type), sorted.
    coef_ : ndarray of shape (1, n_features_out) or (n_classes, n_features_out)
    intercept_ : ndarray of shape (1,) or (n_classes,)
    posterior_ : tfstats.Draws or None
        NUTS: draws of ``intercept`` and ``coef`` (per class when multinomial).

    Examples
    --------
    >>> import numpy as np
    >>> from estimators import LinearClassifier
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(200, 2))
    >>> y = np.where(X[:, 0] - X[:, 1] + rng.normal(size=200) > 0, "yes", "no")
    >>> clf = LinearClassifier().fit(X, y)
    >>> clf.classes_.tolist(), clf.predict_proba(X[:3]).shape
    (['no', 'yes'], (3, 2))
    """

    _family = "logistic"
    _parameter_constraints: dict = {**GLMEstimator._parameter_constraints,
                                    "class_weight": [dict, Options({"balanced"}), None]}

    def __init__(self, *, inference: str = "map", prior_scale: float | None = 1.0,
                 fit_intercept: bool = True, standardize: bool = True, n_samples: int = 1000,
                 warmup: int = 1000, chains: int = 4, random_state: Any = None,
                 class_weight: Any = None) -> None:
        super().__init__(inference=inference, prior_scale=prior_scale,
                         fit_intercept=fit_intercept, standardize=standardize,
                         n_samples=n_samples, warmup=warmup, chains=chains,
                         random_state=random_state)
        self.class_weight = class_weight

    @tracked_fit
    def fit(self, X: Any, y: Any = None, sample_weight: Any = None) -> LinearClassifier:
        """Fit the model.

        Parameters
        ----------
        X : array-like or DataFrame of shape (n_samples, n_features), or a stream
            A stream (``estimators.io.inputs.csv_input`` / ``parquet_input`` with a
            ``label``, ``y=None``, no ``class_weight``), or a ``tf.data.Dataset`` of
            ``(features dict, label)`` pairs, is read chunk by chunk, never whole. A first
            pass counts the rows, finds the classes and checks every chunk;
            the column encoding (categories) and scaling come from the stream's sample
            (``sample_size`` rows), and a category outside it raises, naming the column.
            MAP: L-BFGS on the exact objective, accumulated over the chunks at each
            evaluation (the in-memory answer). VI: full-rank ADVI over minibatches of
            the stream (``ts.minibatch``; the stream's ``batch_size``, default its
            ``chunk_size``), started at that mode. NUTS does not take streams.
        y : array-like of shape (n_samples,)
            Class labels of any type (strings, ints, bools).
        sample_weight : array-like of shape (n_samples,), optional
            Weights multiplying each sample's log-likelihood (times ``class_weight``).

        Returns
        -------
        self
        """
        self._check_params()
        source = as_glm_stream(X, self)
        if source is not None:
            if self.class_weight is not None:
                raise ValueError("class_weight is not supported with a stream (every row has "
                                 "unit weight): pass class_weight=None")
            X, y, names = stream_fit_sample(self, source, y, sample_weight)
        require_y(self, y)
        design = self._encode_fit(X)
        y = check_classification_target(y, design.shape[0])
        self.classes_, codes = np.unique(y, return_inverse=True)
        stream = None
        if source is not None:  # one pass: the classes of the whole stream, rows counted
            self.classes_, rows = stream_labels(source)
            codes = np.searchsorted(self.classes_, y)
            chunks = stream_chunks(source, self.encoder_.transform, names,
                                   lambda v: np.searchsorted(self.classes_, v).astype(float))
            stream = (chunks, float(rows), source.chunk_size, source.batch_size)
        weights = check_sample_weight(sample_weight, design.shape[0])
        weights = class_sample_weight(self.class_weight, self.classes_, y, codes, weights)
        present = np.unique(codes[weights > 0])
        if len(present) < 2:
            raise ValueError(f"LinearClassifier needs samples of at least 2 classes with "
                             f"positive weight; got only the class {self.classes_[present]}")
        k = len(self.classes_)
        fit = self._fit_glm(design, codes.astype(np.float64), weights, n_classes=k,
                            stream=stream)
        coef, intercept = fit.coef, fit.intercept
        if self.posterior_ is not None:
            coef, intercept = coef.mean(axis=(0, 1)), intercept.mean(axis=(0, 1))
        self.coef_ = coef.reshape(1, -1) if k == 2 else coef
        self.intercept_ = np.atleast_1d(intercept).astype(np.float64)
        return self

    def _draws(self) -> tuple[np.ndarray, np.ndarray]:
        if self.posterior_ is None:
            coef, intercept = self.coef_, self.intercept_
            if len(self.classes_) == 2:
                return coef, intercept  # (1, D), (1,)
            return coef[None], intercept[None]
        return super()._draws()

    @stream_predictions
    def decision_function(self, X: Any) -> np.ndarray:
        """Scores of the classes, on the scale of the linear predictor: shape (n,), the
        log-odds of ``classes_[1]``, when binary; (n, n_classes), log-probabilities centred
        over the classes, when multinomial.

        MAP: the linear predictor at the mode. NUTS and VI: the same function of the
        posterior mean probabilities of ``predict_proba`` (so scores rank rows as the
        probabilities do, and the largest score is the class ``predict`` picks), which is
        not the posterior mean of the linear predictor.
        """
        design = self._encode(X)
        parts = [eta[:, 0] if self.posterior_ is None else _log_mean_odds(eta)
                 for _, eta in self._eta_blocks(design)]
        return np.concatenate(parts)

    @stream_predictions
    def predict_proba(self, X: Any) -> np.ndarray:
        """Class probabilities (n, n_classes), averaged over the posterior for NUTS."""
        design = self._encode(X)
        parts = []
        for _, eta in self._eta_blocks(design):
            if eta.ndim == 2:  # binary: (n, S)
                p1 = mean_of("logistic", eta).mean(axis=1)
                parts.append(np.column_stack([1.0 - p1, p1]))
            else:  # (n, S, K): the classes on the last axis
                parts.append(mean_of("multinomial", eta).mean(axis=1))
        return np.concatenate(parts)

    @stream_predictions
    def predict_log_proba(self, X: Any) -> np.ndarray:
        with np.errstate(divide="ignore"):
            return np.log(self.predict_proba(X))

    @stream_predictions
    def predict(self, X: Any) -> np.ndarray:
        """The most probable class (labels as in ``classes_``)."""
        check_is_fitted(self)
        return self.classes_[np.argmax(self.predict_proba(X), axis=1)]

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_class = True
        tags.classifier_tags.multi_label = False
        return tags


def _log_mean_odds(eta: np.ndarray) -> np.ndarray:
    """Log-odds of the mean over draws of ``ilogit(eta)`` (eta (n, S)), or the centred
    log of the mean of ``softmax(eta)`` (eta (n, S, K)), computed on the log scale."""
    if eta.ndim == 2:
        log_p1 = logsumexp(-np.logaddexp(0.0, -eta), axis=1)
        log_p0 = logsumexp(-np.logaddexp(0.0, eta), axis=1)
        return log_p1 - log_p0
    log_p = eta - logsumexp(eta, axis=2, keepdims=True)
    log_mean = logsumexp(log_p, axis=1) - np.log(eta.shape[1])
    return log_mean - log_mean.mean(axis=1, keepdims=True)
