"""benchmarks/bench_roofline.py: its argument checks, a tiny run whose fused C kernel
agrees with numpy, and the kernel with two threads and a tail shorter than a vector
(skipped where gcc cannot build it)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"
SCRIPT = BENCHMARKS / "bench_roofline.py"
sys.path.insert(0, str(BENCHMARKS))
import bench_roofline  # noqa: E402


@pytest.mark.parametrize(("arguments", "message"), [
    (["--rows", "10,x"], "--rows: '10,x' is not a comma-separated list of integers"),
    (["--threads", "0"], "--threads must be integers of at least 1, got '0'"),
    (["--families", "bernoulli,nope"], "--families: unknown ['nope']"),
    (["--repeats", "0"], "--read-mb and --repeats must be at least 1"),
])
def test_bad_arguments_are_named(arguments: list[str], message: str) -> None:
    run = subprocess.run([sys.executable, str(SCRIPT), *arguments], capture_output=True,
                         text=True, timeout=60, check=False)
    assert run.returncode == 2 and message in run.stderr, run.stderr[-2000:]


def test_reference_gradient_is_the_derivative_of_the_value() -> None:
    # numpy's reference, against a finite difference in the intercept of chain 0
    value, gradient = bench_roofline.reference("bernoulli", 50)
    assert value.shape == (4,) and gradient.shape == (4 * 21,)
    index = np.arange(50 * 20, dtype=np.uint64).reshape(20, 50)
    x = (((index * np.uint64(2654435761)) % np.uint64(1000)).astype(np.float32) / 500.0
         - 1.0).astype(np.float64).T
    b = (0.01 * ((np.arange(80) % 7) - 3)).astype(np.float32)[:20].astype(np.float64)
    y = np.arange(50) % 2

    def log_p(a: float) -> float:
        eta = x @ b + a
        return float(np.sum(y * eta - np.logaddexp(0.0, eta)))

    assert gradient[20] == pytest.approx((log_p(1e-6) - log_p(-1e-6)) / 2e-6, rel=1e-5)
    assert value[0] == pytest.approx(log_p(0.0))


def test_tiny_run_writes_floors_and_kernel_times(tmp_path: Path) -> None:
    out = tmp_path / "roofline.json"
    run = subprocess.run([sys.executable, str(SCRIPT), "--rows", "5000", "--threads", "1",
                          "--read-mb", "8", "--repeats", "1", "--families", "bernoulli,poisson",
                          "--output", str(out)],
                         capture_output=True, text=True, timeout=120, check=False)
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-2000:]
    report = json.loads(out.read_text())
    if "skipped" in report:
        pytest.skip(report["skipped"])
    # the kernel agreed with numpy before anything was timed
    assert max(report["check_relative_error"].values()) < 1e-3
    assert report["read_gb_s"]["1"] > 0
    rows = report["results"]
    assert [(r["family"], r["rows"], r["threads"]) for r in rows] == [
        ("bernoulli", 5000, 1), ("poisson", 5000, 1)]
    for r in rows:
        assert r["limit_s"] == max(r["bandwidth_floor_s"], r["arithmetic_floor_s"]) > 0
        assert r["fused_kernel_s"] > 0 and r["data_bytes"] == 5000 * 21 * 4
    assert "| bernoulli | 5,000 | 1 |" in run.stdout
    assert (report["isa"], report["vector_floats"]) in {("avx512", 16), ("avx2", 8)}
    assert f"kernel: {report['isa']}, {report['vector_floats']} floats a vector" in run.stdout


def test_kernel_with_two_threads_and_a_short_tail_agrees_with_numpy(tmp_path: Path) -> None:
    # 2,053 rows on 2 threads: 512 and 1,541 = 3 tiles of 512 and 5 rows, fewer than a
    # vector of either width; the script's own check runs 1 thread only
    binary, why = bench_roofline.build(tmp_path)
    if binary is None:
        pytest.skip(why)
    for code, family in enumerate(bench_roofline.FAMILIES):
        got = bench_roofline.run_kernel(binary, "glm", 2053, 2, 1, code)
        value, gradient = bench_roofline.reference(family, 2053)
        np.testing.assert_allclose(got["value"], value, rtol=1e-4, atol=1e-3)
        np.testing.assert_allclose(got["gradient"], gradient, rtol=1e-4, atol=1e-3)
    # -march=native picked the widest vectors this CPU has
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        flags = set(cpuinfo.read_text().split())
        assert got["isa"] == ("avx512" if "avx512f" in flags else "avx2")
