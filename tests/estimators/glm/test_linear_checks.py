"""scikit-learn's estimator checks on the GLM estimators (MAP; compiled models are shared
between fits of the same bucketed shape, so the suite compiles a handful of models)."""

from sklearn.utils.estimator_checks import parametrize_with_checks

from estimators import LinearClassifier, LinearRegressor, PoissonRegressor

ESTIMATORS = [
    LinearRegressor(random_state=0),
    LinearClassifier(random_state=0),
    PoissonRegressor(random_state=0),
]


@parametrize_with_checks(ESTIMATORS)
def test_sklearn_compatible(estimator, check):
    check(estimator)
