"""CompiledAhead (TensorFlow): traced on the caller, XLA-compiled once per signature in a
background thread, shared by concurrent callers; an XLA error raised there is raised by
the first call, and a later start compiles again."""

from __future__ import annotations

import threading

import numpy as np
import pytest

tf = pytest.importorskip("tensorflow")

from tfstats.backends.tf_ahead import CompiledAhead, signature  # noqa: E402


def test_one_compilation_per_signature_shared_by_concurrent_callers() -> None:
    traces = []

    def fn(x: tf.Tensor, y: dict) -> tf.Tensor:
        traces.append(threading.current_thread().name)
        return x * y["a"]

    f = CompiledAhead(tf.function(fn, jit_compile=True, autograph=False))
    args = (tf.ones(4), {"a": tf.constant(3.0)})
    future = f.start(*args)
    assert traces == [threading.current_thread().name]  # traced on the caller
    assert f.start(*args) is future  # started already: nothing more
    results = []
    callers = [threading.Thread(target=lambda: results.append(f(*args).numpy()))
               for _ in range(3)]
    for caller in callers:
        caller.start()
    for caller in callers:
        caller.join(timeout=60)
    assert len(results) == 3 and all(np.allclose(r, 3.0) for r in results)
    assert f.compilations == 1 and len(traces) == 1 and not f.compiling
    assert np.allclose(f(tf.ones(5), {"a": tf.constant(2.0)}), 2.0)  # a new shape
    assert f.compilations == 1  # compiled at its call, as a plain tf.function


def test_an_xla_error_in_the_background_is_raised_by_the_first_call_then_retried() -> None:
    def host_sin(x: tf.Tensor) -> tf.Tensor:  # not compilable by XLA
        return tf.numpy_function(np.sin, [x], tf.float32, stateful=False)

    f = CompiledAhead(tf.function(host_sin, jit_compile=True, autograph=False))
    x = tf.ones(3)
    f.start(x).exception(timeout=60)  # the background compilation failed
    with pytest.raises(tf.errors.InvalidArgumentError, match="(?i)compil|xla"):
        f(x)
    f.start(x)  # tried again in a new thread
    assert f.compilations == 2
    with pytest.raises(tf.errors.InvalidArgumentError):
        f(x)


def test_signature_tells_shapes_dtypes_and_structure_apart() -> None:
    a = signature((tf.zeros((2, 3)), {"k": tf.constant(1)}))
    assert a == signature((tf.ones((2, 3)), {"k": tf.constant(7)}))  # values do not count
    assert a != signature((tf.zeros((2, 4)), {"k": tf.constant(1)}))
    assert a != signature((tf.zeros((2, 3), tf.float64), {"k": tf.constant(1)}))
    assert a != signature((tf.zeros((2, 3)), {"j": tf.constant(1)}))
