"""Traced sampling programs kept on disk, so that a new process does not trace them again.

Tracing MCMC's sampling loop (Python building the sampler's program) is about half of
what a new process waits for before sampling once XLA's programs come from the
persistent compilation cache (``compile_cache``). The loop is therefore kept on disk the
first time a model of its structure is fitted: on JAX exported (``jax.export``: its
StableHLO, serialised) under ``<cache>/traces-jax``, on TensorFlow as its graph
(``backends.tf_graphs``: a ``GraphDef`` and its functions) under
``<cache>/traces-tensorflow``. Every later process, the first one included, compiles the
stored program: one program per structure, the same draws for a seed in every process,
and a hit in the persistent compilation cache from the second process on.

The file is named by a digest of everything the traced program depends on:
``compile_cache.structure_key`` (the model's graph, small data by value, argument data by
shape), the function's key (the sampler's settings, the chain count), the arguments'
shapes and dtypes, the source of tfstats itself, the versions of the libraries, the
Python version, the platform and CPU, and the settings read while tracing (every
``TFSTATS_*`` variable, the user's ``XLA_FLAGS``, JAX's precision). A model whose structure
has no stable written form (a family, sampler or function defined outside tfstats) is
never stored, only traced. The flags that tfstats' TensorFlow backend adds to
``XLA_FLAGS`` are not in the digest: a JAX program keeps its own choice of compiler
options (``backends.jax_aot.options_for``), and the process that reads it asks for them
as its own flags require.

The store is on by default on both backends, in ``~/.cache/tfstats`` beside JAX's
persistent compilation cache (``TFSTATS_COMPILATION_CACHE`` moves or switches both off;
TensorFlow's own persistent cache is on only where that variable names a directory);
``TFSTATS_TRACE_STORE=0`` switches the store off alone.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import platform
import sys
import threading
import types
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["Unstable", "stable", "digest", "name", "directory", "read", "write",
           "source_digest"]

FORMAT = 2  # the layout of a stored file and of the digest's text
_SETTINGS_READ_ELSEWHERE = ("TFSTATS_COMPILATION_CACHE", "TFSTATS_TRACE_STORE",
                            "TFSTATS_BACKEND", "TFSTATS_XLA_FLAGS_ADDED")
_source: str | None = None


class Unstable(Exception):
    """A part of a key that has no written form equal in every process."""


def _ours(module: str | None) -> bool:
    return bool(module) and (module == "tfstats" or module.startswith("tfstats."))


def _function(fn: types.FunctionType) -> str:
    """A function of tfstats (its source is in the digest): its place, its code and what it
    closes over; any other function is Unstable."""
    if not _ours(fn.__module__):
        raise Unstable(f"function {fn.__qualname__} of {fn.__module__}")
    code = fn.__code__
    body = hashlib.blake2b(code.co_code + repr(code.co_consts).encode(),
                           digest_size=8).hexdigest()
    try:
        contents = [cell.cell_contents for cell in fn.__closure__ or ()]
    except ValueError as error:  # a cell not filled yet
        raise Unstable(f"function {fn.__qualname__}: {error}") from None
    cells = ",".join("fn:self" if value is fn else stable(value)
                     for value in contents)  # a recursive closure names itself
    return (f"fn:{fn.__module__}.{fn.__qualname__}:{code.co_firstlineno}:{body}:"
            f"({cells}):{stable(fn.__defaults__)}:{stable(fn.__kwdefaults__)}")


def stable(value: Any) -> str:
    """``value`` written the same way in every process (equal values, equal text), or
    ``Unstable``.

    Examples
    --------
    >>> stable((1, 0.5, "a", None))
    "(1,0x1.0000000000000p-1,'a',None)"
    >>> stable(object())
    Traceback (most recent call last):
    ...
    tfstats.trace_store.Unstable: a builtins.object
    """
    if value is None or isinstance(value, bool | int | str | bytes):
        return repr(value)
    if isinstance(value, float):
        return value.hex()
    if isinstance(value, tuple | list):
        inner = ",".join(stable(v) for v in value)
        return f"({inner})" if isinstance(value, tuple) else f"[{inner}]"
    if isinstance(value, dict):
        return "{" + ",".join(sorted(f"{stable(k)}:{stable(v)}" for k, v in value.items())) + "}"
    if isinstance(value, set | frozenset):
        return "set{" + ",".join(sorted(stable(v) for v in value)) + "}"
    if isinstance(value, np.dtype):
        return f"dtype:{value.str}"
    if isinstance(value, np.generic):
        return f"{value.dtype.str}:{stable(value.item())}"
    if isinstance(value, np.ndarray):
        if value.dtype.hasobject:  # its bytes are pointers
            raise Unstable(f"an array of dtype {value.dtype}")
        data = np.ascontiguousarray(value)
        return (f"array:{data.shape}:{data.dtype.str}:"
                f"{hashlib.blake2b(data.tobytes(), digest_size=16).hexdigest()}")
    if isinstance(value, np.ufunc):
        return f"ufunc:{value.__name__}"
    if isinstance(value, types.FunctionType):
        return _function(value)
    if isinstance(value, types.BuiltinFunctionType):
        return f"builtin:{getattr(value, '__module__', None)}.{value.__qualname__}"
    if isinstance(value, type):
        if _ours(value.__module__) or value.__module__ in ("builtins", "numpy"):
            return f"type:{value.__module__}.{value.__qualname__}"
        raise Unstable(f"class {value.__qualname__} of {value.__module__}")
    kind = type(value)
    module = getattr(value, "__module__", None) or ""
    if callable(value) and module.split(".")[0] == "numpy" and hasattr(value, "__qualname__"):
        return f"numpy:{module}.{value.__qualname__}"  # np.sum and the like
    if dataclasses.is_dataclass(value) and _ours(kind.__module__):
        fields = tuple((f.name, getattr(value, f.name)) for f in dataclasses.fields(value))
        return f"{kind.__module__}.{kind.__qualname__}{stable(fields)}"
    raise Unstable(f"a {kind.__module__}.{kind.__qualname__}")


def source_digest() -> str:
    """A digest of every Python file of the tfstats package (paths and contents): a
    changed tfstats never reads a program another one traced."""
    global _source
    if _source is None:
        root = Path(__file__).resolve().parent
        h = hashlib.blake2b(digest_size=16)
        for path in sorted(root.rglob("*.py")):
            h.update(str(path.relative_to(root)).encode() + b"\0" + path.read_bytes() + b"\0")
        _source = h.hexdigest()
    return _source


def _versions(names: tuple[str, ...]) -> tuple:
    from importlib import metadata

    found = []
    for name in names:
        try:
            found.append((name, metadata.version(name)))
        except metadata.PackageNotFoundError:
            continue
    return tuple(found)


def _environment(backend: str) -> tuple:
    from tfstats.backends.xla_cpu import user_flags
    from tfstats.compile_cache import cpu_digest

    # XLA_FLAGS without tfstats' own (which programs ask for back, backends.jax_aot);
    # not TF_XLA_FLAGS: its cache directory
    settings = tuple(sorted((k, v) for k, v in os.environ.items()
                            if k.startswith("TFSTATS_") and k not in _SETTINGS_READ_ELSEWHERE))
    settings += (("XLA_FLAGS", user_flags()),)
    extra: tuple = ()
    if backend == "jax":
        import jax

        extra = (bool(jax.config.jax_enable_x64), jax.default_backend(),
                 tuple(sorted({d.device_kind for d in jax.devices()})))
    libraries = ("numpy", "jax", "jaxlib", "tensorflow", "tf-nightly", "tfp-nightly",
                 "tensorflow-probability")
    return (FORMAT, backend, source_digest(), _versions(libraries), sys.version,
            platform.machine(), cpu_digest(), settings, extra)


def digest(model: Any, key: Any) -> str | None:
    """A digest of ``model``'s compiled function ``key`` and of everything its trace
    depends on (see the module's docstring), or None when it cannot be stored: no store
    for the model's backend, or no stable written form."""
    from tfstats.compile_cache import structure_key

    if getattr(model, "discrete", None) is not None:  # unknowns summed out: not in the key
        return None
    backend = model.backend.name
    if directory(backend) is None:
        return None
    try:
        text = stable((_environment(backend), structure_key(model), model.precision, key))
    except (Unstable, RecursionError):  # RecursionError: functions calling each other
        return None
    return hashlib.blake2b(text.encode(), digest_size=20).hexdigest()


def name(function: str, signature: str) -> str:
    """The file name of the program of ``function`` (a :func:`digest`) for arguments of
    ``signature`` (their tree, shapes and dtypes, as the caller writes them)."""
    return hashlib.blake2b(f"{function}|{signature}".encode(), digest_size=20).hexdigest()


def directory(backend: str) -> Path | None:
    """Where ``backend``'s programs are kept: ``traces-<backend>`` in the cache directory
    (``compile_cache.cache_directory``), or None when the store is off."""
    from tfstats.compile_cache import cache_directory, switched_off

    if switched_off("TFSTATS_TRACE_STORE"):
        return None
    return cache_directory(f"traces-{backend}")


def read(backend: str, name: str) -> tuple[dict, bytes] | None:
    """The header (a dict) and the program (bytes) stored as ``name``, or None."""
    folder = directory(backend)
    if folder is None:
        return None
    try:
        raw = (folder / name).read_bytes()
        head, _, body = raw.partition(b"\n")
        return json.loads(head), body
    except (OSError, ValueError):
        return None


def write(backend: str, name: str, header: dict, program: bytes) -> Path | None:
    """Store ``program`` with its ``header`` as ``name`` (written to a temporary file and
    renamed: a reader never sees half a file). Returns the path, or None."""
    folder = directory(backend)
    if folder is None:
        return None
    path = folder / name
    partial = folder / f".{name}.{os.getpid()}.{threading.get_ident()}.partial"
    try:
        partial.write_bytes(json.dumps(header).encode() + b"\n" + program)
        os.replace(partial, path)
    except OSError:
        partial.unlink(missing_ok=True)
        return None
    return path
