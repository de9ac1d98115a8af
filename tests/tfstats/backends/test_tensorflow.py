"""The TensorFlow backend's own kernels: ``linalg.matvec``'s gradient (written as a row
vector times the matrix, so that vectorised over chains it is one product XLA runs fast)
equals TensorFlow's, in each argument, alone and under ``tf.vectorized_map``;
``map_values`` unrolls a few values and loops over more, with the same values and
gradients under XLA."""

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


def test_seeded_draws_without_key_scrambling() -> None:
    """``split_seed``, ``uniform`` and ``normal`` key Philox by the seed itself: the same
    seeds compiled by XLA and run as a graph (XLA turns bits into floats its own way, as
    for TensorFlow's own stateless ops), distinct seeds from a split, and draws of the
    right distribution (moments within 5 Monte Carlo standard errors)."""
    seed = tfb.make_seed(7)
    seeds = tfb.split_seed(seed, 3).numpy()
    assert seeds.shape == (3, 2) and len({tuple(s) for s in seeds}) == 3
    np.testing.assert_array_equal(
        tf.function(tfb.split_seed, jit_compile=True)(seed, 3), seeds)
    like = tf.zeros((20_000,), tf.float64)
    u, z = tfb.uniform(like, seeds[0]).numpy(), tfb.normal(like, seeds[1]).numpy()
    assert u.dtype == np.float64 and u.min() >= 0.0 and u.max() < 1.0
    n = len(u)
    assert abs(u.mean() - 0.5) < 5 * (1 / 12) ** 0.5 / n**0.5
    assert abs(z.mean()) < 5 / n**0.5 and abs(z.var() - 1.0) < 5 * 2**0.5 / n**0.5
    assert abs(np.corrcoef(u, tfb.uniform(like, seeds[2]).numpy())[0, 1]) < 5 / n**0.5
    assert tfb.uniform(tf.zeros((2, 3), tf.float32), seed).dtype == tf.float32


def test_one_chain_gradient_equals_the_vectorised_one() -> None:
    """A batch of one (parallel chains) skips the vectorised map: same values, gradients."""
    def density(flat: tf.Tensor, data: tf.Tensor) -> tf.Tensor:
        return -tf.reduce_sum((data - flat[0]) ** 2) * tf.exp(-flat[1])

    fn = tfb.vectorize_value_and_gradient(density)
    data = tf.constant([0.5, 1.5, -1.0], tf.float64)
    flats = tf.constant([[0.3, -0.2], [1.0, 0.4]], tf.float64)
    values, grads = fn(flats, data)
    value, grad = fn(flats[:1], data)
    np.testing.assert_allclose(value, values[:1], rtol=1e-12)
    np.testing.assert_allclose(grad, grads[:1], rtol=1e-12)


@pytest.mark.parametrize("n", [3, 20])
def test_map_values_unrolls_a_few_values_and_loops_over_more(n: int) -> None:
    values = np.arange(n, dtype=np.int32)
    x = tf.constant([0.5, -1.0])

    def total(x: tf.Tensor) -> tf.Tensor:
        mapped = tfb.map_values(lambda k: tf.sin(tf.cast(k, x.dtype) * x), values)
        return tf.reduce_sum(mapped)

    def value_and_gradient(x: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        with tf.GradientTape() as tape:
            tape.watch(x)
            value = total(x)
        return value, tape.gradient(value, x)

    compiled = tf.function(value_and_gradient, jit_compile=True, autograph=False)
    value, gradient = compiled(x)
    k = values[:, None].astype(float)
    np.testing.assert_allclose(value, np.sin(k * x.numpy()).sum(), rtol=1e-6)
    np.testing.assert_allclose(gradient, (k * np.cos(k * x.numpy())).sum(0), rtol=1e-6)
    ops = {op.type for op in tf.function(total).get_concrete_function(x).graph.get_operations()}
    assert ("While" in ops or "StatelessWhile" in ops) == (n > tfb.UNROLLED_VALUES)
    assert tfb.maps_in_a_loop(n) == (n > tfb.UNROLLED_VALUES)
