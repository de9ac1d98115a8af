"""Helpers shared by the tests of the likelihood rewrites (sufficient statistics, row blocks)."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator

import numpy as np
import pytest

import tfstats as ts
from tfstats.inference.batched_density import batched_value_and_gradient

__all__ = ["switch_off", "traced_shapes", "value_and_gradient"]


def switch_off(monkeypatch: pytest.MonkeyPatch,
               variable: str) -> Callable[[], contextlib.AbstractContextManager]:
    """A context maker under which models are built with ``variable=0`` (a rewrite off):
    ``with off(): ...``."""
    @contextlib.contextmanager
    def off() -> Iterator[None]:
        with monkeypatch.context() as patch:
            patch.setenv(variable, "0")
            yield

    return off


def value_and_gradient(model: ts.Model, flats: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The compiled log density and its gradient at each row of ``flats`` (chains)."""
    B = model.backend
    fn = B.compile_function(batched_value_and_gradient(model))  # as the samplers
    value, grad = fn(B.convert(flats, model.float_dtype), *model.data_tensors())
    return np.asarray(B.to_numpy(value)), np.asarray(B.to_numpy(grad))


def traced_shapes(model: ts.Model, backend: str) -> list[tuple]:
    """The shapes of every value in the traced, vectorised (2 chains) density and gradient
    of ``model``, its inputs left out."""
    B = model.backend
    fn = B.vectorize_value_and_gradient(lambda flat, *data: model.log_density(flat, data))
    flats = B.convert(np.zeros((2, model.n_free)), model.float_dtype)
    data = model.data_tensors()
    if backend == "jax":
        import jax

        jaxpr = jax.make_jaxpr(fn)(flats, *data)
        return [tuple(v.aval.shape) for eqn in jaxpr.jaxpr.eqns
                for v in (*eqn.invars, *eqn.outvars) if hasattr(v, "aval")]
    import tensorflow as tf

    graph = tf.function(fn).get_concrete_function(flats, *data).graph
    return [tuple(t.shape) for op in graph.get_operations() if op.type != "Placeholder"
            for t in op.outputs]
