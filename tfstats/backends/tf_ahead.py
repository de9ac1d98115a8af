"""A jit-compiled ``tf.function`` whose XLA compilation runs in the background.

``CompiledAhead`` wraps a ``tf.function(jit_compile=True)``. ``start(*args)`` traces the
function for the signature of ``args`` (their structure, shapes and dtypes) on the
calling thread, then calls it once with ``args`` in a background thread: TensorFlow
compiles the XLA cluster at that call and keeps it in its compilation cache (or loads
it from its persistent cache), releasing the GIL meanwhile, so that the caller can do
other work (MCMC's starting points). The caller's arguments must make that call cheap
(MCMC's chunk with zero iterations). The first ``__call__`` with that signature waits
for the compilation and raises its error, if any; later calls are hits in TensorFlow's
cache. The trace is done before the thread starts because it is Python work holding
the GIL: run beside the starting points' own tracing, it would only share one core
with it and delay the compilation that follows it.

With a ``store`` (a ``trace_store`` digest of the function), the traced function is kept
on disk per signature, and every process, the writer included, compiles what the file
holds, so a later process does not trace the function again. Where TensorFlow's
persistent compilation cache is on (``compile_cache``), the file holds the function's
XLA program as a StableHLO module (``tf_modules``; where JAX's libraries are installed
and TensorFlow reads the module back), so that a later process does not convert the
graph to XLA either before it finds the program in that cache. The conversion costs the
first process 0.6-1 s (TensorFlow's graph-to-XLA step, done once more and holding the
GIL), so without that cache (the default) the file holds the graph (``tf_graphs``).
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any

import tensorflow as tf

from tfstats import trace_store
from tfstats.backends.compilations import Compilations
from tfstats.backends.tf_graphs import export_graph, import_graph
from tfstats.backends.tf_modules import KIND as MODULE
from tfstats.backends.tf_modules import export_module, import_module
from tfstats.compile_cache import tensorflow_programs_persist

__all__ = ["CompiledAhead", "signature"]


def signature(args: tuple) -> str:
    """The structure, shapes and dtypes of ``args`` (tensors in tuples and dicts), as
    ``tf.function`` and XLA's cache tell calls apart.

    Examples
    --------
    >>> signature((tf.zeros((2, 3)), {"a": tf.constant(1)}))
    "(((2, 3), 'float32'), {'a': ((), 'int32')})"
    """
    return repr(tf.nest.map_structure(lambda t: (tuple(t.shape), t.dtype.name), args))


class CompiledAhead:
    """A ``tf.function`` compiled ahead per signature (see the module's docstring).

    Parameters
    ----------
    function : tf.function
        The function (``jit_compile=True`` for XLA; without, only the tracing is done
        ahead).
    store : str, optional
        The ``trace_store.digest`` of the function (without its arguments): its graph is
        kept in the store. The function must be XLA-compiled.

    Examples
    --------
    >>> double = CompiledAhead(tf.function(lambda x: 2.0 * x, jit_compile=True))
    >>> _ = double.start(tf.ones(3))   # traced here, compiled in a thread
    >>> double(tf.ones(3)).numpy().tolist()  # waits for it
    [2.0, 2.0, 2.0]
    >>> double.compilations
    1
    """

    def __init__(self, function: Callable, store: str | None = None) -> None:
        self.function = function
        self.store = store
        self._compilations = Compilations()
        self._lock = threading.Lock()
        self._traced: dict[str, Callable] = {}

    @property
    def compilations(self) -> int:
        """How many compilations were started (one per signature, unless one failed)."""
        return self._compilations.count

    @property
    def compiling(self) -> bool:
        """Whether a compilation started by :meth:`start` is still running."""
        return self._compilations.running

    def traced(self, args: tuple, key: str | None = None) -> Callable:
        """The function to call with arguments of the signature of ``args`` (``key``, if
        known), traced for it (here, on the first request): the stored graph's
        (:meth:`_stored`) or, without one, ``function`` itself."""
        key = key or signature(args)
        found = self._traced.get(key)
        if found is not None:  # every chunk call after the first
            return found
        with self._lock:
            found = self._traced.get(key)
            if found is None:
                found = self._stored(key, args) if self.store is not None else None
                if found is None:
                    self.function.get_concrete_function(*args)
                    found = self.function
                self._traced[key] = found
        return found

    def _stored(self, key: str, args: tuple) -> Callable | None:
        """The imported graph of the function for ``args``: read from the store, or
        traced, written there and imported now (a bad file is written again); None when
        the graph does not export (the function is then traced and compiled as it is)."""
        name = trace_store.name(self.store, key)
        found = trace_store.read("tensorflow", name)
        if found is not None:
            try:
                if found[0].get("kind") == MODULE:
                    return import_module(*found, args)
                return import_graph(*found, args)
            except Exception:  # noqa: BLE001 - a bad file: traced and written again
                pass
        concrete = self.function.get_concrete_function(*args)  # a tracing error is raised
        if tensorflow_programs_persist():  # the module: later processes load its XLA program
            imported = self._keep_module(name, args)
            if imported is not None:
                return imported
        try:
            exported = export_graph(concrete, args)
            if exported is None:
                return None
            trace_store.write("tensorflow", name, *exported)
            return import_graph(*exported, args)
        except Exception:  # noqa: BLE001 - not importable: compiled as traced
            return None

    def _keep_module(self, name: str, args: tuple) -> Callable | None:
        """Write the function's XLA module for ``args`` to the store as ``name`` and return
        it imported; None where there is none (no JAX, a program it does not convert, a
        module TensorFlow does not read back)."""
        try:
            exported = export_module(self.function, args)
            if exported is None:
                return None
            imported = import_module(*exported, args)
            imported.hlo()  # TensorFlow reads the module back
        except Exception:  # noqa: BLE001 - not convertible: the graph is kept instead
            return None
        trace_store.write("tensorflow", name, *exported)
        return imported

    def _compile(self, future: Future, args: tuple, scope: Callable[[], Any]) -> None:
        try:
            with scope():
                self.traced(args)(*args)  # XLA compiles (or loads) the cluster here
            future.set_result(None)
        except BaseException as error:  # noqa: BLE001 - raised by the first call
            future.set_exception(error)

    def start(self, *args: Any, scope: Callable[[], Any] | None = None,
              lowered: Callable[[], Any] | None = None) -> Future:
        """Trace for the signature of ``args`` here, inside the context manager
        ``scope()`` makes (a device scope), then call the function with ``args`` in a
        background thread inside it (nothing when started already). ``lowered()`` is
        called once the function is traced, before XLA compiles it (which releases the
        GIL). Returns the compilation's future (its error, if any, is raised by the
        first call with this signature)."""
        scope = scope or contextlib.nullcontext
        key = signature(args)
        future, mine = self._compilations.claim(key)
        if not mine:
            if lowered is not None:
                lowered()
            return future
        try:
            with scope():
                self.traced(args, key)
        except BaseException as error:  # noqa: BLE001 - raised by the first call
            future.set_exception(error)
            return future
        if lowered is not None:
            lowered()
        threading.Thread(target=self._compile, args=(future, args, scope),
                         name="tfstats-compile", daemon=True).start()
        return future

    def __call__(self, *args: Any) -> Any:
        key = signature(args)
        future = self._compilations.get(key)
        if future is not None and future.exception() is not None:  # waits for it
            self._compilations.forget(key, future)  # raised once; a later call compiles again
            raise future.exception()
        return self.traced(args, key)(*args)
