"""The TensorFlow backend: numpy-like primitives, TFP, compilation, loops and seeds."""

from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from tfstats.backends.xla_cpu import configure_xla_cpu  # noqa: E402
from tfstats.compile_cache import configure_tensorflow  # noqa: E402

configure_tensorflow()  # before TensorFlow reads TF_XLA_FLAGS
configure_xla_cpu()  # and XLA reads XLA_FLAGS

import contextlib  # noqa: E402
from collections.abc import Callable, Iterator, Sequence  # noqa: E402
from typing import Any  # noqa: E402

import numpy  # noqa: E402
import tensorflow as tf  # noqa: E402
import tensorflow.experimental.numpy as np  # noqa: E402
import tensorflow_probability as tfp  # noqa: E402

from tfstats.backends.ode_tensorflow import solve_ode  # noqa: E402

__all__ = [
    "name", "np", "tfp", "tfd", "tfb", "seed_dtype", "has_gpu", "float_dtype", "int_dtype",
    "convert", "to_numpy", "cast", "shape_of", "static_int", "compile_function", "compile_once",
    "vectorize", "vectorize_random", "vectorize_density", "vectorize_value_and_gradient",
    "value_and_gradient", "while_loop", "cond", "scan", "write", "gather", "getitem", "special",
    "make_seed", "split_seed", "uniform", "normal", "linalg", "stop_gradient", "device_scope",
    "eager_scope",
    "set_xla", "xla_enabled", "map_values", "maps_in_a_loop", "solve_ode",
]

name = "tensorflow"
tfd = tfp.distributions
tfb = tfp.bijectors
seed_dtype = numpy.int32  # a seed: two int32 values
_XLA = os.environ.get("TFSTATS_XLA", "1") != "0"


def set_xla(enabled: bool) -> bool:
    """Switch XLA compilation of compiled functions on or off (on by default); returns the
    setting it replaces."""
    global _XLA
    previous, _XLA = _XLA, bool(enabled)
    return previous


def xla_enabled() -> bool:
    """Whether compiled functions use XLA."""
    return _XLA


def has_gpu() -> bool:
    """Whether TensorFlow sees a GPU."""
    return bool(tf.config.list_physical_devices("GPU"))


def float_dtype(precision: str) -> Any:
    return tf.float32 if precision == "single" else tf.float64


def int_dtype() -> Any:
    return tf.int32


def convert(value: Any, dtype: Any = None) -> tf.Tensor:
    if isinstance(value, tf.Tensor | tf.Variable):
        return value if dtype is None or value.dtype == dtype else tf.cast(value, dtype)
    array = numpy.asarray(value)
    if dtype is None and array.dtype == numpy.int64:
        array = array.astype(numpy.int32)
    return tf.convert_to_tensor(array, dtype=dtype)


def to_numpy(value: Any) -> Any:
    return tf.nest.map_structure(
        lambda v: v.numpy() if hasattr(v, "numpy") else numpy.asarray(v), value
    )


def cast(value: Any, dtype: Any) -> tf.Tensor:
    return tf.cast(value, dtype)


def static_int(value: Any) -> int:
    """A Python int from a constant tensor (known while tracing)."""
    return int(tf.get_static_value(value))


def shape_of(value: Any) -> tuple[int, ...]:
    return tuple(value.shape)


def compile_function(fn: Callable, *, xla: bool | None = None) -> Callable:
    """Compile ``fn`` into one graph (XLA unless switched off).

    Arguments are traced as tensors: data must be passed as arguments so XLA
    does not constant-fold it.
    """
    use_xla = _XLA if xla is None else xla
    return tf.function(fn, jit_compile=use_xla, autograph=False, reduce_retracing=True)


def compile_once(fn: Callable) -> Callable:
    """Compile a function that runs a few times (starting points, optimisers): a graph
    without XLA traces in a fraction of XLA's compile time and runs as fast on big data."""
    return compile_function(fn, xla=False)


def vectorize(fn: Callable) -> Callable:
    """Map ``fn`` over the leading axis of its first argument (a tensor or a structure)."""

    def batched(batch: Any, *rest: Any) -> Any:
        return tf.vectorized_map(lambda item: fn(item, *rest), batch, fallback_to_while_loop=True)

    return batched


def vectorize_random(fn: Callable) -> Callable:
    """Map ``fn`` over the leading axis where it draws random numbers from per-item
    seeds (TF's vectorised map cannot batch stateless seeds, so this loops)."""

    return lambda batch: _map_in_a_loop(fn, batch)


def _map_in_a_loop(fn: Callable, batch: Any) -> Any:
    """``fn`` over the leading axis of ``batch`` (a tensor or a structure), one item at a
    time (``tf.map_fn``; ``fn`` is traced once more for its output's signature)."""
    first = tf.nest.map_structure(lambda t: t[0], batch)
    signature = tf.nest.map_structure(lambda t: tf.TensorSpec(t.shape, t.dtype), fn(first))
    return tf.map_fn(fn, batch, fn_output_signature=signature)


UNROLLED_VALUES = 16  # map_values over at most this many values is unrolled, else a loop


def map_values(fn: Callable, values: numpy.ndarray) -> tf.Tensor:
    """``fn`` at each of ``values`` (a numpy array), stacked. A few values
    (``UNROLLED_VALUES``) are unrolled into the graph, more are a loop (``tf.map_fn``).
    A vectorised map nested in the samplers' map over chains made a change-point model's
    first ``mcmc`` (39 values) take 110 s of CPU, and XLA compiled it again at every chunk;
    unrolled, a change point over 29 values made the first ``mcmc`` take 24 s on the AVX2
    host, as a loop 8.8 s, for sampling up to 1.3x slower (``docs/performance_mcmc.md``,
    "Summed-out unknowns on TensorFlow"). A model with such a loop has its gradients taken
    per item (``maps_in_a_loop``): XLA cannot compile the gradient of a loop inside a
    vectorised map. Up to 16 values (mixtures, small supports) stay unrolled, so that
    vectorised chains on large data keep one vectorised gradient."""
    if not maps_in_a_loop(len(values)):
        return tf.stack([fn(convert(v)) for v in values])
    return _map_in_a_loop(fn, convert(values))


def maps_in_a_loop(n_values: int) -> bool:
    """Whether :func:`map_values` over ``n_values`` values is a loop."""
    return n_values > UNROLLED_VALUES


def vectorize_value_and_gradient(fn: Callable, loops: bool = False) -> Callable:
    """``(flats, *data) -> (values, gradients)`` of a scalar ``fn(flat, *data)`` for each
    item of a batch. With ``loops`` (the function has a ``scan``) items are mapped one by
    one: XLA cannot compile the gradient of a vectorised while loop."""

    def batched(flats: tf.Tensor, *data: Any) -> tuple[tf.Tensor, tf.Tensor]:
        def per_item(v: tf.Tensor) -> Any:
            return value_and_gradient(lambda u: fn(u, *data), v)

        if flats.shape[0] == 1:  # one chain (parallel chains): no vectorising to trace
            value, gradient = per_item(flats[0])
            return value[None], gradient[None]
        if loops:
            signature = (tf.TensorSpec((), flats.dtype),
                         tf.TensorSpec(flats.shape[1:], flats.dtype))
            return tf.map_fn(per_item, flats, fn_output_signature=signature)
        return tf.vectorized_map(per_item, flats, fallback_to_while_loop=True)

    # a function of its own: traced (vectorised by pfor, about 0.4 s) once per signature,
    # then called wherever the sampler needs it, instead of traced at every call site
    return tf.function(batched, autograph=False, reduce_retracing=True)


def vectorize_density(fn: Callable, loops: bool = False) -> Callable:
    """Map a scalar log density ``fn(flat, *data)`` over a batch of ``flats``, keeping it
    differentiable with gradients taken per item (a gradient through
    ``tf.vectorized_map`` makes XLA recompile for every new input value)."""
    return density_from(vectorize_value_and_gradient(fn, loops))


def density_from(value_and_grads: Callable) -> Callable:
    """A batched log density ``(flats, *data) -> values`` whose gradient is the one that
    ``value_and_grads(flats, *data) -> (values, gradients)`` computes with it."""

    def batched(flats: tf.Tensor, *data: Any) -> tf.Tensor:
        @tf.custom_gradient
        def inner(x: tf.Tensor) -> Any:
            values, grads = value_and_grads(x, *data)

            def grad_fn(upstream: tf.Tensor) -> tf.Tensor:
                return upstream[:, None] * grads

            return values, grad_fn

        return inner(flats)

    return batched


def value_and_gradient(fn: Callable, x: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
    with tf.GradientTape() as tape:
        tape.watch(x)
        value = fn(x)
    return value, tape.gradient(value, x, unconnected_gradients=tf.UnconnectedGradients.ZERO)


def stop_gradient(x: Any) -> Any:
    return tf.stop_gradient(x)


def while_loop(cond_fn: Callable, body_fn: Callable, state: Any) -> Any:
    return tf.while_loop(cond_fn, body_fn, state)


def cond(predicate: Any, true_fn: Callable, false_fn: Callable) -> Any:
    return tf.cond(predicate, true_fn, false_fn)


def scan(fn: Callable, xs: Any, initial: Any) -> Any:
    """``out[t] = fn(out[t-1], xs[t])`` along the leading axis, ``out[-1] = initial``."""
    return tf.scan(fn, xs, initializer=initial)


def write(buffer: tf.Tensor, index: Any, value: tf.Tensor) -> tf.Tensor:
    """``buffer`` with ``buffer[index] = value``."""
    return tf.tensor_scatter_nd_update(buffer, [[index]], value[None])


def gather(x: tf.Tensor, indices: tf.Tensor, axis: int) -> tf.Tensor:
    return tf.gather(x, indices, axis=axis)


def getitem(x: tf.Tensor, basic: tuple, advanced: dict[int, tf.Tensor]) -> tf.Tensor:
    """Index ``x``: ``basic`` is a tuple of ints/slices/None/Ellipsis applied first;
    ``advanced`` maps result axes to integer index tensors applied with gather
    (all must share one broadcast shape)."""
    out = x[basic] if basic else x
    if not advanced:
        return out
    if len(advanced) == 1:
        ((axis, index),) = advanced.items()
        return tf.gather(out, index, axis=axis)
    axes = sorted(advanced)
    moved = tf.experimental.numpy.moveaxis(out, axes, list(range(len(axes))))
    index = tf.stack(_broadcast_all([advanced[a] for a in axes]), axis=-1)
    gathered = tf.gather_nd(moved, index)
    start = axes[0]
    if axes == list(range(start, start + len(axes))) and start > 0:
        ndim_index = len(index.shape) - 1
        perm = list(range(ndim_index, ndim_index + start)) + list(range(ndim_index)) + list(
            range(ndim_index + start, len(gathered.shape))
        )
        gathered = tf.transpose(gathered, perm)
    return gathered


def _broadcast_all(tensors: Sequence[tf.Tensor]) -> list[tf.Tensor]:
    shape = tensors[0].shape
    for t in tensors[1:]:
        shape = tf.broadcast_static_shape(shape, t.shape)
    return [tf.broadcast_to(t, shape) for t in tensors]


@tf.custom_gradient
def _softplus(x: tf.Tensor) -> Any:
    """``log(1 + exp(x))`` as ``max(x, 0) + log1p(exp(-|x|))``, with the sigmoid as its
    gradient from the same exponential (cheaper under XLA than ``tf.math.softplus``)."""
    e = tf.exp(-tf.abs(x))
    sigmoid = tf.where(x >= 0, tf.ones_like(e), e) / (1.0 + e)

    def grad(upstream: tf.Tensor) -> tf.Tensor:
        return upstream * sigmoid

    return tf.maximum(x, tf.zeros_like(x)) + tf.math.log1p(e), grad


class special:  # noqa: N801 - a namespace, like scipy.special
    lgamma = staticmethod(tf.math.lgamma)
    digamma = staticmethod(tf.math.digamma)
    erf = staticmethod(tf.math.erf)
    erfc = staticmethod(tf.math.erfc)
    ndtr = staticmethod(lambda x: 0.5 * tf.math.erfc(-x * 0.7071067811865476))
    log_ndtr = staticmethod(lambda x: tfd.Normal(tf.zeros([], x.dtype), 1.0).log_cdf(x))
    ndtri = staticmethod(tf.math.ndtri)
    sigmoid = staticmethod(tf.math.sigmoid)
    log_sigmoid = staticmethod(tf.math.log_sigmoid)
    softplus = staticmethod(_softplus)
    logsumexp = staticmethod(tf.reduce_logsumexp)
    softmax = staticmethod(tf.nn.softmax)
    log_softmax = staticmethod(tf.nn.log_softmax)
    lbeta = staticmethod(tfp.math.lbeta)
    xlogy = staticmethod(tf.math.xlogy)


def _matvec(a: tf.Tensor, b: tf.Tensor) -> tf.Tensor:
    """``a @ b`` for a matrix and a vector; ``tf.linalg.matvec`` otherwise. The gradient in
    ``b`` is the row vector ``g @ a``: vectorised over chains it is one product of the
    (chains, N) gradients with ``a`` (N, D), a product XLA:CPU runs as one fast kernel,
    where TensorFlow's own gradient (``a^T @ g``) needs the (N, chains) transpose."""
    if a.shape.rank != 2 or b.shape.rank != 1:
        return tf.linalg.matvec(a, b)

    @tf.custom_gradient
    def product(a: tf.Tensor, b: tf.Tensor) -> Any:
        def grad(upstream: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
            row = tf.matmul(upstream[None, :], a)[0]
            return upstream[:, None] * b[None, :], row

        return tf.linalg.matvec(a, b), grad

    return product(a, b)


class linalg:  # noqa: N801
    cholesky = staticmethod(tf.linalg.cholesky)
    solve = staticmethod(tf.linalg.solve)
    triangular_solve = staticmethod(tf.linalg.triangular_solve)
    inv = staticmethod(tf.linalg.inv)
    det = staticmethod(tf.linalg.det)
    slogdet = staticmethod(tf.linalg.slogdet)
    logdet = staticmethod(tf.linalg.logdet)
    diag_part = staticmethod(tf.linalg.diag_part)
    diag = staticmethod(tf.linalg.diag)
    matvec = staticmethod(_matvec)


def make_seed(seed: int | None) -> tf.Tensor:
    """A stateless seed (two int32 values) from a Python int or None."""
    if seed is None:
        seed = int(numpy.random.SeedSequence().generate_state(1)[0] % (2**31 - 1))
    return tf.constant([int(seed) % (2**31 - 1), 0], dtype=tf.int32)


_PHILOX = tf.random.Algorithm.PHILOX.value


_SPLIT_STREAM = 2**63  # the counter's high word of a split: apart from every draw's stream


@tf.autograph.experimental.do_not_convert  # plain ops: nothing to convert
def split_seed(seed: tf.Tensor, n: int = 2) -> tf.Tensor:
    """``n`` new seeds, stacked: shape (n, 2): Philox keyed by ``seed`` on a stream of its
    own, the seed used as it is (TFP's ``split_seed`` first scrambles it with ten more
    Philox rounds: about 270 XLA instructions per split, a sixth of a NUTS loop's
    program). The children are keys that :func:`uniform` and :func:`normal` use
    directly; seeds that differ only in their low bits (``make_seed(1)``,
    ``make_seed(2)``) are distinct Philox keys, whose streams are independent."""
    key, counter = _key_counter(seed, _SPLIT_STREAM)
    return tf.raw_ops.StatelessRandomUniformFullIntV2(shape=[n, 2], key=key, counter=counter,
                                                      alg=_PHILOX, dtype=tf.int32)


@tf.autograph.experimental.do_not_convert  # plain ops: nothing to convert
def _key_counter(seed: tf.Tensor, stream: Any = 0) -> tuple[tf.Tensor, tf.Tensor]:
    """Philox key and counter of a seed (two int32) and a stream number: the seed used as
    it is (TensorFlow's own ``stateless_uniform`` would first scramble it into a key with
    ten more Philox rounds, in XLA about 270 instructions per draw: half of a NUTS loop's
    program, and of its compile time; the seeds come from :func:`split_seed`, already
    scrambled), and the stream as the counter's high word, so that the streams of one
    seed never share a counter and need no split (as on JAX: ``jax_random.py``)."""
    seed = tf.convert_to_tensor(seed, tf.int32)
    high = (tf.constant([stream], tf.uint64) if isinstance(stream, int)
            else tf.reshape(tf.cast(stream, tf.uint64), [1]))
    return (tf.reshape(tf.bitcast(seed, tf.uint64), [1]),
            tf.concat([tf.zeros([1], tf.uint64), high], 0))


@tf.autograph.experimental.do_not_convert  # plain ops: nothing to convert
def uniform(like: tf.Tensor, seed: tf.Tensor, stream: Any = 0) -> tf.Tensor:
    """Standard uniform draws of ``like``'s shape and dtype (Philox keyed by ``seed``, from
    its stream ``stream``)."""
    key, counter = _key_counter(seed, stream)
    return tf.raw_ops.StatelessRandomUniformV2(shape=tf.shape(like), key=key, counter=counter,
                                               alg=_PHILOX, dtype=like.dtype)


@tf.autograph.experimental.do_not_convert  # plain ops: nothing to convert
def normal(like: tf.Tensor, seed: tf.Tensor, stream: Any = 0) -> tf.Tensor:
    """Standard normal draws of ``like``'s shape and dtype (Philox keyed by ``seed``, from
    its stream ``stream``)."""
    key, counter = _key_counter(seed, stream)
    return tf.raw_ops.StatelessRandomNormalV2(shape=tf.shape(like), key=key, counter=counter,
                                              alg=_PHILOX, dtype=like.dtype)


@contextlib.contextmanager
def eager_scope() -> Iterator[None]:
    """Compiled functions called inside run op by op, untraced: for tiny functions called
    a few times, where tracing (about 0.3 s) costs more than it saves."""
    before = tf.config.functions_run_eagerly()
    tf.config.run_functions_eagerly(True)
    try:
        yield
    finally:
        tf.config.run_functions_eagerly(before)


class device_scope:  # noqa: N801
    """Context manager placing computations on ``device`` ("cpu", "gpu", or None)."""

    def __init__(self, device: str | None) -> None:
        self._scope = tf.device(f"/{device.upper()}:0") if device else None

    def __enter__(self) -> None:
        if self._scope is not None:
            self._scope.__enter__()

    def __exit__(self, *exc: Any) -> None:
        if self._scope is not None:
            self._scope.__exit__(*exc)
