"""Deep nets as scikit-learn estimators, on Keras 3.

``canned`` holds the canned estimators (``DNN*``, wide & deep) and ``load``; ``wrappers``
the Keras model wrappers; ``base``, ``dnn``, ``targets``, ``steps`` and ``train`` the shared
machinery; ``datasets`` the bundled example data.

>>> from estimators.neural import DNNClassifier
>>> DNNClassifier(hidden_units=[8]).hidden_units
[8]
"""

from estimators.neural.canned import *  # noqa: F403
from estimators.neural.canned import __all__  # noqa: F401
