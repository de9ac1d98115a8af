"""Compiled functions shared across models of the same structure, and the backends'
persistent compilation caches.

A model rebuilt from the same code (a re-run notebook cell, a new data set of the same
size, cross-validation folds) has new arrays but the same graph: its compiled functions
are taken from a process-wide cache keyed by the model's structure (``structure_key``)
instead of being traced and compiled again. Data above ``CONSTANT_SIZE`` values enter
compiled functions as arguments, so they are in the key by shape and dtype only; smaller
data are embedded as constants, so they are in the key by value.

The backends' own persistent caches keep compiled XLA programs on disk, so a second
process does not compile again. JAX's is on by default in ``$XDG_CACHE_HOME/tfstats``
(``~/.cache/tfstats``); ``TFSTATS_COMPILATION_CACHE=0`` switches it off and any other
value is the directory to use, for JAX and TensorFlow alike (TensorFlow's is off unless a
directory is named: see ``configure_tensorflow``). It is read when the backend is first
imported.
"""

from __future__ import annotations

import hashlib
import os
import threading
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from tfstats.arrays import Array, Data, Variable
from tfstats.backends import get_backend
from tfstats.graph import topological

__all__ = ["SHARED_KINDS", "MAX_ENTRIES", "structure_key", "shared_compiled", "clear",
           "statistics", "switched_off", "cache_directory", "cpu_digest",
           "configure_tensorflow", "configure_jax"]

# compiled functions whose builders read the model only through its structure (layout,
# terms, targets' names, data as arguments): safe to share between models of one structure
SHARED_KINDS = frozenset({"log_density_and_gradient", "objective", "adam", "mcmc",
                          "constrain"})
MAX_ENTRIES = 48

_lock = threading.Lock()
_entries: OrderedDict[Any, Callable] = OrderedDict()
_counts = {"hits": 0, "misses": 0}
_OFF = ("0", "off", "false", "no", "none", "")


class _Same:
    """A key part equal only to the very same object (which it keeps alive, so that its
    id is not reused while the key exists)."""

    __slots__ = ("obj",)

    def __init__(self, obj: Any) -> None:
        self.obj = obj

    def __hash__(self) -> int:
        return id(self.obj)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Same) and other.obj is self.obj


def _digest(value: np.ndarray) -> tuple:
    value = np.ascontiguousarray(value)
    digest = hashlib.blake2b(value.tobytes(), digest_size=16).hexdigest()
    return ("value", value.shape, value.dtype.str, digest)


def _argument_key(value: np.ndarray) -> tuple:
    """Data passed as an argument: shape and dtype, and whether integers fit int32 (the
    evaluator makes float data of those that do not)."""
    fits = True
    if np.issubdtype(value.dtype, np.integer) and value.size:
        info = np.iinfo(np.int32)
        fits = bool(value.min() >= info.min and value.max() <= info.max)
    return ("argument", value.shape, value.dtype.str, fits)


def _hashable(value: Any) -> Any:
    if isinstance(value, float):  # bit for bit: -0.0 and nan too
        return ("float", value.hex())
    try:
        hash(value)
    except TypeError:
        return _Same(value)
    return value


class _Encoder:
    """Numbers the nodes of a model's graph in the order of the model's ``data_nodes``
    and describes each by its operation, shape, kind and parameters."""

    def __init__(self, arguments: list[Array]) -> None:
        self.index: dict[int, int] = {}
        self.nodes: list[tuple] = []
        self.arguments = {id(a) for a in arguments}
        self.keep: list[Array] = []  # keeps numbered nodes alive while their ids are keys

    def node(self, array: Array) -> int:
        if id(array) not in self.index:
            for node in topological([array]):
                if id(node) not in self.index:
                    self.nodes.append(self._describe(node))
                    self.index[id(node)] = len(self.nodes) - 1
                    self.keep.append(node)
        return self.index[id(array)]

    def _describe(self, node: Array) -> tuple:
        parents = tuple(self.index[id(p)] for p in node.parents)
        if isinstance(node, Data):
            value = (_argument_key(node.value) if id(node) in self.arguments
                     else _digest(node.value))
            return ("data", node.kind, value)
        if isinstance(node, Variable):
            return ("variable", node.shape, _hashable(node.constraint), node.discrete, parents)
        return (node.op, node.shape, node.kind, self.param(node.params), parents)

    def param(self, value: Any) -> Any:
        if isinstance(value, Array):
            return ("array", self.node(value))
        if isinstance(value, np.ndarray):
            return _digest(value)
        if isinstance(value, tuple | list):
            return (type(value).__name__, tuple(self.param(v) for v in value))
        if isinstance(value, dict):
            return ("dict", tuple((k, self.param(value[k])) for k in sorted(value, key=str)))
        if isinstance(value, slice):
            return ("slice", self.param(value.start), self.param(value.stop),
                    self.param(value.step))
        if isinstance(value, np.generic):
            return ("scalar", value.dtype.str, _hashable(value.item()))
        return _hashable(value)

    def term(self, term: Any) -> tuple:
        arrays = tuple(None if a is None else self.node(a) for a in term.params)
        value = None if term.value is None else self.node(term.value)
        truncation = (tuple(None if b is None else self.node(b) for b in term.truncation)
                      if term.truncation else None)
        return (_hashable(term.family), arrays, value, truncation,
                tuple(self.term(c) for c in term.components))


def structure_key(model: Any) -> tuple:
    """The structure of ``model`` as a hashable key: two models with equal keys have the
    same compiled functions (their data, passed as arguments, may differ).

    It holds every node's operation, shape, kind and parameters, small data by value,
    argument data by shape and dtype, the unknowns' constraints, names and layout, the
    density terms, the targets' names and the precision.
    """
    cached = model.__dict__.get("_structure_key")
    if cached is not None:
        return cached
    encoder = _Encoder(model.data_nodes)
    # the data arguments first, in the model's order: equal keys pass them alike
    arguments = tuple(encoder.node(a) for a in model.data_nodes)
    variables = tuple((encoder.node(v), model.names[v], model.layout[v])
                      for v in model.variables)
    terms = tuple(encoder.term(t) for t in model.terms)
    targets = tuple((name, encoder.node(a)) for name, a in model.targets.items())
    scales = tuple(getattr(model, "term_scales", ()))  # minibatches: N / batch size
    # TFSTATS_ROW_BLOCKS, TFSTATS_ROW_BLOCKS_SPLIT and the block sizes when built
    blocked = tuple((r.row_parts, r.block_bytes, r.min_blocks)
                    for r in getattr(model, "blocked_glm", ()))
    # with precision="mixed", which data arguments are float32 (decided from their values)
    precision = (model.precision, tuple(sorted(getattr(model, "single_data", ()))))
    key = (precision, tuple(encoder.nodes), arguments, variables, terms, targets,
           tuple(model.observed_names), model.n_free, model.has_loops, scales, blocked)
    model.__dict__["_structure_key"] = key
    model.__dict__["_structure_nodes"] = encoder.keep
    return key


def shared_compiled(model: Any, key: tuple, build: Callable[[], Callable]) -> Callable:
    """The compiled function ``key`` of ``model``: from the process-wide cache when a model
    of the same structure built it, else built now (and kept, for the shared kinds)."""
    kind = key[-1][0] if isinstance(key[-1], tuple) else key[-1]
    if kind not in SHARED_KINDS or getattr(model, "discrete", None) is not None:
        return build()  # unknowns summed out: their groups are not in the key
    full = (structure_key(model), key, get_backend().xla_enabled())
    with _lock:
        found = _entries.get(full)
        if found is not None:
            _entries.move_to_end(full)
            _counts["hits"] += 1
            return found
    function = build()
    with _lock:
        _counts["misses"] += 1
        _entries[full] = function
        while len(_entries) > MAX_ENTRIES:
            _entries.popitem(last=False)
    return function


def clear() -> None:
    """Forget every shared compiled function."""
    with _lock:
        _entries.clear()
        _counts.update(hits=0, misses=0)


def statistics() -> dict[str, int]:
    """Hits, misses and entries of the shared cache of compiled functions."""
    with _lock:
        return dict(_counts, entries=len(_entries))


_TF_CACHE_FLAG = "tf_xla_persistent_cache_directory"


def switched_off(variable: str) -> bool:
    """Whether the environment variable ``variable`` is set to a value that means off
    ("0", "off", "false", "no", "none" or empty).

    Examples
    --------
    >>> import os
    >>> os.environ["TFSTATS_EXAMPLE_SWITCH"] = "Off"
    >>> switched_off("TFSTATS_EXAMPLE_SWITCH"), switched_off("TFSTATS_NOT_SET")
    (True, False)
    >>> del os.environ["TFSTATS_EXAMPLE_SWITCH"]
    """
    setting = os.environ.get(variable)
    return setting is not None and setting.strip().lower() in _OFF


def cache_directory(backend: str) -> Path | None:
    """The directory of ``backend``'s persistent compilation cache, created if needed, or
    None when switched off (``TFSTATS_COMPILATION_CACHE=0``) or not writable."""
    if switched_off("TFSTATS_COMPILATION_CACHE"):
        return None
    setting = os.environ.get("TFSTATS_COMPILATION_CACHE")
    if setting:
        root = Path(setting).expanduser()
    else:
        base = os.environ.get("XDG_CACHE_HOME") or (
            os.environ.get("LOCALAPPDATA") if os.name == "nt" else None)
        root = (Path(base) if base else Path.home() / ".cache") / "tfstats"
    path = root / backend
    try:
        path.mkdir(parents=True, exist_ok=True)
        probe = path / f".probe-{os.getpid()}"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError:
        return None
    return path


def tensorflow_programs_persist() -> bool:
    """Whether TensorFlow's XLA persistent cache is on in this process (named in
    ``TF_XLA_FLAGS``, by :func:`configure_tensorflow` or by the user)."""
    return _TF_CACHE_FLAG in os.environ.get("TF_XLA_FLAGS", "")


def configure_tensorflow() -> Path | None:
    """Point TensorFlow's XLA persistent cache at a subdirectory of the directory named by
    ``TFSTATS_COMPILATION_CACHE``; run before TensorFlow is imported (it reads
    ``TF_XLA_FLAGS`` once). Off unless a directory is named: TensorFlow's XLA:CPU loader
    logs an error line ("... could lead to execution errors such as SIGILL") at every load
    on CPUs with tuning-only features (openxla/xla#44565), and its keys hold neither its
    version nor the CPU, so the subdirectory is named by both. A directory the user set in
    ``TF_XLA_FLAGS`` is kept."""
    flags = os.environ.get("TF_XLA_FLAGS", "")
    setting = os.environ.get("TFSTATS_COMPILATION_CACHE")
    if _TF_CACHE_FLAG in flags or not setting or (
            switched_off("TFSTATS_COMPILATION_CACHE")):
        return None
    path = cache_directory(f"tensorflow-{_version('tensorflow', 'tf-nightly')}-{cpu_digest()}")
    if path is not None:
        os.environ["TF_XLA_FLAGS"] = f"{flags} --{_TF_CACHE_FLAG}={path}".strip()
    return path


def cpu_digest() -> str:
    """A short digest of the machine type and CPU flags (Linux), for cache directories."""
    import platform

    text = platform.machine() + platform.processor()
    try:
        with open("/proc/cpuinfo") as f:
            text += next((line for line in f if line.startswith("flags")), "")
    except OSError:
        pass
    return hashlib.blake2b(text.encode(), digest_size=4).hexdigest()


def _version(*distributions: str) -> str:
    from importlib import metadata

    for name in distributions:
        try:
            return metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return "unknown"


def configure_jax(jax: Any) -> Path | None:
    """Point JAX's persistent compilation cache at ``cache_directory("jax")``, keeping
    programs that took 0.2 s or more to compile (unless
    ``JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS`` says otherwise). A directory the user
    set is kept."""
    if jax.config.jax_compilation_cache_dir:
        return None
    path = cache_directory("jax")
    if path is not None:
        jax.config.update("jax_compilation_cache_dir", str(path))
        if "JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS" not in os.environ:
            jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.2)
    return path
