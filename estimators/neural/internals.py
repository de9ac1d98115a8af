"""The private TensorFlow / Keras internals the fast training path relies on, in one place.

Each is checked before use; when a newer TensorFlow or Keras no longer has it, training
falls back to the stock machinery (same updates, slower for small networks) with one
warning that says what was lost and why.

- :func:`custom_train_functions`: Keras 3 ``fit`` calls ``model.train_function`` when it
  is already set (``make_train_function`` returns it) - an undocumented contract that
  :mod:`estimators.neural.steps` uses to run many mini-batches per compiled call. Probed
  once per process by fitting a one-weight model with a counting function. Fallback:
  Keras' own ``fit`` (its ``steps_per_execution``).
- :func:`keep_functional_while`: the private ``Operation._set_attr`` keeps a
  ``tf.while_loop`` a functional ``While`` op (``_lower_using_switch_merge=False``).
  Fallback: the loop is lowered as usual, which also rules out the single-threaded
  executor below (it cannot run the lowered ops).
- :func:`executor_scope`: ``tf.experimental.function_executor_type``, the experimental
  switch to TensorFlow's single-threaded executor. Fallback: the default executor.
- :func:`local_symbolic_build`: under a ``tf.distribute`` strategy Keras 3's ``fit``
  (``_maybe_symbolic_build``) reduces a whole first batch across replicas only to learn
  its shapes, which fails for string columns (no sum of strings) and, across workers,
  for any batch of more than one tensor (keras-team/keras#20585). The model gets its own
  ``_maybe_symbolic_build`` that builds (Keras' ``_symbolic_build``) from this replica's
  part of the batch. Fallback: Keras' own, with a warning that ``fit`` may then fail.

Examples
--------
>>> from estimators.neural.internals import custom_train_functions, executor_scope
>>> custom_train_functions()
True
>>> with executor_scope(""):
...     pass
"""

from __future__ import annotations

import contextlib
import functools
import warnings
from collections.abc import Iterator
from typing import Any

from estimators.tabular.preprocessing import keras

__all__ = [
    "custom_train_functions",
    "keep_functional_while",
    "executor_scope",
    "single_threaded_available",
    "local_symbolic_build",
    "InternalsFallbackWarning",
]


class InternalsFallbackWarning(RuntimeWarning):
    """A private TensorFlow / Keras internal is missing; training uses the stock path."""


def _fallback(what: str, lost: str) -> None:
    warnings.warn(
        f"{what} is not available in this version of Keras {keras.__version__} / "
        f"TensorFlow ({_tf_version()}); falling back: {lost}. Results are unchanged; "
        "the pinned versions in pyproject.toml have it.",
        InternalsFallbackWarning, stacklevel=3,
    )


def _tf_version() -> str:
    try:
        import tensorflow as tf
    except ImportError:  # pragma: no cover - TensorFlow is a dependency
        return "absent"
    return tf.__version__


def _probe_train_function() -> bool:
    """Whether ``fit`` calls a ``train_function`` set on the model (one tiny fit)."""
    import numpy as np

    # no random initialiser and no shuffling: the probe leaves every random stream alone
    inp = keras.Input((1,))
    model = keras.Model(inp, keras.layers.Dense(1, kernel_initializer="zeros")(inp))
    model.compile("sgd", "mse", steps_per_execution=1)
    calls = []

    def function(iterator: Any) -> dict[str, Any]:
        calls.append(next(iterator))
        return {}

    model.train_function = function
    try:
        model.fit(np.zeros((1, 1), "float32"), np.zeros(1, "float32"), epochs=1, shuffle=False,
                  verbose=0)
    except Exception:  # noqa: BLE001 - any failure means the contract is gone
        return False
    return len(calls) == 1 and getattr(model, "train_function", None) is function


@functools.cache
def _train_function_ok() -> bool:
    ok = _probe_train_function()
    if not ok:
        _fallback("Keras fit calling a model's own train_function (an undocumented Keras 3 "
                  "contract)",
                  "Keras' stock fit trains one mini-batch per step of its own loop, slower "
                  "for small networks (per-step overhead)")
    return ok


def custom_train_functions() -> bool:
    """Whether Keras ``fit`` runs a ``model.train_function`` set by this package (TF only).

    The probe runs once per process; a failure warns once
    (:class:`InternalsFallbackWarning`).
    """
    if keras.backend.backend() != "tensorflow":
        return False
    return _train_function_ok()


def _probe_set_attr() -> bool:
    import tensorflow as tf

    return hasattr(tf.Operation, "_set_attr")


@functools.cache
def _set_attr_ok() -> bool:
    try:
        from tensorflow.core.framework.attr_value_pb2 import AttrValue  # noqa: F401
        ok = _probe_set_attr()
    except ImportError:
        ok = False
    if not ok:
        _fallback("tf.Operation._set_attr (keeps a tf.while_loop a functional While op)",
                  "the training loop is lowered as usual and runs on TensorFlow's default "
                  "executor, slower for small networks on CPU")
    return ok


def keep_functional_while(op: Any) -> bool:
    """Mark the ``While`` op ``op`` not to be lowered; False when that is not possible."""
    if not _set_attr_ok():
        return False
    from tensorflow.core.framework.attr_value_pb2 import AttrValue

    try:
        op._set_attr("_lower_using_switch_merge", AttrValue(b=False))
    except Exception:  # noqa: BLE001 - the loop still runs, lowered
        return False
    return True


def _probe_executor() -> bool:
    import tensorflow as tf

    return callable(getattr(getattr(tf, "experimental", None), "function_executor_type",
                            None))


@functools.cache
def _executor_ok() -> bool:
    ok = _probe_executor()
    if not ok:
        _fallback("tf.experimental.function_executor_type (TensorFlow's single-threaded "
                  "executor)", "small train steps run on the default executor, up to about "
                  "twice as slow per step for small networks on CPU")
    return ok


@contextlib.contextmanager
def executor_scope(name: str) -> Iterator[None]:
    """Run the functions called inside on the executor ``name`` ("" is the default one)."""
    if not name or not _executor_ok():
        yield
        return
    import tensorflow as tf

    with tf.experimental.function_executor_type(name):
        yield


def single_threaded_available() -> bool:
    """Whether the single-threaded executor can be selected at all."""
    return _executor_ok() and _set_attr_ok()


def _probe_symbolic_build(model: Any) -> bool:
    return callable(getattr(model, "_maybe_symbolic_build", None)) and callable(
        getattr(model, "_symbolic_build", None))


def local_symbolic_build(model: Any, strategy: Any) -> bool:
    """Let ``fit`` build ``model`` from this worker's part of the first batch (see above).

    Returns False (after a warning) when Keras no longer has the methods involved.
    """
    if not _probe_symbolic_build(model):
        _fallback("Keras' Trainer._maybe_symbolic_build / _symbolic_build",
                  "Keras' own build, which under a tf.distribute strategy fails for string "
                  "inputs and across workers (keras-team/keras#20585)")
        return False
    import tensorflow as tf

    def local(value: Any) -> Any:
        if isinstance(value, tf.distribute.DistributedValues):
            return strategy.experimental_local_results(value)[0]
        return value

    def build(iterator: Any = None, data_batch: Any = None) -> None:
        if iterator is not None:
            for _, _, it in iterator:
                data_batch = next(it)
                break
        with strategy.scope():
            model._symbolic_build(data_batch=keras.tree.map_structure(local, data_batch))

    model._maybe_symbolic_build = build
    return True
