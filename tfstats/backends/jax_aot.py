"""Ahead-of-time compilation of a jitted function, in the background if asked.

``AheadOfTime`` wraps a ``jax.jit`` function: each signature of arguments (their tree,
shapes and dtypes) is traced, lowered and compiled once, with XLA compiler options
chosen from the traced program (``compiler_options``), and the executable is then
called directly. ``start(*args)`` compiles for the signature of ``args`` in a thread,
so that a caller can do other work (MCMC's starting points) meanwhile; the first call
with that signature waits for it, and an error raised while compiling is raised there,
in the caller. Concurrent callers of one signature share one compilation.

With a ``store`` (``trace_store``), the traced program is exported once
(``jax.export``) and kept on disk, and what is compiled is that exported program, read
back by later processes instead of tracing again.
"""

from __future__ import annotations

import contextlib
import math
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from typing import Any

import jax
from jax.extend import core as jax_core

from tfstats import trace_store
from tfstats.backends.compilations import Compilations
from tfstats.backends.xla_cpu import (
    FUSION_EMITTERS,
    OPTIMIZATION,
    OPTIMIZATION_LEVEL,
    YNN_DEFAULT,
    YNN_FUSION,
    emitters_switched_off,
    user_sets,
    ynn_reductions_taken_out,
)

__all__ = ["AheadOfTime", "compiler_options", "options_for", "GATHERS", "DATA_SIZED", "ELEMENTWISE"]

# a program with these (a model's indexing: ``x[idx]`` and its gradient) keeps XLA's
# fusion emitters; measured: radon's sampling loop ran 30 % slower without them
GATHERS = frozenset({"gather", "scatter-add"})
# nor does a program whose elementwise arithmetic makes arrays of DATA_SIZED elements or
# more (a GLM's per-row terms for every chain): measured on the logistic regression
# (N = 100,000, 4 chains vectorised), a leapfrog step cost 14 % less with the emitters
DATA_SIZED = 2**16
ELEMENTWISE = frozenset({
    "add", "sub", "mul", "div", "neg", "abs", "max", "min", "select_n", "integer_pow", "pow",
    "square", "sqrt", "rsqrt", "exp", "exp2", "expm1", "log", "log1p", "tanh", "logistic",
    "lgamma", "digamma", "erf", "erfc", "sin", "cos"})


def _equations(jaxpr: Any) -> Iterator[Any]:
    """The equations of ``jaxpr`` and of every jaxpr inside it (loop bodies, branches)."""
    for eqn in jaxpr.eqns:
        yield eqn
        for param in eqn.params.values():
            for sub in param if isinstance(param, list | tuple) else (param,):
                if isinstance(sub, jax_core.ClosedJaxpr):
                    yield from _equations(sub.jaxpr)
                elif isinstance(sub, jax_core.Jaxpr):
                    yield from _equations(sub)


def _wants_emitters(jaxpr: Any) -> bool:
    """Whether the program gathers (``GATHERS``) or its elementwise arithmetic
    (``ELEMENTWISE``) makes arrays of at least ``DATA_SIZED`` elements."""
    for eqn in _equations(jaxpr):
        name = eqn.primitive.name
        if name in GATHERS:
            return True
        if name in ELEMENTWISE and any(
                math.prod(getattr(var.aval, "shape", ())) >= DATA_SIZED for var in eqn.outvars):
            return True
    return False


def compiler_options(jaxpr: Any) -> dict[str, Any]:
    """XLA options for compiling ``jaxpr`` (a ``ClosedJaxpr``) on a CPU
    (``backends.xla_cpu``): LLVM's optimisation level 2 (0.3-0.5 s less compile per
    sampling loop than XLA's default 3, the same run time), and no fusion emitters (about
    40 % less compile time for a NUTS loop, the same run time) unless the program gathers
    (``GATHERS``) or its elementwise arithmetic makes arrays of at least ``DATA_SIZED``
    elements, where they make the loop faster (and are asked for explicitly if the
    TensorFlow backend, imported first, switched them off for the whole process; so are
    YNNPACK's reductions, which that backend takes out, ``backends.xla_cpu``). A setting
    named in ``XLA_FLAGS`` is left to it. Data-sized elementwise work (a
    likelihood's per-row terms, vectorised over chains) runs faster with the emitters: on
    the logistic regression of ``docs/performance_mcmc.md`` (N = 100,000, 4 chains), 1.30
    against 1.51 ms per leapfrog step, the elementwise pass over the rows a third of the
    old.

    Examples
    --------
    >>> import jax, jax.numpy as jnp
    >>> options = compiler_options(jax.make_jaxpr(jnp.sin)(1.0))
    >>> options["xla_backend_optimization_level"], options["xla_cpu_use_fusion_emitters"]
    (2, False)
    >>> gathers = jax.make_jaxpr(lambda x, i: x[i])(jnp.ones(3), jnp.array([0, 2]))
    >>> compiler_options(gathers).get("xla_cpu_use_fusion_emitters", True)
    True
    >>> rows = jax.make_jaxpr(lambda x: jnp.exp(-jnp.abs(x)))(jnp.ones((4, 2**15)))
    >>> compiler_options(rows).get("xla_cpu_use_fusion_emitters", True)
    True
    """
    return options_for(_wants_emitters(jaxpr.jaxpr))


def options_for(emitters: bool) -> dict[str, Any]:
    """The XLA options of :func:`compiler_options` for a program that wants the fusion
    emitters (``emitters``) or not, in this process: what tfstats' TensorFlow backend put in
    ``XLA_FLAGS`` (if it was imported first) and what the user named there decide the
    rest. The trace store keeps ``emitters``, the program's part, and asks this again when
    a process reads the program back.

    Examples
    --------
    >>> options_for(False)["xla_cpu_use_fusion_emitters"]
    False
    """
    options: dict[str, Any] = {}
    if not user_sets(OPTIMIZATION):
        options[OPTIMIZATION] = OPTIMIZATION_LEVEL
    if emitters:  # XLA's default, unless tfstats' TF backend switched it off
        if emitters_switched_off():
            options[FUSION_EMITTERS] = True
    elif not user_sets(FUSION_EMITTERS):
        options[FUSION_EMITTERS] = False
    if ynn_reductions_taken_out():  # by tfstats' TensorFlow backend: jaxlib's default back
        options[YNN_FUSION] = YNN_DEFAULT
    return options


def _signature(args: tuple) -> tuple:
    leaves, tree = jax.tree_util.tree_flatten(args)
    return tree, tuple((jax.numpy.shape(x), jax.numpy.result_type(x),
                        bool(getattr(x, "weak_type", False))) for x in leaves)


def _export(jitted: Callable, traced: Any, args: tuple) -> Any:
    """``jax.export.export(jitted)(*args)`` from ``traced`` (``jitted.trace(*args)``),
    without tracing again: the steps of jax 0.10's ``export``, through its private module
    (the public call, which traces again, where that module differs)."""
    try:
        from jax._src import config as jax_config
        from jax._src.export import _export as internal
        from jax._src.interpreters import mlir

        parameters = mlir.LoweringParameters(
            for_export=True, hoist_constants_as_args=False,
            export_ignore_forward_compatibility=(
                jax_config.export_ignore_forward_compatibility.value))
        lowered = traced.lower(lowering_platforms=(internal.default_export_platform(),),
                               _private_parameters=parameters)
        return internal._export_lowered(lowered, traced.jaxpr, traced.fun_name)
    except (ImportError, AttributeError, TypeError):
        return jax.export.export(jitted)(*args)


class AheadOfTime:
    """A jitted function compiled once per signature (see the module's docstring).

    Parameters
    ----------
    jitted : jax.jit function
        The function. On a CPU it compiles with :func:`compiler_options`.

    Examples
    --------
    >>> import jax, jax.numpy as jnp
    >>> f = AheadOfTime(jax.jit(lambda x: 2.0 * x))
    >>> _ = f.start(jnp.ones(3))   # compiles in a thread
    >>> f(jnp.ones(3)).tolist()    # waits for it
    [2.0, 2.0, 2.0]
    >>> f.compilations
    1
    """

    def __init__(self, jitted: Callable, store: str | None = None) -> None:
        self.jitted = jitted
        self.store = store  # trace_store.digest of the function, without its arguments
        self._compilations = Compilations()

    @property
    def compilations(self) -> int:
        """How many compilations were started (one per signature, unless one failed)."""
        return self._compilations.count

    @property
    def compiling(self) -> bool:
        """Whether a compilation started by :meth:`start` is still running."""
        return self._compilations.running

    def _exported(self, args: tuple) -> tuple[Any, dict[str, Any]] | None:
        """The exported program for ``args`` and its XLA options: read from the store, or
        traced, exported and stored now; None when it cannot be (no store, or a program
        that ``jax.export`` does not take)."""
        if self.store is None:
            return None
        name = trace_store.name(self.store, repr(_signature(args)))
        found = trace_store.read("jax", name)
        if found is not None:
            header, body = found
            try:  # the program's choice kept, the process's options asked again
                exported = jax.export.deserialize(bytearray(body))
                return exported, self._options(bool(header["emitters"]))
            except Exception:  # noqa: BLE001 - another jax's file: traced and written again
                pass
        try:
            traced = self.jitted.trace(*args)
            emitters = _wants_emitters(traced.jaxpr.jaxpr)
            exported = _export(self.jitted, traced, args)
            program = exported.serialize()
        except Exception:  # noqa: BLE001 - not exportable: compiled as traced
            return None
        trace_store.write("jax", name, {"emitters": emitters}, bytes(program))
        return exported, self._options(emitters)

    @staticmethod
    def _options(emitters: bool) -> dict[str, Any]:
        return options_for(emitters) if jax.default_backend() == "cpu" else {}

    def _compile(self, args: tuple, lowered: Callable[[], Any] | None = None) -> Any:
        stored = self._exported(args)
        if stored is not None:
            exported, options = stored
            lowering = jax.jit(exported.call).trace(*args).lower()
            if lowered is not None:
                lowered()
            return lowering.compile(compiler_options=options or None)
        traced = self.jitted.trace(*args)
        options = self._options(_wants_emitters(traced.jaxpr.jaxpr))
        lowering = traced.lower()
        if lowered is not None:
            lowered()
        return lowering.compile(compiler_options=options or None)

    def _run(self, key: tuple, future: Future, args: tuple, scope: Callable[[], Any] | None,
             lowered: Callable[[], Any] | None = None) -> None:
        try:
            with scope() if scope is not None else contextlib.nullcontext():
                future.set_result(self._compile(args, lowered))
        except BaseException as error:  # noqa: BLE001 - handed to the caller
            self._compilations.forget(key, future)  # a later call tries again
            future.set_exception(error)

    def start(self, *args: Any, scope: Callable[[], Any] | None = None,
              lowered: Callable[[], Any] | None = None) -> Future:
        """Compile for the signature of ``args`` in a background thread (nothing when it
        is compiled or compiling already) inside the context manager ``scope()`` makes (a
        device scope: JAX's default device is per thread). ``lowered()`` is called there once the
        function is traced and lowered, before XLA compiles it (which releases the GIL).
        Returns the compilation's future."""
        key = _signature(args)
        future, mine = self._compilations.claim(key)
        if mine:
            threading.Thread(target=self._run, args=(key, future, args, scope, lowered),
                             name="tfstats-compile", daemon=True).start()
        elif lowered is not None:
            lowered()
        return future

    def __call__(self, *args: Any) -> Any:
        key = _signature(args)
        future, mine = self._compilations.claim(key)
        if mine:
            self._run(key, future, args, None)
        return future.result()(*args)
