"""scikit-learn's estimator checks on the Keras-backed estimators (tiny, seeded settings)."""

import functools

import keras
from sklearn.utils.estimator_checks import parametrize_with_checks

from estimators.neural import (
    DNNClassifier,
    DNNLinearCombinedClassifier,
    DNNLinearCombinedRegressor,
    DNNRegressor,
    KerasClassifier,
    KerasRegressor,
)

REASON_SW = (
    "mini-batch SGD: a row of weight 2 is not the same update as the row twice (the batches "
    "and Keras' per-batch loss normalisation differ, and the input and target scaling is "
    "learnt from the rows unweighted), so predictions differ; a weight of 4 also scales its "
    "row's step by 4, which at the checks' learning rate of 0.1 can diverge"
)


def build_classifier(n_features_in_: int, n_classes_: int) -> keras.Model:
    """Small MLP; one sigmoid unit for two classes, softmax otherwise."""
    units, act = (1, "sigmoid") if n_classes_ == 2 else (n_classes_, "softmax")
    return keras.Sequential([
        keras.Input((n_features_in_,)),
        keras.layers.Dense(8, activation="relu"),
        keras.layers.Dense(units, activation=act),
    ])


def build_regressor(n_features_in_: int, n_outputs_: int) -> keras.Model:
    return keras.Sequential([
        keras.Input((n_features_in_,)),
        keras.layers.Dense(8, activation="relu"),
        keras.layers.Dense(n_outputs_),
    ])


class NamedBuild:
    """A build function whose repr is its name, so test ids do not hold a memory address
    (pytest-xdist workers must collect the same ids)."""

    def __init__(self, fn):
        functools.update_wrapper(self, fn)

    def __call__(self, *args, **kwargs):
        return self.__wrapped__(*args, **kwargs)

    def __repr__(self) -> str:
        return self.__name__


# The checks fit ~80 times per estimator and each fit traces its train step, so the step is
# kept light: SGD rather than Adam, and no metrics (they only feed ``history_``, which no
# check reads; the default metrics are tested in test_canned.py).
FAST = dict(optimizer="sgd", learning_rate=0.1, epochs=3, batch_size=16, metrics=[],
            random_state=0)

ESTIMATORS = [
    DNNClassifier(hidden_units=[8], **FAST),
    DNNRegressor(hidden_units=[8], **FAST),
    DNNLinearCombinedClassifier(hidden_units=[8], **FAST),
    DNNLinearCombinedRegressor(hidden_units=[8], **FAST),
    KerasClassifier(NamedBuild(build_classifier), **FAST),
    KerasRegressor(NamedBuild(build_regressor), normalize_y=True, **FAST),
]

EXPECTED = {"check_sample_weight_equivalence_on_dense_data": REASON_SW}


@parametrize_with_checks(ESTIMATORS, expected_failed_checks=lambda est: EXPECTED)
def test_sklearn_compatible(estimator, check):
    check(estimator)
