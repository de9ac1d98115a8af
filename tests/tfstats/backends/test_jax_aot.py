"""AheadOfTime: one compilation per signature, shared by concurrent callers; a compile
error raised in the background thread is raised in the caller; the XLA options rule."""

from __future__ import annotations

import threading
from typing import Any

import numpy as np
import pytest

jax = pytest.importorskip("jax")
jnp = jax.numpy

from tfstats.backends.jax_aot import AheadOfTime, compiler_options  # noqa: E402


def test_one_compilation_per_signature_shared_by_concurrent_callers() -> None:
    f = AheadOfTime(jax.jit(lambda x, y: x * y["a"]))
    args = (jnp.ones(4), {"a": jnp.float32(3.0)})
    f.start(*args)
    results = []
    callers = [threading.Thread(target=lambda: results.append(f(*args))) for _ in range(3)]
    for caller in callers:
        caller.start()
    for caller in callers:
        caller.join(timeout=60)
    assert len(results) == 3 and all(np.allclose(r, 3.0) for r in results)
    assert f.compilations == 1
    assert np.allclose(f(jnp.ones(5), {"a": jnp.float32(2.0)}), 2.0)  # a new shape
    assert f.compilations == 2


def test_a_background_compile_error_is_raised_in_the_caller_then_retried() -> None:
    failing = [True]

    def fn(x: jax.Array) -> jax.Array:
        if failing[0]:
            raise ValueError("bad model: cannot trace")
        return x + 1.0

    f = AheadOfTime(jax.jit(fn))
    future = f.start(jnp.zeros(2))
    future.exception(timeout=60)  # done, not hanging
    with pytest.raises(ValueError, match="cannot trace"):
        f(jnp.zeros(2))
    failing[0] = False  # a failed compilation is not kept: the next call compiles again
    assert np.allclose(f(jnp.zeros(2)), 1.0)


def test_fusion_emitters_are_kept_only_where_the_program_gathers(
        monkeypatch: pytest.MonkeyPatch) -> None:
    from tfstats.backends import xla_cpu

    monkeypatch.setattr(xla_cpu, "_ADDED", set())  # as if TensorFlow never started
    monkeypatch.setenv("XLA_FLAGS", "")

    def density(theta: jax.Array, index: jax.Array) -> jax.Array:
        return jnp.sum(theta[index] ** 2)

    gathers = jax.make_jaxpr(jax.grad(density))(jnp.ones(3), jnp.array([0, 2, 2]))
    loop = jax.make_jaxpr(lambda x: jax.lax.fori_loop(0, 3, lambda i, v: jnp.sin(v), x))(1.0)
    assert compiler_options(gathers) == {"xla_backend_optimization_level": 2}
    assert compiler_options(loop) == {"xla_backend_optimization_level": 2,
                                      "xla_cpu_use_fusion_emitters": False}


def test_fusion_emitters_are_kept_for_data_sized_elementwise_work(
        monkeypatch: pytest.MonkeyPatch) -> None:
    from tfstats.backends import xla_cpu
    from tfstats.backends.jax_aot import DATA_SIZED

    monkeypatch.setattr(xla_cpu, "_ADDED", set())  # as if TensorFlow never started
    monkeypatch.setenv("XLA_FLAGS", "")

    def rows(x: jax.Array) -> jax.Array:  # a GLM's per-row terms, inside a loop
        return jax.lax.fori_loop(0, 2, lambda i, v: v + jnp.log1p(jnp.exp(-v)), x)

    def emitters(jaxpr: Any) -> bool:
        return compiler_options(jaxpr).get("xla_cpu_use_fusion_emitters", True)

    assert emitters(jax.make_jaxpr(rows)(jnp.ones((4, DATA_SIZED // 4))))
    assert not emitters(jax.make_jaxpr(rows)(jnp.ones((4, DATA_SIZED // 4 - 1))))
    # a large buffer that is only filled (no arithmetic on it) does not count
    buffer = jax.make_jaxpr(lambda v: jnp.zeros((DATA_SIZED, 2)).at[0].set(jnp.sin(v)))
    assert not emitters(buffer(jnp.ones(2)))


def test_gathering_programs_ask_for_the_emitters_the_tensorflow_backend_switched_off(
        monkeypatch: pytest.MonkeyPatch) -> None:
    from tfstats.backends import xla_cpu

    # as the TensorFlow backend does: emitters off, YNNPACK's reductions out
    monkeypatch.setattr(xla_cpu, "_ADDED", {xla_cpu.FUSION_EMITTERS, xla_cpu.OPTIMIZATION,
                                            xla_cpu.YNN_FUSION})
    gathers = jax.make_jaxpr(lambda x, i: x[i])(jnp.ones(3), jnp.array([0, 2]))
    options = compiler_options(gathers)
    assert options == {"xla_backend_optimization_level": 2,
                       "xla_cpu_use_fusion_emitters": True,
                       "xla_cpu_experimental_ynn_fusion_type": xla_cpu.YNN_DEFAULT}
    compiled = jax.jit(lambda x, i: x[i]).lower(jnp.ones(3), jnp.array([0, 2])).compile(
        compiler_options=options)  # options XLA:CPU accepts
    np.testing.assert_array_equal(compiled(jnp.arange(3.0), jnp.array([0, 2])), [0.0, 2.0])


def test_settings_named_in_the_users_xla_flags_are_left_to_them(
        monkeypatch: pytest.MonkeyPatch) -> None:
    from tfstats.backends import xla_cpu

    monkeypatch.setattr(xla_cpu, "_ADDED", set())
    monkeypatch.setenv("XLA_FLAGS", "--xla_backend_optimization_level=3 "
                                    "--xla_cpu_use_fusion_emitters=true")
    loop = jax.make_jaxpr(lambda x: jax.lax.fori_loop(0, 3, lambda i, v: jnp.sin(v), x))(1.0)
    assert compiler_options(loop) == {}
    monkeypatch.setattr(xla_cpu, "_ADDED", {"xla_backend_optimization_level"})  # tfstats' own
    assert compiler_options(loop) == {"xla_backend_optimization_level": 2}
