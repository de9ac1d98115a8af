"""A traced ``tf.function`` kept as its XLA program, so that a new process neither traces
it again nor converts its graph to XLA (TensorFlow's part of ``trace_store``, where JAX's
libraries are installed).

Before TensorFlow looks a jit-compiled function up in its persistent compilation cache,
it converts the function's graph to XLA's program (HLO): 0.45-0.6 s for the
eight-schools sampling loop on the AVX2 host, the largest part of a second process's wait
once the loop's graph is kept (``tf_graphs``). :func:`export_module` keeps that program
instead: TensorFlow's HLO, converted to StableHLO and serialised as a portable artifact
with jaxlib's MLIR bindings (the format ``jax.export`` writes). :func:`import_module`
makes a jit-compiled function of one ``XlaCallModule`` operation, which TensorFlow turns
into HLO in 0.13-0.14 s for the same loop. Where a module is kept (``tf_ahead``: with
TensorFlow's persistent cache on), every process, the writer included, compiles it, so
all of them give XLA the same program (under a function name advanced to a multiple of
``tf_graphs.NAME_STEP``, as for a kept graph).

Only on a CPU: the module is TensorFlow's program for the device it was converted on.
"""

from __future__ import annotations

import hashlib
from typing import Any

import tensorflow as tf
from tensorflow.compiler.tf2xla.python import xla

from tfstats.backends.tf_graphs import (
    ImportedGraph,
    advance_names,
    output_skeleton,
    standalone_structure,
)

__all__ = ["KIND", "export_module", "import_module"]

KIND = "stablehlo"  # the header's "kind" of a kept module (a kept graph has none)
_CALL_MODULE_VERSION = 9  # XlaCallModule's serialisation version (TensorFlow 2.21: up to 10)


def _digest(body: bytes) -> str:
    return hashlib.blake2b(body, digest_size=16).hexdigest()


def _on_cpu() -> bool:
    return not tf.config.list_logical_devices("GPU")


def export_module(function: Any, args: tuple) -> tuple[dict, bytes] | None:
    """The header and bytes of the XLA program of ``function`` (a ``tf.function`` with
    ``jit_compile=True``, traced for ``args``) as a StableHLO portable artifact; None
    where it cannot be kept (not on a CPU, JAX not installed, outputs other than nested
    tensors, captured tensors)."""
    if not _on_cpu():
        return None
    try:
        from jax._src.interpreters import mlir
        from jax._src.lib import _jax
        from jax._src.lib.mlir import ir
        from jax._src.lib.mlir.dialects import hlo
    except ImportError:
        return None
    concrete = function.get_concrete_function(*args)
    structure = standalone_structure(concrete, args)
    if structure is None:
        return None
    outputs = tf.nest.flatten(concrete.structured_outputs)
    program = function.experimental_get_compiler_ir(*args)(stage="hlo_serialized")
    with mlir.make_ir_context():
        module = ir.Module.parse(_jax.mlir.hlo_to_stablehlo(program))
        target = hlo.get_version_from_compatibility_requirement(
            hlo.StablehloCompatibilityRequirement.WEEK_4)
        artifact = _jax.mlir.serialize_portable_artifact(module, target, False)
    body = bytes(artifact)
    header = {"kind": KIND, "structure": structure, "name": concrete.graph.name,
              "outputs": [[list(t.shape), t.dtype.name] for t in outputs],
              "digest": _digest(body)}
    return header, body


def import_module(header: dict, body: bytes, args: tuple) -> ImportedGraph:
    """A jit-compiled function of the module :func:`export_module` wrote, for arguments
    of the signature of ``args`` (nested as they are), returning outputs nested as the
    traced function's; traced here (a few milliseconds). ValueError for another kind of
    file, a module that does not match the digest written with it, or off a CPU."""
    if header.get("kind") != KIND or not _on_cpu():
        raise ValueError("not a kept XLA module for this device")
    if header.get("digest") != _digest(body):  # else TensorFlow fails only when compiling
        raise ValueError("the kept XLA module does not match its digest")
    specs = [tf.TensorSpec(a.shape, a.dtype) for a in tf.nest.flatten(args)]
    shapes = [tf.TensorShape(shape) for shape, _ in header["outputs"]]
    dtypes = [tf.dtypes.as_dtype(dtype) for _, dtype in header["outputs"]]

    def call(*inputs: tf.Tensor) -> list[tf.Tensor]:
        return xla.call_module(list(inputs), version=_CALL_MODULE_VERSION, module=body,
                               Tout=dtypes, Sout=shapes, platforms=["CPU"])

    call.__name__ = call.__qualname__ = str(header.get("name") or "imported")
    # traced once before the names are advanced: what a process does at its first such
    # trace then does not move the name of the function that is compiled
    tf.function(call, jit_compile=True, autograph=False).get_concrete_function(*specs)
    advance_names()
    compiled = tf.function(call, jit_compile=True, autograph=False)
    return ImportedGraph(compiled, output_skeleton(header["structure"]), specs)
