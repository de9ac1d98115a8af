"""The shared part of the GLM estimators (``estimators.glm.linear``): parameters and their
checks, encoding, fitting through ``estimators.glm.models``, posterior draws and summary."""

from __future__ import annotations

import warnings
from numbers import Integral, Real
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils.validation import check_is_fitted, validate_data

from estimators.base import Interval, Options, seed_from, set_input_tags, validate_params
from estimators.glm.models import GLMData, GLMFit, fit_glm
from estimators.glm.separation import check_separation
from estimators.glm.stream_fit import fit_glm_stream
from estimators.tabular.features import FeatureEncoder, as_table
from tfstats.draws import Draws
from tfstats.labels import element_labels

__all__ = ["GLMEstimator", "common_params_doc"]

_BLOCK = 4_000_000  # elements of (rows x draws) computed at once in posterior predictions


class GLMEstimator(BaseEstimator):
    """Shared machinery: input encoding, checks, fitting and posterior summaries."""

    _family = "normal"
    #: What each parameter may be (checked at ``fit``; see ``estimators.base``).
    _parameter_constraints: dict = {
        "inference": [Options({"map", "nuts", "vi"})],
        "prior_scale": [Interval(Real, 0, None, closed="neither"), None],
        "fit_intercept": ["boolean"],
        "standardize": ["boolean"],
        "n_samples": [Interval(Integral, 1, None)],
        "warmup": [Interval(Integral, 0, None)],
        "chains": [Interval(Integral, 1, None)],
        "random_state": ["random_state"],
    }

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

    # --- fitting -------------------------------------------------------------------------------
    def _check_params(self) -> None:
        validate_params(self)

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
                 n_classes: int = 1, stream_gram: Any = None, stream: Any = None) -> GLMFit:
        family = self._family
        if family == "logistic" and n_classes > 2:
            family = "multinomial"
        data = GLMData(family, design, y, weights, self.encoder_.numeric_mask,
                       n_classes=n_classes, fit_intercept=bool(self.fit_intercept),
                       standardize=bool(self.standardize),
                       prior_scale=None if self.prior_scale is None else float(
                           self.prior_scale))
        self.seed_ = seed_from(self.random_state)
        if stream is not None:  # (chunks, rows, chunk rows, VI batch rows)
            fit = fit_glm_stream(data, *stream, seed=self.seed_, inference=self.inference,
                                 n_samples=int(self.n_samples))
        else:
            fit = fit_glm(data, self.inference, n_samples=int(self.n_samples),
                          warmup=int(self.warmup), chains=int(self.chains), seed=self.seed_,
                          stream_gram=stream_gram)
        if stream is None:  # a stream's rows are not at hand: not checked
            message = check_separation(type(self).__name__, data, fit,
                                       list(self.feature_names_out_))
            if message is not None:
                warnings.warn(message, ConvergenceWarning, stacklevel=4)  # the caller of fit
        if self.inference == "map":
            if not fit.converged:
                warnings.warn(f"{type(self).__name__}: L-BFGS did not converge in "
                              f"{fit.iterations} iterations", ConvergenceWarning, stacklevel=4)
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
        if self.inference == "nuts":  # VI draws are independent: no sampler to diagnose
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


def common_params_doc() -> str:
    return """
    inference : {"map", "nuts", "vi"}, default="map"
        "map": the posterior mode by L-BFGS (``ts.opt``). "nuts": posterior draws by
        NUTS (``ts.mcmc``). "vi": ``n_samples`` draws (one chain) from a full-rank
        Gaussian approximation fitted by ADVI (``ts.vi``); predictions average over
        them as over NUTS draws.
    prior_scale : float or None, default=1.0
        Standard deviation of the normal prior on each coefficient, on the original
        scale of the design matrix (for ``LinearRegressor``, in units of the noise sd
        ``sigma``). None: a flat prior (maximum likelihood); when the data leave it no
        finite value (separation), ``fit`` warns with a ``ConvergenceWarning``.
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
