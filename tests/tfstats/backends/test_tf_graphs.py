"""A traced ``tf.function`` exported as its graph and imported again (``tf_graphs``): the
imported function gives the traced one's outputs, nested alike, with its loops' functions
renamed; graphs that cannot stand alone are not exported; the name counter is advanced
to a multiple of ``NAME_STEP`` whatever it was."""

from __future__ import annotations

import numpy as np
import pytest

tf = pytest.importorskip("tensorflow")

from tests.tfstats.backends.loops import loop, loop_args  # noqa: E402
from tfstats.backends.tf_graphs import (  # noqa: E402
    NAME_STEP,
    advance_names,
    export_graph,
    import_graph,
)

_TRACED = tf.function(loop, jit_compile=True, autograph=False)


def _exported() -> tuple[dict, bytes]:
    """The graph of a new trace of ``loop``."""
    traced = tf.function(loop, jit_compile=True, autograph=False)
    exported = export_graph(traced.get_concrete_function(*loop_args()), loop_args())
    assert exported is not None
    return exported


def test_the_imported_graph_computes_what_the_traced_function_does() -> None:
    header, body = _exported()
    imported = import_graph(header, body, loop_args())
    expected = loop(*loop_args())  # eagerly
    for n in (7, 0, 30):  # the loop count is an argument, not a constant
        got = imported(*loop_args(n))
        want = loop(*loop_args(n))
        assert isinstance(got, tuple) and set(got[1]) == {"sum", "pair"}
        assert isinstance(got[1]["pair"], list)
        for a, b in zip(tf.nest.flatten(got), tf.nest.flatten(want), strict=True):
            np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-6)
    assert tf.nest.flatten(expected)[0].shape == (3,)
    retraced = _exported()  # its functions differ in order and arguments' names
    assert retraced[1] != body
    again = import_graph(*retraced, loop_args())  # in the same process: no clash of names
    np.testing.assert_allclose(again(*loop_args())[0].numpy(), imported(*loop_args())[0].numpy())


def test_the_library_functions_are_renamed_and_the_devices_cleared() -> None:
    header, body = export_graph(_TRACED.get_concrete_function(*loop_args()), loop_args())
    graph = tf.compat.v1.GraphDef.FromString(body)
    names = [f.signature.name for f in graph.library.function]
    assert len(names) >= 3  # the loop's condition and body, the branches
    prefix = names[0].rsplit("_", 1)[0]
    assert prefix.startswith("tfstats_") and len(prefix) == len("tfstats_") + 16
    assert sorted(names) == sorted(f"{prefix}_{i}" for i in range(len(names)))
    again = export_graph(_TRACED.get_concrete_function(*loop_args()), loop_args())
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
