"""The XLA:CPU flags the TensorFlow backend sets: each only where the user has not."""

from __future__ import annotations

import os

import pytest

from tfstats.backends import xla_cpu


@pytest.fixture
def fresh(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """A process where ``configure_xla_cpu`` has not run yet."""
    monkeypatch.setattr(xla_cpu, "_ADDED", set())
    return monkeypatch


def test_adds_the_three_settings(fresh: pytest.MonkeyPatch) -> None:
    fresh.setenv("XLA_FLAGS", "")  # (restored after the test, even where it was unset)
    flags = xla_cpu.configure_xla_cpu().split()
    assert flags == ["--xla_cpu_use_fusion_emitters=false",
                     "--xla_backend_optimization_level=2",
                     "--xla_cpu_experimental_ynn_fusion_type=-reduce"]
    assert os.environ["XLA_FLAGS"].split() == flags
    assert xla_cpu.emitters_switched_off() and xla_cpu.ynn_reductions_taken_out()
    assert not any(xla_cpu.user_sets(flag) for flag in
                   (xla_cpu.FUSION_EMITTERS, xla_cpu.OPTIMIZATION, xla_cpu.YNN_FUSION))


def test_keeps_the_users_settings(fresh: pytest.MonkeyPatch) -> None:
    fresh.setenv("XLA_FLAGS", "--xla_force_host_platform_device_count=2 "
                              "--xla_cpu_experimental_ynn_fusion_type=")
    flags = xla_cpu.configure_xla_cpu().split()
    assert flags[:2] == ["--xla_force_host_platform_device_count=2",
                         "--xla_cpu_experimental_ynn_fusion_type="]
    assert flags.count("--xla_cpu_experimental_ynn_fusion_type=") == 1
    assert not any("-reduce" in flag for flag in flags)
    assert xla_cpu.user_sets(xla_cpu.YNN_FUSION) and not xla_cpu.ynn_reductions_taken_out()
    assert not xla_cpu.user_sets(xla_cpu.OPTIMIZATION)  # tfstats' own


def test_runs_twice_without_repeating(fresh: pytest.MonkeyPatch) -> None:
    fresh.setenv("XLA_FLAGS", "")  # (restored after the test, even where it was unset)
    once = xla_cpu.configure_xla_cpu()
    assert xla_cpu.configure_xla_cpu() == once


def test_the_tensorflow_backend_sets_them() -> None:
    import tfstats.backends.tensorflow  # noqa: F401 - importing it configures XLA

    if xla_cpu.user_sets(xla_cpu.YNN_FUSION):
        pytest.skip("this run's XLA_FLAGS names the setting: it is the user's")
    assert f"--{xla_cpu.YNN_FUSION}=-reduce" in os.environ["XLA_FLAGS"].split()
