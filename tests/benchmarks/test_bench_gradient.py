"""benchmarks/bench_gradient.py: its timed loop stays in the posterior's bulk (a loop that
ran into NaN would time NaN arithmetic), and the bandwidth it compares with."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"
sys.path.insert(0, str(BENCHMARKS))
import bench_gradient  # noqa: E402


def test_the_step_scales_with_the_rows() -> None:
    data = (np.zeros((4_000, 3), np.float32), np.zeros(4_000, np.float32), np.float32(2.0))
    assert bench_gradient.moving_scale(data) == pytest.approx(1e-2 / 4_000)


def _final(scale: float | None, monkeypatch: pytest.MonkeyPatch) -> np.ndarray:
    if scale is not None:
        monkeypatch.setattr(bench_gradient, "moving_scale", lambda data: scale)
    n = 1_000_000
    x, y = bench_gradient.glm_data("poisson", n)
    loop, (flats, *data), B = bench_gradient._tfstats_loop("poisson", x, y, "float32")
    return np.asarray(loop(flats, B.convert(5), *data))


@pytest.mark.slow
def test_the_poisson_loop_stays_finite(monkeypatch: pytest.MonkeyPatch) -> None:
    assert np.all(np.isfinite(_final(None, monkeypatch)))
    # the step it had before, 1e-6 at any N, left the posterior within 5 evaluations here
    assert not np.all(np.isfinite(_final(1e-6, monkeypatch)))


def test_the_reference_read_is_the_c_loop_where_measured() -> None:
    numpy_only = {"read_gb_s": 18.0, "c_read_gb_s": None}
    assert bench_gradient.reference_read(numpy_only) == (18.0, "numpy read")
    both = {"read_gb_s": 18.0, "c_read_gb_s": 40.0}
    assert bench_gradient.reference_read(both) == (40.0, "C read, 1 thread")
