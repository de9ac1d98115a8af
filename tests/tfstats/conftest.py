"""Fixtures shared by the tfstats tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

import tfstats as ts
from tfstats import compile_cache
from tfstats.backends import backend_name


def _switched_to(name: str) -> Iterator[str]:
    """The test runs on backend ``name`` (JAX skipped when it is not installed)."""
    if name == "jax":
        pytest.importorskip("jax")
    before = backend_name()
    ts.set_backend(name)
    yield name
    ts.set_backend(before)


@pytest.fixture(params=["tensorflow", "jax"])
def backend(request: pytest.FixtureRequest) -> Iterator[str]:
    """Each test once per backend; a module may define its own ``backend`` instead."""
    yield from _switched_to(request.param)


@pytest.fixture
def jax_backend() -> Iterator[str]:
    """The test runs on JAX."""
    yield from _switched_to("jax")


@pytest.fixture
def tensorflow_backend() -> Iterator[str]:
    """The test runs on TensorFlow."""
    yield from _switched_to("tensorflow")


@pytest.fixture
def fresh_compile_cache() -> Iterator[None]:
    """No compiled function shared with an earlier model of the same structure."""
    compile_cache.clear()
    yield
    compile_cache.clear()
