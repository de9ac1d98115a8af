"""A traced ``tf.function`` kept as its XLA program (``tf_modules``): the module made of
TensorFlow's HLO computes what the function does, nested alike; functions that cannot
stand alone, or a process without JAX's libraries, keep none; a kept graph's file is not
read as a module."""

from __future__ import annotations

import sys

import numpy as np
import pytest

tf = pytest.importorskip("tensorflow")
pytest.importorskip("jax")

from tests.tfstats.backends.loops import loop, loop_args  # noqa: E402
from tfstats.backends.tf_modules import KIND, export_module, import_module  # noqa: E402


def test_the_module_computes_what_the_traced_function_does() -> None:
    traced = tf.function(loop, jit_compile=True, autograph=False)
    header, body = export_module(traced, loop_args())
    assert header["kind"] == KIND and len(header["outputs"]) == 4
    imported = import_module(header, body, loop_args())
    for n in (7, 0, 30):  # the loop count is an argument, not a constant
        got = imported(*loop_args(n))
        want = loop(*loop_args(n))  # eagerly
        assert isinstance(got, tuple) and set(got[1]) == {"sum", "pair"}
        assert isinstance(got[1]["pair"], list)
        for a, b in zip(tf.nest.flatten(got), tf.nest.flatten(want), strict=True):
            np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-6)
    assert "XlaCallModule" in {op.type for op in
                               imported.compiled.get_concrete_function(
                                   *imported.specs).graph.get_operations()}


def test_functions_that_do_not_stand_alone_keep_no_module() -> None:
    weight = tf.Variable(2.0)
    x = tf.ones(3)
    for fn in (lambda x: x * weight, lambda x: (x, None), lambda x: {1: x}):
        assert export_module(tf.function(fn, jit_compile=True), (x,)) is None


def test_no_module_without_jax(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "jax._src.lib", None)  # its import fails
    traced = tf.function(loop, jit_compile=True, autograph=False)
    assert export_module(traced, loop_args()) is None


def test_a_graphs_file_or_a_damaged_module_is_not_read() -> None:
    """Checked when read: TensorFlow itself would fail only when it compiles."""
    with pytest.raises(ValueError, match="not a kept XLA module"):
        import_module({"inputs": [], "outputs": []}, b"a graph", loop_args())
    header, body = export_module(tf.function(loop, jit_compile=True), loop_args())
    damaged = body[:100] + bytes([body[100] ^ 1]) + body[101:]
    for wrong in (damaged, body[:-10], b"not a module"):
        with pytest.raises(ValueError, match="does not match its digest"):
            import_module(header, wrong, loop_args())
