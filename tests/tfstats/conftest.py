"""Fixtures shared by the tfstats tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

import tfstats as ts
from tfstats.backends import backend_name


@pytest.fixture(params=["tensorflow", "jax"])
def backend(request: pytest.FixtureRequest) -> Iterator[str]:
    """Each test once per backend (JAX skipped when it is not installed); a module may
    define its own ``backend`` instead."""
    if request.param == "jax":
        pytest.importorskip("jax")
    before = backend_name()
    ts.set_backend(request.param)
    yield request.param
    ts.set_backend(before)
