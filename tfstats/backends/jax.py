"""The JAX backend: jax.numpy primitives, TFP's JAX substrate, jit, vmap and PRNG keys.

The same names as ``tensorflow.py``. Importing it enables 64-bit floats in JAX, so that
``precision="double"`` (and ``"mixed"``) models are float64 (``"single"`` gives float32
everywhere).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import Any

import jax
import jax.numpy as np
import numpy
from jax import lax
from jax.scipy import special as jsp_special

from tfstats.backends import jax_random
from tfstats.backends.ode_jax import solve_ode
from tfstats.compile_cache import configure_jax

jax.config.update("jax_enable_x64", True)
configure_jax(jax)



@jax.custom_jvp
def _softplus(x: Any) -> Any:
    """``log(1 + exp(x))`` as ``max(x, 0) + log1p(exp(-|x|))``, with the sigmoid as its
    derivative from the same exponential: under XLA on CPU this costs about half of
    ``jax.nn.softplus`` (logaddexp) and its gradient, and it is right at 0."""
    return np.maximum(x, 0) + np.log1p(np.exp(-np.abs(x)))


@_softplus.defjvp
def _softplus_jvp(primals: tuple, tangents: tuple) -> tuple[Any, Any]:
    (x,), (dx,) = primals, tangents
    e = np.exp(-np.abs(x))
    sigmoid = np.where(x >= 0, 1.0, e) / (1.0 + e)
    return np.maximum(x, 0) + np.log1p(e), sigmoid * dx


def _import_tfp_without_tensorflow() -> Any:
    """TFP's JAX substrate imports TensorFlow, when it is installed, only to copy
    docstrings: about 3 s and 900 MB. Hide it while the substrate's modules load.

    The shared modules TFP loaded meanwhile (its package, its numpy backend) were set up
    for a process without TensorFlow; they are dropped from ``sys.modules`` afterwards
    (the substrate keeps its references), so that a later ``import tensorflow_probability``
    (the TensorFlow backend, the estimators) loads them afresh with TensorFlow present.
    """
    import importlib
    import sys

    hidden = "tensorflow" not in sys.modules
    loaded = set(sys.modules)
    if hidden:
        sys.modules["tensorflow"] = None  # type: ignore[assignment]  # import raises
    try:
        from tensorflow_probability.substrates import jax as substrate

        for module in ("distributions", "bijectors", "mcmc", "math", "random", "optimizer"):
            importlib.import_module(f"tensorflow_probability.substrates.jax.{module}")
    finally:
        if hidden:
            del sys.modules["tensorflow"]
            for name in set(sys.modules) - loaded:
                if name.startswith("tensorflow_probability") and not name.startswith(_OWN):
                    del sys.modules[name]
    return substrate


_OWN = ("tensorflow_probability.substrates.jax",
        "tensorflow_probability.python.internal.backend.jax")


tfp = _import_tfp_without_tensorflow()

__all__ = [
    "name", "np", "tfp", "tfd", "tfb", "seed_dtype", "has_gpu", "float_dtype", "int_dtype",
    "convert",
    "to_numpy", "cast", "shape_of", "static_int", "compile_function", "compile_once",
    "vectorize", "vectorize_random", "vectorize_density", "vectorize_value_and_gradient",
    "value_and_gradient", "while_loop", "cond", "scan", "write", "gather", "getitem", "special",
    "linalg", "make_seed", "split_seed", "uniform", "normal", "stop_gradient", "device_scope",
    "eager_scope",
    "set_xla", "xla_enabled", "map_values", "maps_in_a_loop", "solve_ode",
]

name = "jax"
tfd = tfp.distributions
tfb = tfp.bijectors
seed_dtype = numpy.uint32  # a seed: two uint32 values


def set_xla(enabled: bool) -> bool:
    """JAX always compiles with XLA; kept for symmetry with the TensorFlow backend (returns
    True, the setting that stays)."""
    return True


def xla_enabled() -> bool:
    """JAX always compiles with XLA."""
    return True


def has_gpu() -> bool:
    """Whether JAX's default device is a GPU."""
    return jax.default_backend() == "gpu"


def float_dtype(precision: str) -> Any:
    return np.float32 if precision == "single" else np.float64


def int_dtype() -> Any:
    return np.int32


def convert(value: Any, dtype: Any = None) -> Any:
    if isinstance(value, jax.Array) and (dtype is None or value.dtype == dtype):
        return value
    array = numpy.asarray(value)
    if dtype is None and array.dtype == numpy.int64:
        array = array.astype(numpy.int32)
    return np.asarray(array, dtype=dtype)


def to_numpy(value: Any) -> Any:
    return jax.tree.map(_fetch, value)


def _fetch(x: Any) -> Any:
    """As numpy; an array split over several processes' devices (``jax.distributed``) is
    gathered first."""
    if isinstance(x, jax.Array) and not (x.is_fully_addressable or x.is_fully_replicated):
        from jax.experimental import multihost_utils

        x = multihost_utils.process_allgather(x, tiled=True)
    return numpy.asarray(x)


def cast(value: Any, dtype: Any) -> Any:
    return np.asarray(value).astype(dtype)


def shape_of(value: Any) -> tuple[int, ...]:
    return tuple(value.shape)


def static_int(value: Any) -> int:
    """A Python int from a constant array (concrete while tracing)."""
    return int(numpy.asarray(value))


def compile_function(fn: Callable, *, xla: bool | None = None) -> Callable:
    """Compile ``fn`` with ``jax.jit``; data must be arguments. ``xla`` is ignored: JAX
    runs eager code op by op, compiling each op, which costs more than one jit."""
    return jax.jit(fn)


def compile_once(fn: Callable) -> Callable:
    """Compile a function that runs a few times (JAX has no cheaper mode than jit)."""
    return jax.jit(fn)


def vectorize(fn: Callable) -> Callable:
    """Map ``fn`` over the leading axis of its first argument."""

    def batched(batch: Any, *rest: Any) -> Any:
        return jax.vmap(lambda item: fn(item, *rest))(batch)

    return batched


vectorize_random = vectorize


def map_values(fn: Callable, values: numpy.ndarray) -> Any:
    """``fn`` at each of ``values`` (a numpy array), stacked (``vmap``)."""
    return vectorize(fn)(convert(values))


def maps_in_a_loop(n_values: int) -> bool:
    """Whether :func:`map_values` over ``n_values`` values is a loop: never (``vmap``)."""
    return False


def vectorize_density(fn: Callable, loops: bool = False) -> Callable:
    """Map a scalar log density over a batch (``vmap`` handles loops and gradients)."""
    return vectorize(fn)


def vectorize_value_and_gradient(fn: Callable, loops: bool = False) -> Callable:
    """``(flats, *data) -> (values, gradients)`` of a scalar ``fn(flat, *data)`` per item."""
    return vectorize(lambda flat, *data: jax.value_and_grad(fn)(flat, *data))


def value_and_gradient(fn: Callable, x: Any) -> tuple[Any, Any]:
    return jax.value_and_grad(fn)(x)


def stop_gradient(x: Any) -> Any:
    return lax.stop_gradient(x)


def while_loop(cond_fn: Callable, body_fn: Callable, state: Any) -> Any:
    return lax.while_loop(lambda s: cond_fn(*s), lambda s: tuple(body_fn(*s)), tuple(state))


def cond(predicate: Any, true_fn: Callable, false_fn: Callable) -> Any:
    return lax.cond(predicate, true_fn, false_fn)


def scan(fn: Callable, xs: Any, initial: Any) -> Any:
    """``out[t] = fn(out[t-1], xs[t])`` along the leading axis, ``out[-1] = initial``."""

    def step(carry: Any, x: Any) -> tuple[Any, Any]:
        new = fn(carry, x)
        return new, new

    return lax.scan(step, initial, xs)[1]


def write(buffer: Any, index: Any, value: Any) -> Any:
    """``buffer`` with ``buffer[index] = value`` (``index`` in range: a dynamic update
    slice, which XLA does in place, not a scatter)."""
    return lax.dynamic_update_index_in_dim(buffer, value, index, 0)


def gather(x: Any, indices: Any, axis: int) -> Any:
    return np.take(x, indices, axis=axis)


def getitem(x: Any, basic: tuple, advanced: dict[int, Any]) -> Any:
    """Index ``x`` with numpy semantics: ``basic`` first, then integer arrays at the
    result axes in ``advanced``."""
    out = x[basic] if basic else x
    if not advanced:
        return out
    index: list[Any] = [slice(None)] * out.ndim
    for axis, values in advanced.items():
        index[axis] = values
    return out[tuple(index)]


class special:  # noqa: N801 - a namespace, like scipy.special
    lgamma = staticmethod(jsp_special.gammaln)
    digamma = staticmethod(jsp_special.digamma)
    erf = staticmethod(jsp_special.erf)
    erfc = staticmethod(jsp_special.erfc)
    ndtr = staticmethod(jsp_special.ndtr)
    log_ndtr = staticmethod(jsp_special.log_ndtr)
    ndtri = staticmethod(jsp_special.ndtri)
    sigmoid = staticmethod(jax.nn.sigmoid)
    log_sigmoid = staticmethod(jax.nn.log_sigmoid)
    softplus = staticmethod(_softplus)
    logsumexp = staticmethod(jsp_special.logsumexp)
    softmax = staticmethod(jax.nn.softmax)
    log_softmax = staticmethod(jax.nn.log_softmax)
    lbeta = staticmethod(jsp_special.betaln)
    xlogy = staticmethod(jsp_special.xlogy)


def _diag(x: Any) -> Any:
    return x[..., :, None] * np.eye(x.shape[-1], dtype=x.dtype)


class linalg:  # noqa: N801
    cholesky = staticmethod(np.linalg.cholesky)
    solve = staticmethod(np.linalg.solve)
    inv = staticmethod(np.linalg.inv)
    det = staticmethod(np.linalg.det)
    slogdet = staticmethod(np.linalg.slogdet)
    diag_part = staticmethod(lambda x: np.diagonal(x, axis1=-2, axis2=-1))
    diag = staticmethod(_diag)
    matvec = staticmethod(lambda a, b: np.matmul(a, b[..., None])[..., 0])

    @staticmethod
    def triangular_solve(matrix: Any, rhs: Any, lower: bool = True) -> Any:
        return jax.scipy.linalg.solve_triangular(matrix, rhs, lower=lower)

    @staticmethod
    def logdet(x: Any) -> Any:
        return np.linalg.slogdet(x)[1]


def make_seed(seed: int | None) -> Any:
    """A PRNG key from a Python int or None."""
    if seed is None:
        seed = int(numpy.random.SeedSequence().generate_state(1)[0] % (2**31 - 1))
    # jax.random.PRNGKey's key, made in numpy: an eager PRNGKey compiles a program
    return np.asarray(jax_random.seed_key(int(seed) % (2**31 - 1)))


def split_seed(seed: Any, n: int = 2) -> Any:
    """``n`` new keys, stacked: shape (n, 2). A concrete raw key is split in numpy (the
    same keys as ``jax.random.split``, without compiling a program for it)."""
    if isinstance(seed, jax.core.Tracer) or jax.dtypes.issubdtype(seed.dtype,
                                                                  jax.dtypes.prng_key):
        return jax.random.split(seed, n)
    return np.asarray(jax_random.split_key(numpy.asarray(seed), n))


def uniform(like: Any, seed: Any, stream: Any = 0) -> Any:
    """Standard uniform draws of ``like``'s shape and dtype, from stream ``stream`` of
    ``seed`` (one Threefry hash: ``jax_random.py``)."""
    return jax_random.uniform(like, seed, stream)


def normal(like: Any, seed: Any, stream: Any = 0) -> Any:
    """Standard normal draws of ``like``'s shape and dtype, from stream ``stream`` of
    ``seed`` (one Threefry hash: ``jax_random.py``)."""
    return jax_random.normal(like, seed, stream)


@contextlib.contextmanager
def eager_scope() -> Iterator[None]:
    """Compiled functions called inside run op by op (``jax.disable_jit``)."""
    with jax.disable_jit():
        yield


class device_scope:  # noqa: N801
    """Context manager placing computations on ``device`` ("cpu", "gpu", or None)."""

    def __init__(self, device: str | None) -> None:
        self._scope = jax.default_device(jax.devices(device)[0]) if device else None

    def __enter__(self) -> None:
        if self._scope is not None:
            self._scope.__enter__()

    def __exit__(self, *exc: Any) -> None:
        if self._scope is not None:
            self._scope.__exit__(*exc)
