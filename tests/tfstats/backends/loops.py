"""A small traced loop for the tests of kept TensorFlow functions (``tf_graphs``,
``tf_modules``): a while loop with a branch in it, outputs nested in a tuple and a dict."""

from __future__ import annotations

import tensorflow as tf


def loop(x: tf.Tensor, settings: dict) -> tuple:
    """``settings["n"]`` steps of adding ``settings["add"]`` (halving past 10)."""

    def body(i: tf.Tensor, total: tf.Tensor) -> tuple:
        step = tf.cond(total[0] > 10.0, lambda: total * 0.5, lambda: total + settings["add"])
        return i + 1, step

    _, total = tf.while_loop(lambda i, t: i < settings["n"], body, (tf.constant(0), x))
    return total, {"sum": tf.reduce_sum(total), "pair": [x * 2.0, total - x]}


def loop_args(n: int = 7) -> tuple:
    """Arguments of :func:`loop`; the step count ``n`` is a tensor (not a constant)."""
    return tf.constant([1.0, 2.0, 3.0]), {"add": tf.constant(1.5), "n": tf.constant(n)}
