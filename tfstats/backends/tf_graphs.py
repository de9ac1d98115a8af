"""A traced ``tf.function`` kept as its graph, so that a new process imports it instead of
tracing it again (TensorFlow's part of ``trace_store``).

:func:`export_graph` writes a concrete function's graph (a ``GraphDef`` with its library of
functions: the sampler's loops and branches) with the names of its inputs and outputs and
the structure of its outputs; :func:`import_graph` makes a jit-compiled function of it
(``tf.compat.v1.wrap_function`` around ``import_graph_def``, in a ``tf.function`` with
``jit_compile=True``). Importing the eight-schools sampling loop takes about 0.1 s where
tracing it takes 0.7-1.1 s.

Every process, the writer included, compiles the imported graph, so that all of them give
XLA the same program. TensorFlow's persistent compilation cache is keyed by that program
and by the name of the compiled ``tf.function``, which ends with a process-wide counter.
Two steps make both equal in the writer and in a reader:

- the library's functions are renamed (``tfstats_<digest of the graph>_<i>``): under
  their traced names, the writer would resolve them to the functions its trace
  registered, whose source locations (part of the program) no reader has; named by
  the graph's content, two graphs (a retrace differs in its functions' order and
  arguments' names) never give one name two definitions in a process;
- the counter is advanced to the next multiple of ``NAME_STEP`` before the function is
  made, so its name does not depend on how many functions the process made before
  (unless a process made more than ``NAME_STEP`` since the last multiple).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any

import tensorflow as tf

__all__ = ["NAME_STEP", "ImportedGraph", "export_graph", "import_graph", "advance_names",
           "standalone_structure", "output_skeleton"]

NAME_STEP = 100_000  # the counter of TensorFlow's function names is advanced to a multiple


def _structure(value: Any) -> Any:
    """``value``'s nesting (tuples, lists, dicts with str keys, tensors) in JSON, or
    ValueError."""
    if isinstance(value, tf.Tensor):
        return None
    if type(value) in (tuple, list):
        return {type(value).__name__: [_structure(v) for v in value]}
    if type(value) is dict and all(isinstance(k, str) for k in value):
        return {"dict": [[k, _structure(v)] for k, v in value.items()]}
    raise ValueError(f"an output of type {type(value).__name__}")


def output_skeleton(structure: Any) -> Any:
    """The nesting written by :func:`_structure`, with None for its tensors."""
    if structure is None:
        return None
    (kind, items), = structure.items()
    if kind == "dict":
        return {k: output_skeleton(v) for k, v in items}
    made = [output_skeleton(v) for v in items]
    return tuple(made) if kind == "tuple" else made


def _rename_functions(graph: Any, prefix: str) -> None:
    """Give the functions of ``graph`` (a ``GraphDef``) the names ``<prefix>_<i>``, in
    their definitions and in every node and attribute that calls them."""
    names = {f.signature.name: f"{prefix}_{i}" for i, f in enumerate(graph.library.function)}

    def attributes(attrs: Any) -> None:
        for attr in attrs.values():
            if attr.HasField("func") and attr.func.name in names:
                attr.func.name = names[attr.func.name]
            for func in attr.list.func:
                if func.name in names:
                    func.name = names[func.name]

    def nodes(node_defs: Any) -> None:
        for node in node_defs:
            node.device = ""  # placed by the caller's device scope
            if node.op in names:
                node.op = names[node.op]
            attributes(node.attr)

    nodes(graph.node)
    for function in graph.library.function:
        function.signature.name = names[function.signature.name]
        nodes(function.node_def)
        attributes(function.attr)
    for gradient in graph.library.gradient:
        gradient.function_name = names.get(gradient.function_name, gradient.function_name)
        gradient.gradient_func = names.get(gradient.gradient_func, gradient.gradient_func)


def standalone_structure(concrete: Any, args: tuple) -> Any:
    """The nesting of the outputs of ``concrete`` (a concrete function traced for
    ``args``), as :func:`export_graph` and ``tf_modules.export_module`` write it, or None
    when the function cannot be kept as a whole: captured tensors or variables,
    arguments other than tensors, outputs other than nested tensors."""
    flat = tf.nest.flatten(args)
    if concrete.captured_inputs or len(concrete.inputs) != len(flat) or not all(
            isinstance(a, tf.Tensor) for a in flat):
        return None
    try:
        structure = _structure(concrete.structured_outputs)
    except ValueError:
        return None
    if len(tf.nest.flatten(concrete.structured_outputs)) != len(concrete.outputs):
        return None
    return structure


def export_graph(concrete: Any, args: tuple) -> tuple[dict, bytes] | None:
    """The header and bytes of ``concrete``'s graph (a concrete function traced for
    ``args``), its functions renamed ``tfstats_<digest of the graph>_<i>``; None when it
    cannot be imported as a whole (captured tensors or variables, outputs other than
    nested tensors)."""
    structure = standalone_structure(concrete, args)
    if structure is None:
        return None
    graph = concrete.graph.as_graph_def()
    _rename_functions(graph, "tfstats")
    content = hashlib.blake2b(graph.SerializeToString(deterministic=True), digest_size=8)
    _rename_functions(graph, f"tfstats_{content.hexdigest()}")
    header = {"inputs": [t.name for t in concrete.inputs],
              "outputs": [t.name for t in concrete.outputs],
              "structure": structure, "name": concrete.graph.name}
    return header, graph.SerializeToString(deterministic=True)


def advance_names() -> None:
    """Advance TensorFlow's counter of function names to the next multiple of
    ``NAME_STEP`` (nothing where the counter is not found)."""
    try:
        from tensorflow.python.framework import ops
    except ImportError:  # pragma: no cover - another TensorFlow layout
        return
    target = (ops.uid() // NAME_STEP + 1) * NAME_STEP
    while ops.uid() < target:
        pass


def import_graph(header: dict, body: bytes, args: tuple) -> ImportedGraph:
    """A jit-compiled function of the graph :func:`export_graph` wrote, for arguments of
    the signature of ``args`` (nested as they are), returning outputs nested as the
    traced function's; traced here (about 0.1 s for a sampling loop)."""
    graph = tf.compat.v1.GraphDef.FromString(body)
    flat = tf.nest.flatten(args)
    skeleton = output_skeleton(header["structure"])

    def imported(*inputs: tf.Tensor) -> list[tf.Tensor]:
        return tf.graph_util.import_graph_def(
            graph, input_map=dict(zip(header["inputs"], inputs, strict=True)),
            return_elements=header["outputs"], name="")

    specs = [tf.TensorSpec(a.shape, a.dtype) for a in flat]
    wrapped = tf.compat.v1.wrap_function(imported, specs)

    def call(*inputs: tf.Tensor) -> list[tf.Tensor]:
        return wrapped(*inputs)

    call.__name__ = call.__qualname__ = str(header.get("name") or "imported")
    advance_names()
    compiled = tf.function(call, jit_compile=True, autograph=False)
    return ImportedGraph(compiled, skeleton, specs)


class ImportedGraph:
    """A function made by :func:`import_graph`: called with the traced function's
    arguments (nested), it returns its outputs (nested alike).

    Its one signature is known, so tensors of it go straight to the concrete function's
    flat call: ``tf.function``'s dispatch (matching the arguments to a trace) cost about
    1.9 ms per call of a function of 17 small tensors (2.1 ms against 0.24 ms, on the
    loaded 2-core host), paid at every chunk of a sampling loop, which a long run calls
    thousands of times (the slice sampler's 200,000 iterations: 4,000 chunks).
    """

    def __init__(self, compiled: Callable, skeleton: Any, specs: list) -> None:
        self.compiled = compiled  # the tf.function of the flat inputs and outputs
        self.skeleton = skeleton
        self.specs = specs
        self.concrete = compiled.get_concrete_function(*specs)
        self._call_flat = getattr(self.concrete, "_call_flat", None)  # private: may be gone

    def __call__(self, *arguments: Any) -> Any:
        flat = tf.nest.flatten(arguments)
        if self._call_flat is not None and len(flat) == len(self.specs) and all(
                isinstance(a, tf.Tensor) and a.dtype == s.dtype and a.shape == s.shape
                for a, s in zip(flat, self.specs, strict=True)):
            outputs = tf.nest.flatten(self._call_flat(flat, self.concrete.captured_inputs))
        else:  # other values (numpy, Python numbers): converted by the tf.function
            outputs = self.compiled(*flat)
        return tf.nest.pack_sequence_as(self.skeleton, outputs)

    def hlo(self) -> str:
        """The program XLA compiles for it, as text (HLO)."""
        return self.compiled.experimental_get_compiler_ir(*self.specs)(stage="hlo")
