"""Several devices: on JAX, chains spread over four forced CPU devices and data split over
them give the posterior of one device; elsewhere, clear errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import tfstats as ts
from tfstats.backends import backend_name

pytest.importorskip("jax")

ROOT = Path(__file__).resolve().parents[3]
SCRIPT = Path(__file__).with_name("multidevice_run.py")


@pytest.fixture(scope="module")
def four_devices() -> dict[str, Any]:
    env = {**os.environ, "XLA_FLAGS": "--xla_force_host_platform_device_count=4",
           "TFSTATS_BACKEND": "jax", "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, str(SCRIPT)], capture_output=True, text=True,
                          env=env, timeout=900, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def _agree(a: dict, b: dict) -> None:
    """Posterior means within 4 Monte Carlo standard errors of their difference."""
    diff = np.abs(np.subtract(a["mean"], b["mean"]))
    tolerance = 4 * np.hypot(a["mcse"], b["mcse"])
    assert np.all(diff < tolerance), (diff, tolerance)


def test_jax_sees_four_devices(four_devices: dict) -> None:
    assert four_devices["device_count"] == 4
    assert "devices=8 but JAX sees 4" in four_devices["too_many"]


def test_chains_spread_over_the_devices(four_devices: dict) -> None:
    # every chunk's draws (CHUNK, chains, n_free) lie one chain on each of the 4 devices
    chunks = four_devices["chains_shards"]
    assert chunks
    for shards in chunks:
        assert sorted(device for device, _ in shards) == [0, 1, 2, 3]
        assert all(shape[1] == 1 and shape[2] == 4 for _, shape in shards)
    _agree(four_devices["nuts_chains"], four_devices["nuts_one"])


def test_data_split_over_the_devices(four_devices: dict) -> None:
    # y (400,) and X (400, 3): 100 rows on each device
    for placed in (four_devices["data_put"], four_devices["vi_put"]):
        assert placed
        for spec, shapes in placed[0]:
            assert spec == ["data"]
            assert [s[0] for s in shapes] == [100] * 4
    _agree(four_devices["nuts_data"], four_devices["nuts_one"])


def test_data_split_vi_matches_one_device(four_devices: dict) -> None:
    # the same seed and the same function, summed in another order
    np.testing.assert_allclose(four_devices["vi_data"], four_devices["vi_one"], atol=1e-6)


def _small_model() -> ts.Model:
    mu = ts.normal(0, 1)
    ts.normal(mu, 1, observed=np.zeros(20))
    return ts.model(mu)


@pytest.mark.parametrize(("call", "options", "message"), [
    (ts.mcmc, {"shard": "rows"}, "shard must be one of"),
    (ts.vi, {"shard": "chains"}, "vi has no chains"),
    (ts.opt, {"devices": 0}, "devices must be at least 1"),
    (ts.mcmc, {"devices": "all"}, "devices must be None"),
])
def test_bad_arguments(call: Any, options: dict, message: str) -> None:
    with pytest.raises((ValueError, TypeError), match=message):
        call(_small_model(), progress=False, **options) if call is not ts.opt \
            else call(_small_model(), **options)


def test_tensorflow_points_to_jax() -> None:
    if backend_name() != "tensorflow":
        pytest.skip("the TensorFlow backend's message")
    with pytest.raises(ValueError, match=r"devices=2: .*needs the JAX backend"):
        ts.mcmc(_small_model(), devices=2, progress=False)
    with pytest.raises(ValueError, match=r"shard='data': .*needs the JAX backend"):
        ts.vi(_small_model(), shard="data", progress=False)
    assert ts.opt(_small_model(), devices=1).converged
