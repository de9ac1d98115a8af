"""Training on several devices or machines: the ``strategy=`` of the neural estimators.

The estimators hand the work to the engines their Keras backend already has:

- TensorFlow backend: any ``tf.distribute.Strategy`` (``MirroredStrategy`` over local GPUs
  or CPU devices, ``MultiWorkerMirroredStrategy`` across machines configured by
  ``TF_CONFIG``). The model is built and compiled under ``strategy.scope()``, so Keras'
  own ``fit`` replicates it and all-reduces the gradients; the package's multi-step train
  functions step aside (Keras' ``steps_per_execution`` remains). Streams are read through
  ``strategy.distribute_datasets_from_function``: each input pipeline (one per worker)
  reads its own share of the files (or of the rows, with fewer files than workers) and
  batches ``batch_size / num_replicas_in_sync`` rows per replica, so ``batch_size`` stays
  the global batch.
- JAX backend: a Keras distribution (``keras.distribution.DataParallel``, or
  ``ModelParallel``), entered with its ``scope()`` around building and fitting.

Examples
--------
>>> from estimators.neural.distribute import check_strategy, strategy_scope
>>> check_strategy(None) is None
True
>>> with strategy_scope(None):
...     pass
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import Any

from estimators.tabular.preprocessing import keras

__all__ = ["check_strategy", "strategy_scope", "distribute_stream", "is_tf_strategy",
           "is_multi_worker"]


def is_tf_strategy(strategy: Any) -> bool:
    """Whether ``strategy`` is a ``tf.distribute.Strategy``."""
    if strategy is None or not type(strategy).__module__.startswith("tensorflow"):
        return False
    import tensorflow as tf

    return isinstance(strategy, tf.distribute.Strategy)


def is_multi_worker(strategy: Any) -> bool:
    """Whether ``strategy`` is a ``tf.distribute.MultiWorkerMirroredStrategy``."""
    if not is_tf_strategy(strategy):
        return False
    import tensorflow as tf

    return isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy)


def check_strategy(strategy: Any) -> Any:
    """``strategy`` if the Keras backend can use it, else a ValueError naming both."""
    if strategy is None:
        return None
    backend = keras.backend.backend()
    if backend == "tensorflow":
        if is_tf_strategy(strategy):
            return strategy
        expected = "a tf.distribute.Strategy (MirroredStrategy, MultiWorkerMirroredStrategy)"
    elif backend == "jax":
        public = (keras.distribution.DataParallel, keras.distribution.ModelParallel)
        if isinstance(strategy, public):
            return strategy
        expected = "a keras.distribution.DataParallel (or ModelParallel)"
    else:
        expected = "None (distributed training is supported on the tensorflow and jax backends)"
    raise ValueError(f"strategy must be {expected} on the {backend!r} Keras backend, got "
                     f"{type(strategy).__name__}")


@contextlib.contextmanager
def strategy_scope(strategy: Any) -> Iterator[None]:
    """``strategy.scope()`` (a TF strategy or a Keras distribution); nothing for None."""
    if strategy is None:
        yield
        return
    with strategy.scope():
        yield


def distribute_stream(strategy: Any, make: Callable[..., Any], batch_size: int) -> Any:
    """A stream's dataset distributed by ``strategy``, or ``make(rows=batch_size)`` alone.

    ``make(rows=..., shard=(count, index))`` builds the dataset of one input pipeline:
    its share of the data in elements of ``rows`` rows.
    """
    if not is_tf_strategy(strategy):
        return make(rows=batch_size, shard=None)
    replicas = strategy.num_replicas_in_sync
    if batch_size % replicas:
        raise ValueError(f"batch_size ({batch_size}) must be a multiple of the strategy's "
                         f"num_replicas_in_sync ({replicas}): it is the global batch, split "
                         "evenly across the replicas")

    def pipeline(context: Any) -> Any:
        import tensorflow as tf

        ds = make(rows=context.get_per_replica_batch_size(batch_size),
                  shard=(context.num_input_pipelines, context.input_pipeline_id))
        options = tf.data.Options()
        # already sharded by pipeline: tf.distribute must not shard it again
        options.experimental_distribute.auto_shard_policy = \
            tf.data.experimental.AutoShardPolicy.OFF
        return ds.with_options(options)

    return strategy.distribute_datasets_from_function(pipeline)
