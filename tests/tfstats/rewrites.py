"""Helpers shared by the tests of the likelihood rewrites (sufficient statistics, row blocks)."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator

import numpy as np
import pytest

import tfstats as ts

__all__ = ["switch_off", "value_and_gradient"]


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
    fn = B.compile_function(B.vectorize_value_and_gradient(
        lambda flat, *data: model.log_density(flat, data)))
    value, grad = fn(B.convert(flats, model.float_dtype), *model.data_tensors())
    return np.asarray(B.to_numpy(value)), np.asarray(B.to_numpy(grad))
