"""A traced ``tf.function`` exported as its graph and imported again (``tf_graphs``): the
imported function gives the traced one's outputs, nested alike, with its loops' functions
renamed; graphs that cannot stand alone are not exported; the name counter is advanced
to a multiple of ``NAME_STEP`` whatever it was."""

from __future__ import annotations

import numpy as np
import pytest

tf = pytest.importorskip("tensorflow")

from tfstats.backends.tf_graphs import (  # noqa: E402
    NAME_STEP,
    advance_names,
    export_graph,
    import_graph,
)


def _loop(x: tf.Tensor, settings: dict) -> tuple:
    """A while loop with a branch in it, outputs nested in a tuple and a dict."""

    def body(i: tf.Tensor, total: tf.Tensor) -> tuple:
        step = tf.cond(total[0] > 10.0, lambda: total * 0.5, lambda: total + settings["add"])
        return i + 1, step

    _, total = tf.while_loop(lambda i, t: i < settings["n"], body, (tf.constant(0), x))
    return total, {"sum": tf.reduce_sum(total), "pair": [x * 2.0, total - x]}


def _args(n: int = 7) -> tuple:
    return tf.constant([1.0, 2.0, 3.0]), {"add": tf.constant(1.5), "n": tf.constant(n)}


_TRACED = tf.function(_loop, jit_compile=True, autograph=False)


def _exported() -> tuple[dict, bytes]:
    """The graph of a new trace of ``_loop``."""
    traced = tf.function(_loop, jit_compile=True, autograph=False)
    exported = export_graph(traced.get_concrete_function(*_args()), _args())
    assert exported is not None
    return exported


def test_the_imported_graph_computes_what_the_traced_function_does() -> None:
    header, body = _exported()
    imported = import_graph(header, body, _args())
    expected = _loop(*_args())  # eagerly
    for n in (7, 0, 30):  # the loop count is an argument, not a constant
        got = imported(*_args(n))
        want = _loop(*_args(n))
        assert isinstance(got, tuple) and set(got[1]) == {"sum", "pair"}
        assert isinstance(got[1]["pair"], list)
        for a, b in zip(tf.nest.flatten(got), tf.nest.flatten(want), strict=True):
            np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-6)
    assert tf.nest.flatten(expected)[0].shape == (3,)
    retraced = _exported()  # its functions differ in order and arguments' names
    assert retraced[1] != body
    again = import_graph(*retraced, _args())  # in the same process: no clash of names
    np.testing.assert_allclose(again(*_args())[0].numpy(), imported(*_args())[0].numpy())


def test_the_library_functions_are_renamed_and_the_devices_cleared() -> None:
    header, body = export_graph(_TRACED.get_concrete_function(*_args()), _args())
    graph = tf.compat.v1.GraphDef.FromString(body)
    names = [f.signature.name for f in graph.library.function]
    assert len(names) >= 3  # the loop's condition and body, the branches
    prefix = names[0].rsplit("_", 1)[0]
    assert prefix.startswith("tfstats_") and len(prefix) == len("tfstats_") + 16
    assert sorted(names) == sorted(f"{prefix}_{i}" for i in range(len(names)))
    again = export_graph(_TRACED.get_concrete_function(*_args()), _args())
    assert again[1] == body  # named by content: the same graph, the same names
    called = {a.func.name for node in graph.node for a in node.attr.values() if a.func.name}
    called |= {a.func.name for f in graph.library.function for node in f.node_def
               for a in node.attr.values() if a.func.name}
    assert called and called <= set(names)
    assert all(node.device == "" for node in graph.node)
    assert header["name"] and len(header["inputs"]) == 3 and len(header["outputs"]) == 4


def test_graphs_that_do_not_stand_alone_are_not_exported() -> None:
    weight = tf.Variable(2.0)
    captured = tf.function(lambda x: x * weight, jit_compile=True)
    x = tf.ones(3)
    assert export_graph(captured.get_concrete_function(x), (x,)) is None
    with_none = tf.function(lambda x: (x, None), jit_compile=True)
    assert export_graph(with_none.get_concrete_function(x), (x,)) is None
    with_int_key = tf.function(lambda x: {1: x}, jit_compile=True)
    assert export_graph(with_int_key.get_concrete_function(x), (x,)) is None


def test_names_are_advanced_to_the_next_multiple() -> None:
    from tensorflow.python.framework import ops

    advance_names()
    first = ops.uid()
    for _ in range(123):
        ops.uid()
    advance_names()
    second = ops.uid()
    assert first % NAME_STEP == 1 and second == first + NAME_STEP
