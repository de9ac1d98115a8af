"""estimators: scikit-learn style estimators built on tfstats and Keras.

GLMs (``LinearRegressor``, ``LinearClassifier``, ``PoissonRegressor``) are tfstats models
fitted by MAP (``ts.opt``) or NUTS (``ts.mcmc``); deep nets (``DNNClassifier``, ...) are
Keras 3 models.
"""

from estimators.glm import LinearClassifier, LinearRegressor, PoissonRegressor
from tfstats.tracking import autolog

__all__ = ["LinearClassifier", "LinearRegressor", "PoissonRegressor", "autolog"]

_NEURAL_NAMES = (
    "DNNClassifier", "DNNLinearCombinedClassifier", "DNNLinearCombinedRegressor",
    "DNNRegressor", "KerasClassifier", "KerasRegressor", "load", "plot_history",
)

try:  # the deep nets need Keras; the GLMs do not
    from estimators.neural import (  # noqa: F401 - re-exported through __all__
        DNNClassifier,
        DNNLinearCombinedClassifier,
        DNNLinearCombinedRegressor,
        DNNRegressor,
        KerasClassifier,
        KerasRegressor,
        load,
        plot_history,
    )
except ImportError as _error:  # pragma: no cover - reported when a deep-net name is used
    _NEURAL_ERROR: ImportError | None = _error
else:
    _NEURAL_ERROR = None
    __all__ += list(_NEURAL_NAMES)

def __getattr__(name: str) -> object:
    if name in _NEURAL_NAMES and _NEURAL_ERROR is not None:
        raise ImportError(f"estimators.{name} is unavailable: estimators.neural failed to "
                          f"import ({_NEURAL_ERROR})") from _NEURAL_ERROR
    raise AttributeError(f"module 'estimators' has no attribute {name!r}")
