"""Compiled multi-step train functions for the Keras estimators (TensorFlow backend).

Keras calls ``model.train_function(iterator)`` once per execution; the functions here run
many mini-batches per call in one ``tf.while_loop`` of ``model.train_step``, so small
networks do not pay Python, ``tf.data`` and executor overhead at every step. The updates
are exactly those of plain mini-batch training on the same rows in the same order.

- :func:`micro_batch_train_function`: each element of a dataset holds several
  mini-batches (streams, ``tf.data`` input).
- :func:`memory_train_function`: in-memory data stay where they are, one tensor per
  column; each call gathers its mini-batches from an epoch's permutation of the rows, so
  nothing is copied per call and a call may cover a whole epoch.

Examples
--------
>>> import keras, numpy as np
>>> from estimators.neural.steps import memory_train_function
>>> inp = keras.Input((2,)); model = keras.Model(inp, keras.layers.Dense(1)(inp))
>>> model.compile("sgd", "mse")
>>> fn, calls = memory_train_function(model, (np.ones((40, 2), "float32"),
...                                           np.ones(40, "float32")), size=8, steps_per_call=2)
>>> calls  # calls per epoch: 5 mini-batches, 2 per call
3
>>> model.train_function = fn
>>> h = model.fit(fn.call_indices(), steps_per_epoch=calls, epochs=2, shuffle=False,
...               verbose=0)
>>> int(model.optimizer.iterations)
10
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from estimators.neural.internals import (
    custom_train_functions,
    executor_scope,
    keep_functional_while,
    single_threaded_available,
)
from estimators.tabular.preprocessing import keras

__all__ = [
    "supports_micro_batches",
    "micro_batch_train_function",
    "memory_train_function",
    "single_thread_friendly",
    "train_step_function",
    "replica_step_functions",
]

_CONTROL_FLOW = frozenset({"While", "StatelessWhile", "If", "StatelessIf", "Case",
                           "StatelessCase"})
_SINGLE_THREADED = "SINGLE_THREADED_EXECUTOR"
# rows x trainable parameters per step up to which the single-threaded executor is used:
# 20-128-128-1 at batch 256 (4.9e6) fitted as fast on either, 20-256-256-1 (1.8e7) slower
_SMALL_STEP = 8e6


def supports_micro_batches(model: Any) -> bool:
    """Whether the functions of this module can drive ``model``.

    They need the TensorFlow backend, graph execution, no distribution strategy (the model
    built outside any ``strategy.scope()``), Keras' own ``train_step`` (a custom
    ``train_step`` keeps Keras' ``steps_per_execution``) and a Keras whose ``fit`` runs a
    model's own ``train_function`` (:func:`estimators.neural.internals.custom_train_functions`).
    """
    if keras.backend.backend() != "tensorflow" or model.run_eagerly:
        return False
    import tensorflow as tf

    strategy = getattr(model, "distribute_strategy", None)
    distributed = tf.distribute.has_strategy() or (
        strategy is not None and strategy is not tf.distribute.get_strategy())
    return (not distributed and getattr(model, "steps_per_execution", 1) == 1
            and type(model).train_step is keras.Model.train_step
            and custom_train_functions())


def single_thread_friendly(graph: Any, work: float = 0.0) -> bool:
    """Whether a traced multi-step function should run on TensorFlow's single-threaded
    executor: CPU only, a small step (``work``: rows per mini-batch times trainable
    parameters, at most ``_SMALL_STEP``), and no control flow that TensorFlow lowers to
    primitives that executor cannot run (our own loop is kept a functional ``While``).

    On a small CPU machine, handing every op of a small network to the inter-op thread
    pool costs more than the op: the step of a 20-64-1 MLP (batch 256) took 0.10 ms on
    the single-threaded executor and 0.16-0.21 ms on the default one (2 cores). Matrix
    products still use the intra-op threads. Larger steps gain from running independent
    ops side by side: a 20-256-256-1 MLP fitted 10-20 % faster on the default executor.
    """
    import tensorflow as tf

    if (work > _SMALL_STEP or tf.config.list_logical_devices("GPU")
            or not single_threaded_available()):
        return False
    graph_def = graph.as_graph_def()
    nodes = [*graph_def.node, *(n for f in graph_def.library.function for n in f.node_def)]
    for node in nodes:
        lowered = node.attr.get("_lower_using_switch_merge")
        if node.op in _CONTROL_FLOW and (lowered is None or lowered.b):
            return False
    return True


def _loop(n_steps: Any, body: Callable[[Any], None]) -> None:
    """``for i in range(n_steps): body(i)`` as a functional ``While`` op."""
    import tensorflow as tf

    def step(i: Any) -> tuple:
        body(i)
        return (i + 1,)

    out = tf.while_loop(lambda i: i < n_steps, step, (tf.constant(0),))
    # kept a functional While (not lowered to Switch/Merge): the single-threaded executor
    # needs that, and it instantiates faster
    keep_functional_while(out[0].op)


def train_step_function(model: Any) -> Callable[[Any], Any]:
    """``model.train_step``, XLA-compiled on its own when the model asks for ``jit_compile``.

    The loop around the steps stays on TensorFlow's executor: XLA would need a static
    batch shape and copies the loop's large operands.
    """
    if not model.jit_compile:
        return model.train_step
    import tensorflow as tf

    return tf.function(model.train_step, jit_compile=True, autograph=False,
                       reduce_retracing=True)


class _Compiled:
    """One traced function per input signature, with the executor it runs on."""

    def __init__(self, model: Any, fn: Callable[..., Any], size: int) -> None:
        self.model, self.fn, self.size, self.cache = model, fn, size, {}
        self.work = size * sum(int(np.prod(w.shape)) for w in model.trainable_weights)

    def get(self, signature: list[Any] | None) -> tuple[Any, str]:
        import tensorflow as tf

        key = repr(signature)
        if key not in self.cache:
            traced = tf.function(self.fn, input_signature=signature, autograph=False,
                                 reduce_retracing=True)
            executor = ""
            if signature is not None:
                graph = traced.get_concrete_function(*signature).graph
                if not self.model.jit_compile and single_thread_friendly(graph, self.work):
                    executor = _SINGLE_THREADED
            self.cache[key] = (traced, executor)
        return self.cache[key]

    def __call__(self, signature: list[Any] | None, *args: Any) -> Any:
        traced, executor = self.get(signature)
        with executor_scope(executor):
            return traced(*args)


def _batch_spec(spec: Any) -> Any:
    import tensorflow as tf

    return keras.tree.map_structure(lambda s: tf.TensorSpec((None, *s.shape[1:]), s.dtype),
                                    spec)


def micro_batch_train_function(model: Any, size: int) -> Any:
    """A Keras ``train_function`` running all mini-batches of a dataset element per call.

    Each element holds up to ``k * size`` rows; one compiled call applies the ``k`` updates
    of ``size`` rows in order. It also wraps the step in a single ``tf.function`` fed from
    Python, where Keras nests a second one that pulls from the iterator in the graph (a
    second trace, ~0.1 s per fit).

    Examples
    --------
    >>> import keras, numpy as np
    >>> inp = keras.Input((2,)); model = keras.Model(inp, keras.layers.Dense(1)(inp))
    >>> model.compile("sgd", "mse")
    >>> model.train_function = micro_batch_train_function(model, 8)
    >>> _ = model.fit(np.ones((32, 2)), np.ones(32), batch_size=32, verbose=0)
    >>> int(model.optimizer.iterations)
    4
    """
    import tensorflow as tf

    train_step = train_step_function(model)

    def steps(data: Any) -> Any:
        x, y, sw = keras.utils.unpack_x_y_sample_weight(data)
        n = tf.shape(keras.tree.flatten(x)[0])[0]

        def body(i: Any) -> None:
            def cut(t: Any) -> Any:
                return None if t is None else t[i * size : (i + 1) * size]

            train_step(keras.tree.map_structure(cut, (x, y, sw)))

        _loop((n + size - 1) // size, body)
        return model.get_metrics_result()

    compiled = _Compiled(model, steps, size)

    def prepare(element_spec: Any) -> Any:
        """Trace now for elements of this structure (once for any number of rows)."""
        signature = None if element_spec is None else [_batch_spec(element_spec)]
        compiled.get(signature)
        return signature

    def function(iterator: Any) -> Any:
        signature = prepare(getattr(iterator, "element_spec", None))
        return compiled(signature, next(iterator))

    function.micro_batch_size = size  # type: ignore[attr-defined]
    function.prepare = prepare  # type: ignore[attr-defined]
    return function


def _memory_steps(model: Any, size: int) -> _Compiled:
    """The loop of ``size``-row steps over an epoch's row order: the one of the model's
    current ``train_function`` when that is a :func:`memory_train_function` of the same
    mini-batch size (a warm start, ``partial_fit``: the rows are an input, not a constant
    of the graph), else a new one. Keras' ``compile`` clears ``train_function``, so a
    model compiled again (a new optimizer) gets a new loop."""
    import tensorflow as tf

    previous = getattr(getattr(model, "train_function", None), "memory_steps", None)
    if previous is not None and previous.size == size:
        return previous
    train_step = train_step_function(model)

    def steps(columns: Any, order: Any, start: Any, n_steps: Any) -> Any:
        n = tf.shape(order)[0]

        def body(i: Any) -> None:
            lo = start + i * size
            rows = order[lo : tf.minimum(lo + size, n)]
            train_step(keras.tree.map_structure(lambda t: tf.gather(t, rows), columns))

        _loop(n_steps, body)
        return model.get_metrics_result()

    return _Compiled(model, steps, size)


def memory_train_function(model: Any, data: tuple, *, size: int, steps_per_call: int,
                          seed: int | None = None, first_epoch: int = 0
                          ) -> tuple[Any, int]:
    """A Keras ``train_function`` over in-memory data, and the number of calls per epoch.

    Parameters
    ----------
    model : keras.Model
        Compiled, with its optimizer and metric variables built.
    data : tuple
        ``(features, targets)`` or ``(features, targets, weights)``: arrays (or dicts of
        arrays) with one row per example.
    size : int
        Mini-batch size.
    steps_per_call : int
        Mini-batches per call (the last call of an epoch may run fewer).
    seed : int, optional
        Epoch ``e`` visits the rows in a stateless permutation seeded by ``(seed, e)``.
    first_epoch : int
        Index of the first epoch (a warm start continues the sequence of permutations).

    Returns
    -------
    function, calls_per_epoch
        Feed Keras ``fit`` with ``function.call_indices()`` (an endless dataset of call
        numbers) and ``steps_per_epoch=calls_per_epoch``, and set it as the model's
        ``train_function``. The loop is traced on creation, once per mini-batch size and
        column structure: a later call while it is the model's ``train_function`` (a warm
        start, ``partial_fit``) reuses it for any number of rows.
    """
    import tensorflow as tf

    tensors = keras.tree.map_structure(tf.convert_to_tensor, data)
    n = int(keras.tree.flatten(tensors[1])[0].shape[0])
    n_batches = -(-n // size)
    steps_per_call = max(1, min(int(steps_per_call), n_batches))
    calls = -(-n_batches // steps_per_call)
    if seed is None:
        seed = int(np.random.SeedSequence().entropy % (2**31))

    index = tf.TensorSpec([], tf.int32)
    signature = [_batch_spec(tensors), tf.TensorSpec([None], tf.int32), index, index]
    compiled = _memory_steps(model, size)
    compiled.get(signature)
    current: list[Any] = [None, None]  # the epoch and its row order

    def function(iterator: Any) -> Any:
        epoch, part = divmod(int(next(iterator)), calls)
        epoch += first_epoch
        if current[0] != epoch:
            current[:] = [epoch, tf.random.experimental.stateless_shuffle(
                tf.range(n, dtype=tf.int32), seed=tf.constant([seed, epoch], tf.int64))]
        first = part * steps_per_call
        n_steps = min(steps_per_call, n_batches - first)
        return compiled(signature, tensors, current[1], tf.constant(first * size),
                        tf.constant(n_steps))

    def call_indices() -> Any:
        return tf.data.Dataset.range(2**62)

    function.call_indices = call_indices  # type: ignore[attr-defined]
    function.memory_steps = compiled  # type: ignore[attr-defined]
    return function, calls


def replica_step_functions(model: Any, strategy: Any) -> None:
    """Set ``model.train_function`` / ``model.test_function`` to one step per call run by
    ``strategy.run``, the logs averaged across replicas (``strategy.reduce``).

    Keras 3's own functions reduce each scalar log with ``axis=0`` under
    ``MultiWorkerMirroredStrategy`` across workers, which fails (keras-team/keras#20585);
    the updates here are Keras' ``train_step`` as Keras runs it. Epoch logs come from the
    metrics' synchronised state, as in Keras.
    """
    import tensorflow as tf

    def make(step: Callable[[Any], Any]) -> Callable[[Any], Any]:
        @tf.function(autograph=False, reduce_retracing=True)
        def function(iterator: Any) -> Any:
            outputs = strategy.run(step, args=(next(iterator),))
            return keras.tree.map_structure(
                lambda v: strategy.reduce("MEAN", v, axis=None), outputs)

        return function

    model.train_function = make(model.train_step)
    model.test_function = make(model.test_step)
