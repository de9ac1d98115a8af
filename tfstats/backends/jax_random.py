"""Standard uniform and normal draws on JAX from one Threefry hash per call.

A draw is keyed by a seed (a raw ``uint32[2]`` key) and a ``stream`` number: the
Threefry-2x32 counters of stream ``s`` are the pairs ``(i, s)``, so the streams of one key
never share a counter, and a sampler derives many independent draws from one key
(one per leaf of a NUTS tree, per try of the step-size search) by numbering them, with
no key split between them. ``jax.random.split`` and ``fold_in`` each cost a Threefry hash
of their own: in a compiled NUTS loop every hash is about 100 HLO instructions, and the
hashes were half of the loop's XLA compile time (``docs/performance_mcmc.md``, "A smaller
sampling loop"). The same numbering selects Philox's counter on TensorFlow
(``backends/tensorflow.py``).
"""

from __future__ import annotations

import math
from typing import Any

import jax
import jax.numpy as jnp
import numpy
from jax import lax
from jax.extend.random import threefry_2x32

__all__ = ["uniform", "normal", "seed_key", "split_key"]

_ROTATIONS = ((13, 15, 26, 6), (17, 29, 16, 24))
_PARITY = 0x1BD11BDA


def _threefry_2x32(key: numpy.ndarray, x0: numpy.ndarray, x1: numpy.ndarray
                   ) -> tuple[numpy.ndarray, numpy.ndarray]:
    """Threefry-2x32 (20 rounds) of the counter words ``x0, x1`` under ``key``, in numpy:
    the hash ``jax.extend.random.threefry_2x32`` computes, without compiling a program."""
    k = [numpy.uint32(key[0]), numpy.uint32(key[1])]
    k.append(k[0] ^ k[1] ^ numpy.uint32(_PARITY))
    x = [x0.astype(numpy.uint32) + k[0], x1.astype(numpy.uint32) + k[1]]
    for block in range(5):
        for r in _ROTATIONS[block % 2]:
            x[0] = x[0] + x[1]
            x[1] = (x[1] << numpy.uint32(r)) | (x[1] >> numpy.uint32(32 - r))
            x[1] = x[0] ^ x[1]
        x[0] = x[0] + k[(block + 1) % 3]
        x[1] = x[1] + k[(block + 2) % 3] + numpy.uint32(block + 1)
    return x[0], x[1]


def seed_key(seed: int) -> numpy.ndarray:
    """``jax.random.PRNGKey(seed)``'s raw key (Threefry: the seed's high and low words),
    for a seed in [0, 2**32), made in numpy: an eager ``PRNGKey`` compiles a program
    (about 0.07 s of a process's first fit)."""
    return numpy.array([0, seed], dtype=numpy.uint32)


def split_key(key: Any, n: int) -> numpy.ndarray:
    """``jax.random.split(key, n)`` of a concrete raw Threefry key, in numpy (bit for bit:
    JAX's partitionable split hashes the counters ``(0, i)``); eagerly JAX compiles a
    program for it (about 0.1 s of a process's first fit).

    Examples
    --------
    >>> import jax
    >>> key = jax.random.PRNGKey(7)
    >>> bool((split_key(key, 3) == numpy.asarray(jax.random.split(key, 3))).all())
    True
    """
    with numpy.errstate(over="ignore"):
        hi, lo = _threefry_2x32(numpy.asarray(key), numpy.zeros(n, numpy.uint32),
                                numpy.arange(n, dtype=numpy.uint32))
    return numpy.stack([hi, lo], axis=-1)


def _bits(seed: Any, shape: tuple[int, ...], width: int, stream: Any) -> Any:
    """Random unsigned integers of ``width`` (32 or 64) bits and ``shape``."""
    n = math.prod(shape)
    words = n * (width // 32)
    pairs = max((words + 1) // 2, 1)
    counts = jnp.concatenate([lax.iota(jnp.uint32, pairs),
                              jnp.full((pairs,), stream, dtype=jnp.uint32)])
    key = jax.random.key_data(seed) if jnp.issubdtype(seed.dtype, jax.dtypes.prng_key) \
        else jnp.asarray(seed, jnp.uint32)
    out = threefry_2x32(key, counts)[:words]
    if width == 64:
        out = lax.bitcast_convert_type(out.reshape(n, 2), jnp.uint64)
    return out.reshape(shape)


def _unit(seed: Any, shape: tuple[int, ...], dtype: Any, stream: Any) -> Any:
    """Uniform in [0, 1): the mantissa bits of a float in [1, 2), minus 1 (as
    ``jax.random.uniform``)."""
    info = jnp.finfo(dtype)
    width = info.bits
    unsigned = jnp.uint64 if width == 64 else jnp.uint32
    bits = _bits(seed, shape, 64 if width == 64 else 32, stream)
    if width < 32:  # float16 / bfloat16: draw float32
        return _unit(seed, shape, jnp.float32, stream).astype(dtype)
    one = lax.bitcast_convert_type(jnp.ones((), dtype), unsigned)
    mantissa = bits >> jnp.asarray(width - info.nmant, unsigned)
    return lax.bitcast_convert_type(mantissa | one, dtype) - jnp.ones((), dtype)


def uniform(like: Any, seed: Any, stream: Any = 0) -> Any:
    """Standard uniform draws of ``like``'s shape and dtype, from ``seed``'s ``stream``.

    Examples
    --------
    >>> import jax, jax.numpy as jnp
    >>> key = jax.random.PRNGKey(0)
    >>> a, b = uniform(jnp.zeros(3), key, 1), uniform(jnp.zeros(3), key, 2)
    >>> bool(jnp.all((a >= 0) & (a < 1))), bool(jnp.any(a != b))
    (True, True)
    """
    return _unit(seed, jnp.shape(like), jnp.result_type(like), stream)


def normal(like: Any, seed: Any, stream: Any = 0) -> Any:
    """Standard normal draws of ``like``'s shape and dtype, from ``seed``'s ``stream``, by
    the Box-Muller transform of two uniforms (as TensorFlow's stateless normal; in XLA a
    sixth of the instructions of ``jax.random.normal``'s inverse error function in float64).

    Examples
    --------
    >>> import jax, jax.numpy as jnp
    >>> z = normal(jnp.zeros(20000), jax.random.PRNGKey(1), 3)
    >>> abs(float(z.mean())) < 0.05, abs(float(z.std()) - 1) < 0.05
    (True, True)
    """
    dtype = jnp.result_type(like)
    u = _unit(seed, (2, *jnp.shape(like)), dtype, stream)
    radius = jnp.sqrt(-2.0 * jnp.log1p(-u[0]))  # 1 - u in (0, 1]: finite
    return radius * jnp.cos(jnp.asarray(2.0 * math.pi, dtype) * u[1])
