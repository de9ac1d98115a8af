"""The errors tfstats raises where a model is written: ``ModelError``, and errors for names
that are not unknowns of a model (in ``values=``, ``initial_values=``, ``log_prob``), which
list the valid names, so a misspelt name is never ignored."""

from __future__ import annotations

import sys
from collections.abc import Iterable

__all__ = ["ModelError", "UnknownNameError", "check_names", "user_stacklevel"]


class ModelError(ValueError):
    """A model that cannot be built as written."""


class UnknownNameError(ModelError, KeyError):
    """A name that is not an unknown of the model (both a ``ModelError`` and a
    ``KeyError``)."""

    def __str__(self) -> str:  # a KeyError would quote its message
        return str(self.args[0]) if self.args else ""


def check_names(given: Iterable[str], valid: Iterable[str], where: str) -> None:
    """Raise :class:`UnknownNameError` for names in ``given`` that are not in ``valid``.

    Examples
    --------
    >>> check_names(["mu"], ["mu", "sigma"], "values")
    >>> try:
    ...     check_names(["muu"], ["mu", "sigma"], "values")
    ... except KeyError as error:
    ...     print(error)
    values: unknown names ['muu']; the model's unknowns are ['mu', 'sigma']
    """
    valid = list(valid)
    unknown = sorted({str(n) for n in given} - set(valid))
    if unknown:
        raise UnknownNameError(f"{where}: unknown names {unknown}; the model's unknowns are "
                               f"{valid}")


def user_stacklevel() -> int:
    """The ``stacklevel`` for ``warnings.warn`` that points at the first caller outside
    tfstats, however deep in tfstats (wrappers, threads' drivers) the warning is raised.

    Examples
    --------
    >>> user_stacklevel() >= 1
    True
    """
    level, frame = 1, sys._getframe(1)
    while frame is not None and frame.f_globals.get("__name__", "").startswith("tfstats"):
        level, frame = level + 1, frame.f_back
    return level
