"""The import path ``estimators.inputs`` kept for existing code; see :mod:`estimators.io`."""

from estimators.io.inputs import *  # noqa: F403
from estimators.io.inputs import __all__  # noqa: F401
