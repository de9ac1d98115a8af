"""Compilations started once per signature, shared by the backends' ahead-of-time wrappers
(``jax_aot.AheadOfTime``, ``tf_ahead.CompiledAhead``).

Each signature of arguments has one ``Future``: the first caller to claim it runs the
compilation, later callers share its result. A failed compilation is forgotten (by the
wrapper, once its error has been raised), so that a later call tries again.
"""

from __future__ import annotations

import threading
from collections.abc import Hashable
from concurrent.futures import Future

__all__ = ["Compilations"]


class Compilations:
    """The compilations started so far, one ``Future`` per signature.

    Examples
    --------
    >>> table = Compilations()
    >>> future, mine = table.claim("f32[3]")
    >>> mine, table.claim("f32[3]")[1], table.count
    (True, False, 1)
    >>> future.set_exception(ValueError("bad"))
    >>> table.forget("f32[3]", future)
    >>> table.claim("f32[3]")[1], table.count   # tried again
    (True, 2)
    """

    def __init__(self) -> None:
        self.count = 0
        self._lock = threading.Lock()
        self._futures: dict[Hashable, Future] = {}

    def claim(self, key: Hashable) -> tuple[Future, bool]:
        """The compilation for ``key``, and whether this caller must run it (no
        compilation for ``key`` yet)."""
        with self._lock:
            future = self._futures.get(key)
            if future is not None:
                return future, False
            future = self._futures[key] = Future()
            self.count += 1
            return future, True

    def get(self, key: Hashable) -> Future | None:
        """The compilation for ``key``, if one was started."""
        with self._lock:
            return self._futures.get(key)

    def forget(self, key: Hashable, future: Future) -> None:
        """Drop ``future`` (a failed compilation) so that the next claim of ``key`` runs
        again; nothing if ``key`` already has another one."""
        with self._lock:
            if self._futures.get(key) is future:
                del self._futures[key]

    @property
    def running(self) -> bool:
        """Whether any compilation is still running."""
        with self._lock:
            return any(not future.done() for future in self._futures.values())
