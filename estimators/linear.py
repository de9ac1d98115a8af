"""Generalised linear models as scikit-learn estimators, fitted as tfstats models.

``LinearRegressor`` (normal), ``LinearClassifier`` (logistic, binary or multinomial) and
``PoissonRegressor`` (log link). Each fit builds the tfstats model of
``estimators.glm_models`` and fits it with ``ts.opt`` (``inference="map"``, the
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

import warnings
from typing import Any

import numpy as np
import pandas as pd
from scipy import special, stats
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import d2_tweedie_score
from sklearn.utils.validation import check_is_fitted, validate_data

from estimators.base import (
    check_classification_target,
    check_inference,
    check_positive,
    check_regression_target,
    check_sample_weight,
    class_sample_weight,
    require_y,
    seed_from,
    set_input_tags,
)
from estimators.features import FeatureEncoder, as_table
from estimators.glm_models import GLMData, GLMFit, fit_glm
from estimators.glm_stream import stream_gram, stream_sample
from estimators.inputs import StreamInput
from tfstats.draws import Draws
from tfstats.labels import element_labels

__all__ = ["LinearRegressor", "LinearClassifier", "PoissonRegressor"]

_BLOCK = 4_000_000  # elements of (rows x draws) computed at once in posterior predictions


class _GLM(BaseEstimator):
    """Shared machinery: input encoding, checks, fitting and posterior summaries."""

    _family = "normal"

    # --- fitting -------------------------------------------------------------------------------
    def _check_params(self) -> None:
        check_inference(self.inference)
        check_positive("prior_scale", self.prior_scale, allow_none=True)
        if self.inference in ("nuts", "vi"):
            check_positive("n_samples", self.n_samples, integer=True)
        if self.inference == "nuts":
            if isinstance(self.warmup, bool) or not isinstance(self.warmup, int | np.integer) \
                    or self.warmup < 0:
                raise ValueError(f"warmup must be an int >= 0, got {self.warmup!r}")
            check_positive("chains", self.chains, integer=True)

    def _encode_fit(self, X: Any) -> np.ndarray:
        table = as_table(X)
        validate_data(self, table.data, reset=True, skip_check_array=True)
        self.encoder_ = FeatureEncoder().fit(table)
        design = self.encoder_.transform(table)
        if design.shape[0] < 2:
            raise ValueError(f"{type(self).__name__} needs at least 2 samples, got "
                             f"{design.shape[0]} sample (n_samples = 1)")
        self.feature_names_out_ = self.encoder_.feature_names_out
        return design

    def _encode(self, X: Any) -> np.ndarray:
        check_is_fitted(self)
        table = as_table(X)
        validate_data(self, table.data, reset=False, skip_check_array=True)
        return self.encoder_.transform(table)

    def _fit_glm(self, design: np.ndarray, y: np.ndarray, weights: np.ndarray,
                 n_classes: int = 1, stream_gram: Any = None) -> GLMFit:
        family = self._family
        if family == "logistic" and n_classes > 2:
            family = "multinomial"
        data = GLMData(family, design, y, weights, self.encoder_.numeric_mask,
                       n_classes=n_classes, fit_intercept=bool(self.fit_intercept),
                       standardize=bool(self.standardize),
                       prior_scale=None if self.prior_scale is None else float(
                           self.prior_scale))
        self._seed = seed_from(self.random_state)
        fit = fit_glm(data, self.inference, n_samples=int(self.n_samples),
                      warmup=int(self.warmup), chains=int(self.chains), seed=self._seed,
                      stream_gram=stream_gram)
        if self.inference == "map":
            if not fit.converged:
                warnings.warn(f"{type(self).__name__}: L-BFGS did not converge in "
                              f"{fit.iterations} iterations", ConvergenceWarning, stacklevel=3)
            self.n_iter_ = max(int(fit.iterations), 1)
            self.posterior_ = None
        else:
            self.n_iter_ = int(fit.iterations)
            self.posterior_ = self._posterior(fit)
        return fit

    def _posterior(self, fit: GLMFit) -> Draws:
        values = {"intercept": fit.intercept, "coef": fit.coef}
        if fit.sigma is not None:
            values["sigma"] = fit.sigma
        coords, dims = self._labels()
        draws = Draws(values, fit.stats, sampler=fit.sampler, coords=coords, dims=dims)
        draws.warn_if_unhealthy()  # names features, as the summary does
        return draws

    def _labels(self) -> tuple[dict[str, list], dict[str, list]]:
        """Coords and dims of the coefficients: by feature (and class)."""
        coords: dict[str, list] = {"feature": list(self.feature_names_out_)}
        classes = getattr(self, "classes_", None)
        if classes is not None and len(classes) > 2:
            coords["class"] = [str(c) for c in classes]
            return coords, {"coef": ["class", "feature"], "intercept": ["class"]}
        return coords, {"coef": ["feature"]}

    # --- posterior helpers ---------------------------------------------------------------------
    def _draws(self) -> tuple[np.ndarray, np.ndarray]:
        """Coefficients (S, ...) and intercepts (S, ...): S draws, or 1 for MAP."""
        if self.posterior_ is None:
            return self.coef_[None], np.asarray(self.intercept_)[None]
        coef = self.posterior_["coef"]
        intercept = self.posterior_["intercept"]
        return (coef.reshape(-1, *coef.shape[2:]), intercept.reshape(-1, *intercept.shape[2:]))

    def _eta_blocks(self, design: np.ndarray) -> Any:
        """Linear predictors (rows, S[, K]) for blocks of rows."""
        coef, intercept = self._draws()
        per_row = coef.shape[0] * (coef.shape[1] if coef.ndim == 3 else 1)
        rows = max(1, _BLOCK // per_row)
        for start in range(0, design.shape[0], rows):
            block = design[start:start + rows]
            if coef.ndim == 3:  # (S, K, D): multinomial
                yield start, np.einsum("nd,skd->nsk", block, coef) + intercept
            else:
                yield start, block @ coef.T + intercept

    def summary(self) -> pd.DataFrame:
        """The posterior table (mean, sd, q5, q50, q95, mcse_mean, ess_bulk, ess_tail,
        r_hat) of ``posterior_`` for NUTS, with rows named by feature (``coef[age]``);
        for MAP, the estimates in one column ``estimate``."""
        check_is_fitted(self)
        if self.posterior_ is not None:
            return self.posterior_.summary()
        coords, dims = self._labels()
        values = {"intercept": np.asarray(self.intercept_)[None, None],
                  "coef": np.asarray(self.coef_)[None, None]}
        if hasattr(self, "sigma_"):
            values["sigma"] = np.asarray(self.sigma_)[None, None]
        labels = [label for name, v in values.items()
                  for label in element_labels(name, v.shape[2:], dims, coords)]
        return pd.DataFrame({"estimate": np.concatenate([np.ravel(v) for v in values.values()])},
                            index=labels)

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        """Names of the design-matrix columns: numeric columns by name, categorical ones
        as ``column_level`` (one per non-reference level)."""
        check_is_fitted(self)
        return np.asarray(self.feature_names_out_, dtype=object)

    def __sklearn_tags__(self) -> Any:
        tags = set_input_tags(super().__sklearn_tags__())
        tags.non_deterministic = self.inference != "map" and self.random_state is None
        return tags


def _common_params_doc() -> str:
    return """
    inference : {"map", "nuts", "vi"}, default="map"
        "map": the posterior mode by L-BFGS (``ts.opt``). "nuts": posterior draws by
        NUTS (``ts.mcmc``). "vi": ``n_samples`` draws (one chain) from a full-rank
        Gaussian approximation fitted by ADVI (``ts.vi``); predictions average over
        them as over NUTS draws.
    prior_scale : float or None, default=1.0
        Standard deviation of the normal prior on each coefficient, on the original
        scale of the design matrix (for ``LinearRegressor``, in units of the noise sd
        ``sigma``). None: a flat prior (maximum likelihood).
    fit_intercept : bool, default=True
        Whether to fit an intercept (flat prior).
    standardize : bool, default=True
        Work internally with standardised numeric columns (for conditioning). The model,
        its prior and the answer are the same either way.
    n_samples, warmup, chains : int, default=1000, 1000, 4
        NUTS settings: draws kept per chain, warmup iterations, chains (VI uses
        ``n_samples`` only).
    random_state : int, RandomState or None, default=None
        Seed for NUTS or VI and for simulated predictive intervals.
"""


class _Regressor(RegressorMixin, _GLM):
    """Regression: predictions, predictive sd and intervals."""

    def fit(self, X: Any, y: Any = None, sample_weight: Any = None) -> _Regressor:
        """Fit the model.

        Parameters
        ----------
        X : array-like or DataFrame of shape (n_samples, n_features), or a stream
            A stream (``estimators.inputs.csv_input`` / ``parquet_input`` with a
            ``label``; ``LinearRegressor`` only, ``y=None``) is read chunk by chunk into
            the Gram matrix, never whole.
        y : array-like of shape (n_samples,)
        sample_weight : array-like of shape (n_samples,), optional
            Weights multiplying each sample's log-likelihood.

        Returns
        -------
        self
        """
        self._check_params()
        stream_gram = None
        if isinstance(X, StreamInput):
            X, y, stream_gram = self._stream_fit_inputs(X, y, sample_weight)
        require_y(self, y)
        design = self._encode_fit(X)
        y = check_regression_target(y, design.shape[0])
        self._check_target(y)
        weights = check_sample_weight(sample_weight, design.shape[0])
        if stream_gram is not None:
            stream_gram = stream_gram(self.encoder_.transform)
        fit = self._fit_glm(design, y, weights, stream_gram=stream_gram)
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

    def _stream_fit_inputs(self, stream: StreamInput, y: Any, sample_weight: Any) -> tuple:
        """The sample (features, target) that sets the encoding and scaling, and a
        maker of the streamed Gram matrix."""
        if self._family != "normal":
            raise TypeError(f"{type(self).__name__}.fit does not take a stream; "
                            f"LinearRegressor does (its Gram matrix accumulates over chunks)")
        if y is not None or sample_weight is not None:
            raise ValueError("with a stream, the target is its label column: pass y=None and "
                             "no sample_weight")
        features, target, names = stream_sample(stream)
        return features, target, lambda encode: stream_gram(stream, encode, names)

    def _mean_draws(self, eta: np.ndarray) -> np.ndarray:
        return eta

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

        NUTS: quantiles of posterior predictive simulations (at least 4000 per row,
        seeded by ``random_state``). MAP: quantiles of the noise distribution at the mode
        (parameter uncertainty is not included).
        """
        if not 0.0 < level < 1.0:
            raise ValueError(f"level must be in (0, 1), got {level!r}")
        design = self._encode(X)
        tails = np.array([(1 - level) / 2, (1 + level) / 2])
        out = np.empty((design.shape[0], 2))
        rng = np.random.default_rng(self._seed)
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
    ----------""" + _common_params_doc() + """
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

    def __init__(self, *, inference: str = "map", prior_scale: float | None = 1.0,
                 fit_intercept: bool = True, standardize: bool = True, n_samples: int = 1000,
                 warmup: int = 1000, chains: int = 4, random_state: Any = None) -> None:
        self.inference = inference
        self.prior_scale = prior_scale
        self.fit_intercept = fit_intercept
        self.standardize = standardize
        self.n_samples = n_samples
        self.warmup = warmup
        self.chains = chains
        self.random_state = random_state

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
    ----------""" + _common_params_doc() + """
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

    def __init__(self, *, inference: str = "map", prior_scale: float | None = 1.0,
                 fit_intercept: bool = True, standardize: bool = True, n_samples: int = 1000,
                 warmup: int = 1000, chains: int = 4, random_state: Any = None) -> None:
        self.inference = inference
        self.prior_scale = prior_scale
        self.fit_intercept = fit_intercept
        self.standardize = standardize
        self.n_samples = n_samples
        self.warmup = warmup
        self.chains = chains
        self.random_state = random_state

    def _check_target(self, y: np.ndarray) -> None:
        if np.any(y < 0):
            raise ValueError(f"PoissonRegressor needs non-negative targets y (counts), got "
                             f"a minimum of {y.min()}")
        if not np.any(y > 0):
            raise ValueError("PoissonRegressor needs some positive targets y: all are zero")

    def _mean_draws(self, eta: np.ndarray) -> np.ndarray:
        return np.exp(eta)

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


class LinearClassifier(ClassifierMixin, _GLM):
    """Bayesian logistic regression: binary, or multinomial for three or more classes.

    Binary: ``P(y = classes_[1]) = ilogit(intercept + X @ coef)``. Multinomial:
    ``P(y = k) = softmax(intercept + X @ coef.T)[k]`` with one coefficient vector per
    class, as scikit-learn's ``LogisticRegression``. The coefficients have independent
    ``normal(0, prior_scale)`` priors on the original scale and the intercepts flat
    priors: the MAP fit is ``LogisticRegression(C=prior_scale**2)``.

    Parameters
    ----------""" + _common_params_doc() + """
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

    def __init__(self, *, inference: str = "map", prior_scale: float | None = 1.0,
                 fit_intercept: bool = True, standardize: bool = True, n_samples: int = 1000,
                 warmup: int = 1000, chains: int = 4, random_state: Any = None,
                 class_weight: Any = None) -> None:
        self.inference = inference
        self.prior_scale = prior_scale
        self.fit_intercept = fit_intercept
        self.standardize = standardize
        self.n_samples = n_samples
        self.warmup = warmup
        self.chains = chains
        self.random_state = random_state
        self.class_weight = class_weight

    def fit(self, X: Any, y: Any = None, sample_weight: Any = None) -> LinearClassifier:
        """Fit the model.

        Parameters
        ----------
        X : array-like or DataFrame of shape (n_samples, n_features)
        y : array-like of shape (n_samples,)
            Class labels of any type (strings, ints, bools).
        sample_weight : array-like of shape (n_samples,), optional
            Weights multiplying each sample's log-likelihood (times ``class_weight``).

        Returns
        -------
        self
        """
        if isinstance(X, StreamInput):
            raise TypeError("LinearClassifier.fit does not take a stream; LinearRegressor does "
                            "(its Gram matrix accumulates over chunks)")
        self._check_params()
        require_y(self, y)
        design = self._encode_fit(X)
        y = check_classification_target(y, design.shape[0])
        self.classes_, codes = np.unique(y, return_inverse=True)
        weights = check_sample_weight(sample_weight, design.shape[0])
        weights = class_sample_weight(self.class_weight, self.classes_, y, codes, weights)
        present = np.unique(codes[weights > 0])
        if len(present) < 2:
            raise ValueError(f"LinearClassifier needs samples of at least 2 classes with "
                             f"positive weight; got only the class {self.classes_[present]}")
        k = len(self.classes_)
        fit = self._fit_glm(design, codes.astype(np.float64), weights, n_classes=k)
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

    def decision_function(self, X: Any) -> np.ndarray:
        """The linear predictor (log-odds of ``classes_[1]`` when binary, shape (n,);
        per-class scores (n, n_classes) when multinomial); for NUTS, its posterior mean."""
        design = self._encode(X)
        parts = [eta.mean(axis=1) for _, eta in self._eta_blocks(design)]
        return np.concatenate(parts)

    def predict_proba(self, X: Any) -> np.ndarray:
        """Class probabilities (n, n_classes), averaged over the posterior for NUTS."""
        design = self._encode(X)
        parts = []
        for _, eta in self._eta_blocks(design):
            if eta.ndim == 2:  # binary: (n, S)
                p1 = special.expit(eta).mean(axis=1)
                parts.append(np.column_stack([1.0 - p1, p1]))
            else:
                parts.append(special.softmax(eta, axis=2).mean(axis=1))
        return np.concatenate(parts)

    def predict_log_proba(self, X: Any) -> np.ndarray:
        with np.errstate(divide="ignore"):
            return np.log(self.predict_proba(X))

    def predict(self, X: Any) -> np.ndarray:
        """The most probable class (labels as in ``classes_``)."""
        check_is_fitted(self)
        return self.classes_[np.argmax(self.predict_proba(X), axis=1)]

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_class = True
        tags.classifier_tags.multi_label = False
        return tags
