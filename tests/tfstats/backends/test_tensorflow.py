"""The TensorFlow backend's own kernels: ``linalg.matvec``'s gradient (written as a row
vector times the matrix, so that vectorised over chains it is one product XLA runs fast)
equals TensorFlow's, in each argument, alone and under ``tf.vectorized_map``."""

from __future__ import annotations

import numpy as np
import pytest

tf = pytest.importorskip("tensorflow")

from tfstats.backends import tensorflow as tfb  # noqa: E402


def _grads(matvec, a: tf.Tensor, b: tf.Tensor, weights: tf.Tensor) -> list[tf.Tensor]:
    with tf.GradientTape() as tape:
        tape.watch([a, b])
        value = tf.reduce_sum(weights * tf.sin(matvec(a, b)))
    return tape.gradient(value, [a, b])


def test_matvec_value_and_gradients_match_tensorflow() -> None:
    rng = np.random.default_rng(3)
    a = tf.constant(rng.normal(size=(7, 3)))
    b = tf.constant(rng.normal(size=3))
    weights = tf.constant(rng.normal(size=7))
    np.testing.assert_allclose(tfb.linalg.matvec(a, b), tf.linalg.matvec(a, b), rtol=1e-12)
    for ours, theirs in zip(_grads(tfb.linalg.matvec, a, b, weights),
                            _grads(tf.linalg.matvec, a, b, weights), strict=True):
        np.testing.assert_allclose(ours, theirs, rtol=1e-12)


def test_matvec_gradient_vectorised_over_a_batch_of_vectors() -> None:
    rng = np.random.default_rng(4)
    a = tf.constant(rng.normal(size=(50, 4)), tf.float32)
    batch = tf.constant(rng.normal(size=(5, 4)), tf.float32)

    def per_item(matvec):
        def fn(b: tf.Tensor) -> tf.Tensor:
            with tf.GradientTape() as tape:
                tape.watch(b)
                value = -tf.reduce_sum(tf.math.softplus(matvec(a, b)))
            return tape.gradient(value, b)
        return tf.function(lambda bs: tf.vectorized_map(fn, bs), jit_compile=True)

    np.testing.assert_allclose(per_item(tfb.linalg.matvec)(batch),
                               per_item(tf.linalg.matvec)(batch), rtol=1e-5)


def test_matvec_batched_operands_fall_back_to_tensorflow() -> None:
    a = tf.ones((2, 3, 4))
    b = tf.ones((2, 4))
    np.testing.assert_allclose(tfb.linalg.matvec(a, b), np.full((2, 3), 4.0))
