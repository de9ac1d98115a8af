"""The XLA:CPU flags the TensorFlow backend sets: each only where the user has not."""

from __future__ import annotations

import os

import pytest

from tfstats.backends import xla_cpu


@pytest.fixture
def fresh(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """A process where ``configure_xla_cpu`` has not run yet (the variables it writes are
    restored after the test)."""
    monkeypatch.setattr(xla_cpu, "_ADDED", set())
    monkeypatch.delenv(xla_cpu.ADDED_VARIABLE, raising=False)
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


def test_a_child_process_knows_the_flags_tfstats_added(fresh: pytest.MonkeyPatch) -> None:
    """A process started by one that configured XLA inherits ``XLA_FLAGS`` and the names
    of what tfstats added: there too those are tfstats' flags, and the user's stay theirs."""
    fresh.setenv("XLA_FLAGS", f"--{xla_cpu.YNN_FUSION}=")  # the user's
    flags = xla_cpu.configure_xla_cpu()
    assert os.environ[xla_cpu.ADDED_VARIABLE].split() == [
        "--xla_cpu_use_fusion_emitters=false", "--xla_backend_optimization_level=2"]
    fresh.setattr(xla_cpu, "_ADDED", xla_cpu._inherited())  # the child, at import
    assert xla_cpu._ADDED == {xla_cpu.FUSION_EMITTERS, xla_cpu.OPTIMIZATION}
    assert xla_cpu.configure_xla_cpu() == flags  # nothing added twice
    assert xla_cpu.emitters_switched_off() and xla_cpu.user_sets(xla_cpu.YNN_FUSION)
    assert xla_cpu.user_flags() == f"--{xla_cpu.YNN_FUSION}="
    # a flag the child's user changed is the user's again
    fresh.setenv("XLA_FLAGS", flags.replace("level=2", "level=3"))
    assert xla_cpu._inherited() == {xla_cpu.FUSION_EMITTERS}
