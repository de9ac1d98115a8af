"""The compiled multi-step train functions: the same updates as plain mini-batch training."""

import gc
import weakref

import keras
import numpy as np
import pytest
import tensorflow as tf

from estimators.neural import DNNClassifier
from estimators.neural.steps import (
    memory_train_function,
    micro_batch_train_function,
    single_thread_friendly,
)

N, D, SIZE = 45, 3, 8  # 6 mini-batches per epoch, the last one of 5 rows


def linear_model(weights: list[np.ndarray] | None = None) -> keras.Model:
    inp = keras.Input((D,))
    model = keras.Model(inp, keras.layers.Dense(1)(inp))
    model.compile(keras.optimizers.SGD(0.05), "mse", metrics=["mae"])
    if weights is not None:
        model.set_weights(weights)
    return model


def data(seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(N, D)).astype("float32")
    y = (X @ np.array([1.0, -2.0, 0.5]) + 0.1 * rng.normal(size=N)).astype("float32")
    w = rng.uniform(0.5, 2.0, N).astype("float32")
    return X, y, w


def reference_fit(weights, X, y, w, order_of_epoch, epochs):
    """Plain Keras, one ``train_on_batch`` per mini-batch, in the given row order."""
    model = linear_model(weights)
    for epoch in range(epochs):
        order = order_of_epoch(epoch)
        for lo in range(0, N, SIZE):
            rows = order[lo : lo + SIZE]
            model.train_on_batch(X[rows], y[rows], sample_weight=w[rows])
    return model


@pytest.mark.parametrize("steps_per_call", [1, 4, 6, 50])
def test_memory_function_applies_the_plain_updates_in_order(steps_per_call):
    X, y, w = data()
    start = linear_model().get_weights()
    model = linear_model(start)
    fn, calls = memory_train_function(model, (X, y, w), size=SIZE,
                                      steps_per_call=steps_per_call, seed=7, first_epoch=3)
    assert calls == -(-6 // min(steps_per_call, 6))
    model.train_function = fn
    model.fit(fn.call_indices(), steps_per_epoch=calls, epochs=2, shuffle=False, verbose=0)

    def order(epoch):  # the permutation the function uses for (seed, first_epoch + epoch)
        return tf.random.experimental.stateless_shuffle(
            tf.range(N, dtype=tf.int32), seed=tf.constant([7, 3 + epoch], tf.int64)).numpy()

    ref = reference_fit(start, X, y, w, order, epochs=2)
    assert int(model.optimizer.iterations) == 12
    for got, want in zip(model.get_weights(), ref.get_weights(), strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
    assert not np.allclose(order(0), order(1))  # each epoch its own order


def test_later_calls_on_the_same_model_reuse_the_loop_for_any_rows(monkeypatch):
    """A warm start or ``partial_fit``: the loop is traced once per model and mini-batch
    size (the rows are an input), and the updates on new rows are still the plain ones; a
    model compiled again (a new optimizer) gets a loop of its own."""
    import estimators.neural.steps as steps

    traced = []
    monkeypatch.setattr(steps, "_loop", lambda n, body, _loop=steps._loop: (
        traced.append(1), _loop(n, body))[1])
    X, y, w = data(2)
    start = linear_model().get_weights()
    model, ref = linear_model(start), linear_model(start)
    first = 0
    for call, (rows, seed) in enumerate(((slice(0, N), 4), (slice(0, 21), 5),
                                         (slice(10, 13), 6))):
        part = (X[rows], y[rows], w[rows])
        n = len(part[1])
        fn, calls = memory_train_function(model, part, size=SIZE, steps_per_call=50,
                                          seed=seed)
        model.train_function = fn
        model.fit(fn.call_indices(), steps_per_epoch=calls, epochs=1, shuffle=False,
                  verbose=0)
        order = tf.random.experimental.stateless_shuffle(
            tf.range(n, dtype=tf.int32), seed=tf.constant([seed, 0], tf.int64)).numpy()
        for lo in range(0, n, SIZE):
            batch = order[lo : lo + SIZE]
            ref.train_on_batch(part[0][batch], part[1][batch], sample_weight=part[2][batch])
        first = first if call else len(traced)  # Keras' first trace builds variables
    assert len(traced) == first
    assert int(model.optimizer.iterations) == 6 + 3 + 1
    for got, want in zip(model.get_weights(), ref.get_weights(), strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
    model.compile(keras.optimizers.SGD(0.05), "mse")
    memory_train_function(model, (X, y, w), size=SIZE, steps_per_call=50)
    assert len(traced) > first


def test_the_loop_kept_for_later_calls_does_not_keep_the_model_alive():
    X, y, w = data(3)
    model = linear_model()
    fn, calls = memory_train_function(model, (X, y, w), size=SIZE, steps_per_call=50)
    model.train_function = fn
    model.fit(fn.call_indices(), steps_per_epoch=calls, epochs=1, shuffle=False, verbose=0)
    alive = weakref.ref(model)
    del model, fn
    gc.collect()
    assert alive() is None


def test_element_function_applies_the_plain_updates_in_order():
    X, y, w = data(1)
    start = linear_model().get_weights()
    model = linear_model(start)
    model.train_function = micro_batch_train_function(model, SIZE)
    ds = tf.data.Dataset.from_tensor_slices((X, y, w)).batch(4 * SIZE)
    model.fit(ds, epochs=1, shuffle=False, verbose=0)
    ref = reference_fit(start, X, y, w, lambda epoch: np.arange(N), epochs=1)
    assert int(model.optimizer.iterations) == 6
    for got, want in zip(model.get_weights(), ref.get_weights(), strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)


def test_single_threaded_executor_only_without_control_flow():
    plain = tf.function(lambda x: tf.matmul(x, x) + 1.0)
    cond = tf.function(lambda x: tf.cond(tf.reduce_sum(x) > 0, lambda: x, lambda: -x))
    spec = tf.TensorSpec((2, 2))
    assert single_thread_friendly(plain.get_concrete_function(spec).graph)
    assert not single_thread_friendly(cond.get_concrete_function(spec).graph)


def test_xla_step_trains_like_the_default():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 4)).astype("float32")
    y = (X[:, 0] - X[:, 1] > 0).astype(int)
    kwargs = dict(hidden_units=[8], epochs=3, batch_size=32, random_state=0)
    plain = DNNClassifier(**kwargs).fit(X, y)
    xla = DNNClassifier(jit_compile=True, **kwargs).fit(X, y)
    assert int(xla.model_.optimizer.iterations) == 3 * 10
    np.testing.assert_allclose(xla.predict_proba(X), plain.predict_proba(X), atol=1e-3)


def test_large_steps_keep_the_default_executor():
    graph = tf.function(lambda x: tf.matmul(x, x)).get_concrete_function(
        tf.TensorSpec((2, 2))).graph
    assert single_thread_friendly(graph, work=1e6)
    assert not single_thread_friendly(graph, work=1e9)
