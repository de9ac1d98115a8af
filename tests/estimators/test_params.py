"""Parameter tables: every estimator checks every parameter at fit, with one kind of error
naming the parameter; fitted state ends in ``_``."""

import keras
import numpy as np
import pytest

from estimators import (
    DNNClassifier,
    DNNLinearCombinedClassifier,
    DNNLinearCombinedRegressor,
    DNNRegressor,
    KerasClassifier,
    KerasRegressor,
    LinearClassifier,
    LinearRegressor,
    PoissonRegressor,
)
from estimators.base import InvalidParameterError, satisfies


def build(n_features_in_, n_outputs_=1):
    return keras.Sequential([keras.Input((n_features_in_,)), keras.layers.Dense(n_outputs_,
                                                                               "sigmoid")])


ESTIMATORS = [LinearRegressor, LinearClassifier, PoissonRegressor, DNNClassifier, DNNRegressor,
              DNNLinearCombinedClassifier, DNNLinearCombinedRegressor,
              lambda: KerasClassifier(build), lambda: KerasRegressor(build)]
NAMES = ["LinearRegressor", "LinearClassifier", "PoissonRegressor", "DNNClassifier",
         "DNNRegressor", "DNNLinearCombinedClassifier", "DNNLinearCombinedRegressor",
         "KerasClassifier", "KerasRegressor"]
# candidates for a bad value: each parameter gets those its table does not allow
CANDIDATES = [object(), -1, 0, 2.5, 1.0, "bogus", [0, -3], None, 10**12]
# and values a user might well pass, checked by name
CHOSEN = {"inference": "mcmc", "prior_scale": 0.0, "n_samples": 0, "warmup": -1,
          "chains": 1.5, "batch_size": 0, "epochs": 0, "dropout": 1.0, "hidden_units": [8, 0],
          "validation_split": 1.0, "steps_per_execution": "fast", "class_weight": "even",
          "model": None, "learning_rate": 0, "verbose": 3, "optimizer": 1,
          "callbacks": ["not a callback"], "random_state": "seed"}

X = np.random.default_rng(0).normal(size=(12, 3))
Y = np.arange(12) % 2


def cases():
    for make, name in zip(ESTIMATORS, NAMES, strict=True):
        est = make()
        for param, allowed in type(est)._parameter_constraints.items():
            bad = [v for v in CANDIDATES if not any(satisfies(c, v) for c in allowed)]
            if param in CHOSEN:
                bad.append(CHOSEN[param])
            assert bad, f"{name}.{param}: no bad candidate"
            yield pytest.param(make, param, bad, id=f"{name}-{param}")


@pytest.mark.parametrize("make", ESTIMATORS, ids=NAMES)
def test_table_covers_every_parameter(make):
    est = make()
    assert set(type(est)._parameter_constraints) == set(est.get_params(deep=False))


@pytest.mark.parametrize("make, param, bad", list(cases()))
def test_bad_parameter_named_at_fit(make, param, bad):
    for value in bad:
        est = make().set_params(**{param: value})
        with pytest.raises(InvalidParameterError,
                           match=rf"The '{param}' parameter of {type(est).__name__} must be "):
            est.fit(X, Y)
    # both kinds, as scikit-learn's InvalidParameterError
    assert issubclass(InvalidParameterError, ValueError)
    assert issubclass(InvalidParameterError, TypeError)


def test_error_says_what_is_allowed():
    with pytest.raises(ValueError, match=r"The 'batch_size' parameter of DNNClassifier must be "
                                         r"an int in the range \[1, inf\); got 0\."):
        DNNClassifier(batch_size=0).fit(X, Y)
    with pytest.raises(ValueError, match=r"'inference' parameter of LinearClassifier must be one "
                                         r"of \['map', 'nuts', 'vi'\]; got 'mcmc'"):
        LinearClassifier(inference="mcmc").fit(X, Y)
    with pytest.raises(TypeError, match=r"'dropout' .* must be a float in the range \[0, 1\) "
                                        r"or None; got '0.5'"):
        DNNRegressor(dropout="0.5").fit(X, Y)


FITS = [LinearRegressor(), LinearClassifier(), PoissonRegressor(),
        DNNClassifier(hidden_units=[2], epochs=1, random_state=0),
        DNNLinearCombinedRegressor(hidden_units=[2], epochs=1, normalize_y=True, random_state=0),
        KerasClassifier(build, epochs=1, class_weight="balanced", random_state=0)]


@pytest.mark.parametrize("est", FITS, ids=lambda e: type(e).__name__)
def test_fitted_state_ends_in_underscore(est):
    params = set(est.get_params(deep=False))
    est.fit(X, np.abs(X[:, 0]) if type(est).__name__ == "PoissonRegressor" else Y)
    state = [k for k in vars(est) if k not in params]
    assert state and all(k.endswith("_") for k in state), state
