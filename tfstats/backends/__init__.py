"""Backend selection: every tensor operation of tfstats goes through one backend module.

A backend module (``tensorflow.py`` or ``jax.py``) provides the members of
:class:`~tfstats.backends.protocol.Backend`: a numpy-like set of primitives, ``tfp`` (the
TensorFlow Probability substrate), compilation, vectorisation, gradients, loops and
stateless seeds. What differs between backends lives in their modules, behind those
members. Nothing outside this package imports tensorflow or jax.
"""

from __future__ import annotations

import os
from types import ModuleType
from typing import cast

from tfstats.backends.protocol import Backend
from tfstats.quiet import import_quietly

__all__ = ["get_backend", "set_backend", "backend_name"]

_BACKENDS = {"tensorflow": "tfstats.backends.tensorflow", "jax": "tfstats.backends.jax"}
_ALIASES = {"tf": "tensorflow", "tensorflow": "tensorflow", "jax": "jax"}
_current: str | None = None


def _normalise(name: str) -> str:
    key = str(name).strip().lower()
    if key not in _ALIASES:
        raise ValueError(
            f"unknown backend {name!r}: choose 'tensorflow' or 'jax'"
        )
    return _ALIASES[key]


def set_backend(name: str) -> None:
    """Choose the backend for models compiled from now on.

    Parameters
    ----------
    name : {"tensorflow", "jax"}
        The backend. The environment variable ``TFSTATS_BACKEND`` sets the default.

    Examples
    --------
    >>> import tfstats as ts
    >>> ts.set_backend("tensorflow")
    >>> ts.backend_name()
    'tensorflow'
    """
    global _current
    name = _normalise(name)
    _load(name)
    _current = name


def backend_name() -> str:
    """The name of the backend in use."""
    global _current
    if _current is None:
        _current = _normalise(os.environ.get("TFSTATS_BACKEND", "tensorflow"))
    return _current


def _load(name: str) -> ModuleType:  # a module that satisfies Backend
    try:
        return import_quietly(_BACKENDS[name])  # TensorFlow's C++ logging filtered
    except ImportError as error:
        extra = "jax" if name == "jax" else ""
        hint = f" Install it with `pip install tfstats[{extra}]`." if extra else ""
        raise ImportError(f"the {name} backend cannot be imported: {error}.{hint}") from error


def get_backend(name: str | None = None) -> Backend:
    """The backend module (by default the current one)."""
    return cast(Backend, _load(_normalise(name) if name else backend_name()))
