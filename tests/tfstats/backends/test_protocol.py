"""Each backend module provides every member of the ``Backend`` protocol, with the
protocol's signatures, and nothing the protocol does not list in its ``__all__``."""

from __future__ import annotations

import inspect
from typing import Any

import numpy as np
import pytest

from tfstats.backends import get_backend
from tfstats.backends.protocol import Backend, Linalg, Special

BACKENDS = ["tensorflow", "jax"]


def _methods(protocol: type) -> dict[str, Any]:
    return {k: v for k, v in vars(protocol).items()
            if inspect.isfunction(v) and not k.startswith("_")}


def _attributes(protocol: type) -> list[str]:
    return [k for k in protocol.__annotations__ if not k.startswith("_")]


def _parameters(fn: Any, drop_self: bool) -> list[tuple[str, Any, bool]]:
    params = list(inspect.signature(fn).parameters.values())[1 if drop_self else 0:]
    return [(p.name, p.kind, p.default is inspect.Parameter.empty) for p in params]


@pytest.fixture(scope="module", params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> Any:
    if request.param == "jax":
        pytest.importorskip("jax")
    return get_backend(request.param)


def test_the_module_is_a_backend(backend: Any) -> None:
    assert isinstance(backend, Backend)


def test_it_exports_exactly_the_protocol_members(backend: Any) -> None:
    members = set(_attributes(Backend)) | set(_methods(Backend))
    assert set(backend.__all__) == members, (
        f"only in the module: {set(backend.__all__) - members}; "
        f"missing: {members - set(backend.__all__)}")


@pytest.mark.parametrize("member", sorted(_methods(Backend)))
def test_each_function_has_the_protocol_signature(backend: Any, member: str) -> None:
    function = getattr(backend, member)
    assert callable(function)
    assert _parameters(function, False) == _parameters(_methods(Backend)[member], True)


@pytest.mark.parametrize(("namespace", "protocol"), [("special", Special),
                                                     ("linalg", Linalg)])
def test_its_namespaces_have_every_function(backend: Any, namespace: str,
                                            protocol: type) -> None:
    found = getattr(backend, namespace)
    missing = [k for k in _methods(protocol) if not callable(getattr(found, k, None))]
    assert not missing, missing


def test_the_namespaces_compute_the_same_thing(backend: Any) -> None:
    x = backend.convert(np.array([[2.0, 0.5], [0.5, 1.0]]))
    np.testing.assert_allclose(backend.to_numpy(backend.linalg.logdet(x)), np.log(1.75))
    np.testing.assert_allclose(backend.to_numpy(backend.special.softplus(x))[0, 0],
                               np.log1p(np.exp(2.0)))


def test_the_other_members(backend: Any) -> None:
    assert backend.name in BACKENDS
    with backend.device_scope(None), backend.eager_scope():
        seeds = backend.split_seed(backend.make_seed(1), 3)
    assert backend.shape_of(seeds) == (3, 2)
    assert isinstance(backend.xla_enabled(), bool)
    squares = backend.map_values(lambda v: v * v, np.arange(4, dtype=np.int32))
    np.testing.assert_array_equal(backend.to_numpy(squares), [0, 1, 4, 9])
    many = backend.map_values(lambda v: v + 1, np.arange(100, dtype=np.int32))
    np.testing.assert_array_equal(backend.to_numpy(many), np.arange(1, 101))
    for namespace in ("np", "tfp", "tfd", "tfb"):
        assert getattr(backend, namespace) is not None
