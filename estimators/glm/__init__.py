"""Generalised linear models as tfstats models, fitted by MAP, NUTS or VI.

``linear`` holds the estimators, ``base`` their shared fit / predict machinery, ``models``
the tfstats models they build, ``stream`` and ``stream_fit`` the fits on streamed data.
"""

from estimators.glm.linear import LinearClassifier, LinearRegressor, PoissonRegressor

__all__ = ["LinearClassifier", "LinearRegressor", "PoissonRegressor"]
