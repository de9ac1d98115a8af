"""Pickling a formula's design. formulae keeps the caller's namespaces (its locals and
globals) to evaluate calls such as ``np.log(x)`` on new data; those hold modules, which
do not pickle, and every object of the caller. The design is pickled keeping only the
names its formula uses, with modules carried by name and imported again on loading."""

from __future__ import annotations

import importlib
import io
import pickle
import re
import types
from typing import Any

from formulae.environment import Environment, VarLookupDict

__all__ = ["dumps", "loads"]


def dumps(obj: Any, formula: str) -> bytes:
    """``obj`` pickled, its formulae namespaces cut to the identifiers of ``formula``.

    Examples
    --------
    >>> import numpy as np
    >>> from formulae.environment import Environment
    >>> env = Environment([{"np": np, "unused": object()}])
    >>> loads(dumps(env, "y ~ np.log(x)"))._namespaces
    [{'np': <module 'numpy' from ...>}]
    """
    buffer = io.BytesIO()
    _DesignPickler(buffer, set(re.findall(r"[A-Za-z_]\w*", formula))).dump(obj)
    return buffer.getvalue()


def loads(data: bytes) -> Any:
    """The object ``dumps`` pickled."""
    return pickle.loads(data)


def _lookup(dicts: list[dict[str, Any]]) -> VarLookupDict:
    lookup = VarLookupDict([])
    lookup._dicts = dicts
    return lookup


class _DesignPickler(pickle.Pickler):
    def __init__(self, file: io.BytesIO, names: set[str]) -> None:
        super().__init__(file, protocol=pickle.HIGHEST_PROTOCOL)
        self.names = names

    def reducer_override(self, obj: Any) -> Any:
        if isinstance(obj, types.ModuleType):
            return importlib.import_module, (obj.__name__,)
        if isinstance(obj, Environment):
            return Environment, ([self._kept(ns) for ns in obj._namespaces],)
        if isinstance(obj, VarLookupDict):
            return _lookup, ([self._kept(ns) for ns in obj._dicts],)
        return NotImplemented

    def _kept(self, namespace: Any) -> Any:
        if not isinstance(namespace, dict):
            return namespace
        return {k: v for k, v in namespace.items() if k in self.names}
