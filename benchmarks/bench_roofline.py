"""The roofline of a large-data GLM gradient on this machine: memory bandwidth and the
arithmetic floor, with one thread and with more.

The limit for one 4-chain value and gradient of a GLM with D = 20 predictors and an
intercept (``bench_gradient.py``'s Bernoulli-logit and Poisson-log, float32 data: N x 21
values) is the larger of two floors, per thread count:

- **bandwidth floor**: the data's bytes over the read bandwidth, measured here by a C loop
  (``gcc -O3 -march=native -fopenmp``, AVX-512 or AVX2, four vector sums per thread so
  that the additions do not limit it) that sums a 512 MB float32 array with T threads
  (numpy's ``a.sum()``, the earlier reference, is reported beside it: its pairwise sum is
  not bound by memory on this CPU, so it understates the bandwidth);
- **arithmetic floor**: the same value and gradient on data that sit in the cache (16,384
  rows, 1.4 MB: in a 2 MiB L2, else in the L3) by a tight fused C kernel (glibc's vector
  ``expf`` and ``log1pf``), scaled to N rows: per vector of rows, ``eta`` for the 4 chains
  (80 multiply-adds a row), the link, the residual, then its products with the block's
  columns (80 more).

The C is written once over a few vector macros, compiled for AVX-512 (16 floats a vector,
masked loads for the tail) where ``-march=native`` has it, else for AVX2 with FMA (8 floats,
``_mm256_maskload_ps`` for the tail, libmvec's ``_ZGVdN8v`` variants); the report's
``"isa"`` (``"avx512"`` or ``"avx2"``) and ``"vector_floats"`` say which ran.

The same kernel on N rows out of the cache shows how close a real one-pass loop gets to
``max(bandwidth floor, arithmetic floor)`` (it prefetches the next tile while it sums the
gradient of the current one). The kernel reads ``X`` column by column (a column-major
copy); ``family`` "products" is the kernel with the identity link: the two products
alone. Before timing, the kernel's value and gradient are checked against numpy's (float64)
on 4,099 rows, a size that leaves a masked tail with either width.

Usage::

    python benchmarks/bench_roofline.py                  # N = 1,000,000, 1 and 2 threads
    python benchmarks/bench_roofline.py --rows 100000,1000000 --threads 1,2
    python benchmarks/bench_roofline.py --rows 20000 --read-mb 16 --repeats 2  # smoke test

Needs gcc with OpenMP and an x86-64 CPU with AVX-512 or AVX2 with FMA; without them it
says so and exits 0 with ``"skipped"`` in its JSON. Nothing of tfstats is imported.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

__all__ = ["KERNEL", "FAMILIES", "build", "run_kernel", "reference", "integer_list", "main"]

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results" / "roofline.json"
FAMILIES = ("bernoulli", "poisson", "products")  # the kernel's family 0, 1, 2
D, CHAINS, CACHED_ROWS, CHECK_ROWS = 20, 4, 16_384, 4_099

KERNEL = r"""
#include <immintrin.h>
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#define D 20
#define C 4
#define T 512
/* one vector of W floats: AVX-512 (16) or AVX2 with FMA (8), the same intrinsics by name.
   TAIL(left) masks the first min(left, W) lanes; LOADZ loads them (zeros elsewhere), KEEP
   zeroes the other lanes; GE0_BLEND(e, a, b) is b where e >= 0, a elsewhere;
   LINE_START(i) says whether float i (a multiple of W) starts a 64-byte line. */
#if defined(__AVX512F__)
#define ISA "avx512"
#define W 16
typedef __m512 vec;
typedef __mmask16 lanes;
__m512 _ZGVeN16v_expf(__m512);
__m512 _ZGVeN16v_log1pf(__m512);
#define EXP _ZGVeN16v_expf
#define LOG1P _ZGVeN16v_log1pf
#define TAIL(left) ((left) >= 16 ? 0xFFFF : (__mmask16)((1u << (left)) - 1))
#define LOADZ(k, p) _mm512_maskz_loadu_ps(k, p)
#define KEEP(k, v) _mm512_maskz_mov_ps(k, v)
#define LOAD _mm512_load_ps
#define STORE _mm512_store_ps
#define SET1 _mm512_set1_ps
#define ZERO _mm512_setzero_ps
#define ADD _mm512_add_ps
#define SUB _mm512_sub_ps
#define MUL _mm512_mul_ps
#define DIV _mm512_div_ps
#define MAX _mm512_max_ps
#define FMADD _mm512_fmadd_ps
#define FMSUB _mm512_fmsub_ps
#define ABS _mm512_abs_ps
#define SUM _mm512_reduce_add_ps
#define LINE_START(i) 1
#define GE0_BLEND(e, a, b) \
  _mm512_mask_blend_ps(_mm512_cmp_ps_mask(e, _mm512_setzero_ps(), _CMP_GE_OQ), a, b)
#elif defined(__AVX2__) && defined(__FMA__)
#define ISA "avx2"
#define W 8
typedef __m256 vec;
typedef __m256i lanes;
__m256 _ZGVdN8v_expf(__m256);
__m256 _ZGVdN8v_log1pf(__m256);
#define EXP _ZGVdN8v_expf
#define LOG1P _ZGVdN8v_log1pf
#define TAIL(left) \
  _mm256_cmpgt_epi32(_mm256_set1_epi32(left), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7))
#define LOADZ(k, p) _mm256_maskload_ps(p, k)
#define KEEP(k, v) _mm256_and_ps(_mm256_castsi256_ps(k), v)
#define LOAD _mm256_load_ps
#define STORE _mm256_store_ps
#define SET1 _mm256_set1_ps
#define ZERO _mm256_setzero_ps
#define ADD _mm256_add_ps
#define SUB _mm256_sub_ps
#define MUL _mm256_mul_ps
#define DIV _mm256_div_ps
#define MAX _mm256_max_ps
#define FMADD _mm256_fmadd_ps
#define FMSUB _mm256_fmsub_ps
#define ABS(v) _mm256_andnot_ps(_mm256_set1_ps(-0.0f), v)
#define SUM sum8
#define LINE_START(i) ((i) % 16 == 0)
#define GE0_BLEND(e, a, b) \
  _mm256_blendv_ps(a, b, _mm256_cmp_ps(e, _mm256_setzero_ps(), _CMP_GE_OQ))
static inline float sum8(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  return _mm_cvtss_f32(_mm_add_ss(s, _mm_movehdup_ps(s)));
}
#else
#error "needs AVX-512 or AVX2 with FMA"
#endif

/* rows [n0, n1) of X (column-major, X[j * n + i]) and y: each chain's summed log density
   (val[c]) and its gradient in (b[c], a[c]) (grad[c * (D + 1) + j], intercept last), per
   tile of T rows: eta (W rows a vector), the link, the residual r, then r's products with
   the tile's columns while the next tile is prefetched. family 0 Bernoulli-logit,
   1 Poisson-log (without the data-only lgamma), 2 identity (the products alone). */
static void sweep(const float *restrict X, const float *restrict y, long n, long n0, long n1,
                  const float *restrict b, const float *restrict a, int family,
                  double *restrict val, double *restrict grad) {
  float r[C][T] __attribute__((aligned(64)));
  const vec zero = ZERO(), one = SET1(1.0f);
  for (long s = n0; s < n1; s += T) {
    int m = (n1 - s < T) ? (int)(n1 - s) : T;
    vec v[C], g0[C];
    for (int c = 0; c < C; c++) { v[c] = zero; g0[c] = zero; }
    for (int i0 = 0; i0 < m; i0 += W) {
      lanes k = TAIL(m - i0);
      vec acc[C];
      for (int c = 0; c < C; c++) acc[c] = SET1(a[c]);
      for (int j = 0; j < D; j++) {
        vec x = LOADZ(k, X + j * n + s + i0);
        for (int c = 0; c < C; c++) acc[c] = FMADD(SET1(b[c * D + j]), x, acc[c]);
      }
      vec yv = LOADZ(k, y + s + i0);
      for (int c = 0; c < C; c++) {
        vec e = acc[c], lp, res;
        if (family == 0) {
          vec ex = EXP(SUB(zero, ABS(e)));
          vec sp = ADD(MAX(e, zero), LOG1P(ex));
          vec sg = DIV(GE0_BLEND(e, ex, one), ADD(one, ex));
          lp = FMSUB(yv, e, sp); res = SUB(yv, sg);
        } else if (family == 1) {
          vec rate = EXP(e);
          lp = FMSUB(yv, e, rate); res = SUB(yv, rate);
        } else {
          lp = MUL(yv, e); res = SUB(yv, e);
        }
        lp = KEEP(k, lp); res = KEEP(k, res);
        v[c] = ADD(v[c], lp); g0[c] = ADD(g0[c], res);
        STORE(r[c] + i0, res);
      }
    }
    for (int i0 = 0; i0 < m; i0 += 16)  /* one prefetch a 64-byte line */
      if (s + T + i0 < n1) _mm_prefetch((const char *)(y + s + T + i0), _MM_HINT_T0);
    for (int c = 0; c < C; c++) {
      val[c] += SUM(v[c]);
      grad[c * (D + 1) + D] += SUM(g0[c]);
    }
    for (int j = 0; j < D; j++) {
      const float *xj = X + j * n + s;
      vec g[C];
      for (int c = 0; c < C; c++) g[c] = zero;
      for (int i0 = 0; i0 < m; i0 += W) {
        vec x = LOADZ(TAIL(m - i0), xj + i0);
        if (LINE_START(i0) && s + T + i0 < n1)
          _mm_prefetch((const char *)(xj + T + i0), _MM_HINT_T0);
        for (int c = 0; c < C; c++) g[c] = FMADD(LOAD(r[c] + i0), x, g[c]);
      }
      for (int c = 0; c < C; c++) grad[c * (D + 1) + j] += SUM(g[c]);
    }
  }
}

/* roofline read <megabytes> <threads> <repeats>
   roofline glm <rows> <threads> <repeats> <family>: the vector ISA and width, the best
   seconds, then the values */
int main(int argc, char **argv) {
  if (argc < 5) { fprintf(stderr, "usage: roofline read|glm SIZE THREADS REPEATS [FAMILY]\n");
                  return 2; }
  long n = atol(argv[2]); int threads = atoi(argv[3]), reps = atoi(argv[4]);
  int family = argc > 5 ? atoi(argv[5]) : 0;
  omp_set_num_threads(threads);
  double best = 1e30;
  if (!strcmp(argv[1], "read")) {
    long len = n * (1L << 20) / 4;
    float *x = aligned_alloc(64, len * 4);
    double check = 0.0;
    #pragma omp parallel for schedule(static)
    for (long i = 0; i < len; i++) x[i] = 1.0f;
    for (int k = 0; k < reps + 1; k++) {
      double t = omp_get_wtime(), s = 0.0;
      #pragma omp parallel reduction(+:s)
      { /* each thread sums its contiguous share, 4 vectors (4 W floats) a step */
        int id = omp_get_thread_num(), nt = omp_get_num_threads();
        long chunk = len / nt / (4 * W) * (4 * W), i0 = id * chunk;
        long i1 = id == nt - 1 ? len : i0 + chunk;
        vec a0 = ZERO(), a1 = a0, a2 = a0, a3 = a0;
        long i = i0;
        for (; i + 4 * W <= i1; i += 4 * W) {
          a0 = ADD(a0, LOAD(x + i));
          a1 = ADD(a1, LOAD(x + i + W));
          a2 = ADD(a2, LOAD(x + i + 2 * W));
          a3 = ADD(a3, LOAD(x + i + 3 * W));
        }
        s += SUM(ADD(ADD(a0, a1), ADD(a2, a3)));
        for (; i < i1; i++) s += x[i];
      }
      t = omp_get_wtime() - t;
      if (k > 0 && t < best) best = t;
      check += s;
    }
    printf("{\"isa\": \"%s\", \"lanes\": %d, \"bytes\": %ld, \"seconds\": %.9f, "
           "\"check\": %.1f}\n", ISA, W, len * 4, best, check);
    return 0;
  }
  float *X = aligned_alloc(64, ((n * D * 4 + 63) / 64) * 64), *y = malloc(n * 4);
  #pragma omp parallel for schedule(static)
  for (long i = 0; i < n * D; i++) X[i] = (float)((i * 2654435761UL) % 1000) / 500.0f - 1.0f;
  for (long i = 0; i < n; i++) y[i] = family == 0 ? (float)(i % 2) : (float)(i % 3);
  float b[C * D], a[C];
  for (int i = 0; i < C * D; i++) b[i] = 0.01f * ((i % 7) - 3);
  for (int c = 0; c < C; c++) a[c] = 0.1f * c;
  double val[C], grad[C * (D + 1)];
  for (int k = 0; k < reps + 1; k++) {  /* the first pass warms up */
    memset(val, 0, sizeof val); memset(grad, 0, sizeof grad);
    double t = omp_get_wtime();
    #pragma omp parallel
    {
      int id = omp_get_thread_num(), nt = omp_get_num_threads();
      long chunk = (n / nt / T) * T, n0 = id * chunk, n1 = id == nt - 1 ? n : n0 + chunk;
      double v[C] = {0}, g[C * (D + 1)] = {0};
      sweep(X, y, n, n0, n1, b, a, family, v, g);
      #pragma omp critical
      { for (int c = 0; c < C; c++) val[c] += v[c];
        for (int i = 0; i < C * (D + 1); i++) grad[i] += g[i]; }
    }
    t = omp_get_wtime() - t;
    if (k > 0 && t < best) best = t;
  }
  printf("{\"isa\": \"%s\", \"lanes\": %d, \"seconds\": %.9f, \"value\": [", ISA, W, best);
  for (int c = 0; c < C; c++) printf("%s%.9g", c ? ", " : "", val[c]);
  printf("], \"gradient\": [");
  for (int i = 0; i < C * (D + 1); i++) printf("%s%.9g", i ? ", " : "", grad[i]);
  printf("]}\n");
  return 0;
}
"""


def build(directory: Path) -> tuple[Path | None, str]:
    """Compile ``KERNEL`` into ``directory``: ``(executable, "")``, or ``(None, why)``."""
    compiler = shutil.which("gcc")
    if compiler is None:
        return None, "gcc not found"
    source, binary = directory / "roofline.c", directory / "roofline"
    source.write_text(KERNEL)
    run = subprocess.run([compiler, "-O3", "-march=native", "-fopenmp", str(source), "-o",
                          str(binary), "-lmvec", "-lm"], capture_output=True, text=True,
                         check=False)
    if run.returncode:
        return None, "gcc could not build the kernel (needs OpenMP, AVX-512 or AVX2 with " \
                     f"FMA, glibc's libmvec): {run.stderr.strip()[-300:]}"
    return binary, ""


def run_kernel(binary: Path, *arguments: object) -> dict:
    """The JSON the built kernel prints for ``arguments`` (``read ...`` or ``glm ...``)."""
    out = subprocess.run([str(binary), *map(str, arguments)], capture_output=True, text=True,
                         check=True)
    return json.loads(out.stdout)


def reference(family: str, n: int) -> tuple[np.ndarray, np.ndarray]:
    """numpy's (float64) ``(value, gradient)`` of the kernel's data and coefficients."""
    index = np.arange(n * D, dtype=np.uint64).reshape(D, n)  # column-major, as the kernel
    x = ((index * np.uint64(2654435761)) % np.uint64(1000)).astype(np.float32) / 500.0 - 1.0
    x = x.astype(np.float32).astype(np.float64).T
    y = np.arange(n) % (2 if family == "bernoulli" else 3) * 1.0
    b = (0.01 * ((np.arange(CHAINS * D) % 7) - 3)).astype(np.float32).reshape(CHAINS, D)
    a = (0.1 * np.arange(CHAINS)).astype(np.float32)
    eta = x @ b.T.astype(np.float64) + a
    if family == "bernoulli":
        log_p, r = y[:, None] * eta - np.logaddexp(0.0, eta), y[:, None] - 1 / (1 + np.exp(-eta))
    elif family == "poisson":
        log_p, r = y[:, None] * eta - np.exp(eta), y[:, None] - np.exp(eta)
    else:
        log_p, r = y[:, None] * eta, y[:, None] - eta
    gradient = np.concatenate([r.T @ x, r.sum(0)[:, None]], axis=1)
    return log_p.sum(0), gradient.ravel()


def _numpy_read(megabytes: int) -> float:
    """numpy's one-thread read GB/s (``a.sum()`` of float64, best of 5): the earlier
    reference of ``bench_gradient.py``."""
    a = np.ones(megabytes * 2**20 // 8)
    a.sum()
    best = float("inf")
    for _ in range(5):
        start = time.perf_counter()
        a.sum()
        best = min(best, time.perf_counter() - start)
    return a.nbytes / best / 1e9


def integer_list(text: str, name: str, parser: argparse.ArgumentParser) -> list[int]:
    """``text``, comma-separated integers of at least 1, or the parser's error naming ``name``."""
    try:
        values = [int(v) for v in text.split(",") if v.strip()]
    except ValueError:
        parser.error(f"{name}: {text!r} is not a comma-separated list of integers")
    if not values or min(values) < 1:
        parser.error(f"{name} must be integers of at least 1, got {text!r}")
    return values


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", default="1000000", help="N, comma-separated")
    parser.add_argument("--threads", default=None,
                        help="thread counts, comma-separated (default: 1 and the usable cores)")
    parser.add_argument("--families", default=",".join(FAMILIES))
    parser.add_argument("--read-mb", type=int, default=512, help="array read for the bandwidth")
    parser.add_argument("--repeats", type=int, default=10, help="timed passes (best kept)")
    parser.add_argument("--output", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    rows = integer_list(args.rows, "--rows", parser)
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    threads = integer_list(args.threads or ",".join(map(str, sorted({1, cores or 1}))),
                        "--threads", parser)
    families = [f.strip() for f in args.families.split(",") if f.strip()]
    if not families or set(families) - set(FAMILIES):
        parser.error(f"--families: unknown {sorted(set(families) - set(FAMILIES))}; choose "
                     f"from {', '.join(FAMILIES)}")
    if args.read_mb < 1 or args.repeats < 1:
        parser.error("--read-mb and --repeats must be at least 1")
    report: dict = {"date": dt.datetime.now().isoformat(timespec="seconds"),
                    "command": " ".join(["python", "benchmarks/bench_roofline.py",
                                         *(argv if argv is not None else sys.argv[1:])]),
                    "uptime_before": _uptime(), "cores": cores}
    with tempfile.TemporaryDirectory() as tmp:
        binary, why = build(Path(tmp))
        if binary is None:
            report["skipped"] = why
            print(f"skipped: {why}")
            _save(args.output, report)
            return 0
        checks = {}
        for family in families:
            got = run_kernel(binary, "glm", CHECK_ROWS, 1, 1, FAMILIES.index(family))
            value, gradient = reference(family, CHECK_ROWS)
            error = max(np.max(np.abs(np.array(got["value"]) - value) / (1 + np.abs(value))),
                        np.max(np.abs(np.array(got["gradient"]) - gradient)
                               / (1 + np.abs(gradient))))
            checks[family] = float(error)
            if error > 1e-3:
                print(f"the kernel's {family} value or gradient is off numpy's by {error:.2g}",
                      file=sys.stderr)
                return 1
        report["check_relative_error"] = checks
        report["isa"], report["vector_floats"] = got["isa"], got["lanes"]
        report["numpy_read_gb_s"] = _numpy_read(args.read_mb)
        read = {t: run_kernel(binary, "read", args.read_mb, t, args.repeats) for t in threads}
        report["read_gb_s"] = {t: r["bytes"] / r["seconds"] / 1e9 for t, r in read.items()}
        results = []
        for family in families:
            code = FAMILIES.index(family)
            for t in threads:
                cached = run_kernel(binary, "glm", CACHED_ROWS * t, t, max(50, 20 * args.repeats),
                              code)["seconds"] / (CACHED_ROWS * t)
                for n in rows:
                    data_bytes = n * (D + 1) * 4
                    fused = run_kernel(binary, "glm", n, t, args.repeats, code)["seconds"]
                    bandwidth = data_bytes / (report["read_gb_s"][t] * 1e9)
                    arithmetic = cached * n
                    results.append({
                        "family": family, "rows": n, "threads": t, "data_bytes": data_bytes,
                        "bandwidth_floor_s": bandwidth, "arithmetic_floor_s": arithmetic,
                        "limit_s": max(bandwidth, arithmetic), "fused_kernel_s": fused,
                        "fused_gb_s": data_bytes / fused / 1e9})
        report["results"] = results
    report["uptime_after"] = _uptime()
    _save(args.output, report)
    print(f"kernel: {report['isa']}, {report['vector_floats']} floats a vector")
    print(f"read bandwidth (C, float32 sum of {args.read_mb} MB): "
          + ", ".join(f"{t} thread{'s' * (t > 1)} {g:.1f} GB/s"
                      for t, g in report["read_gb_s"].items())
          + f"; numpy one thread {report['numpy_read_gb_s']:.1f} GB/s\n")
    print(table(results))
    print(f"\nuptime before: {report['uptime_before']}\nuptime after:  {report['uptime_after']}")
    return 0


def table(results: list[dict]) -> str:
    """Markdown table of the floors, the limit and the fused kernel, in ms."""
    lines = ["| family | N | threads | data MB | bandwidth floor | arithmetic floor | limit "
             "| fused C kernel | kernel GB/s | kernel / limit |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in results:
        lines.append(
            f"| {r['family']} | {r['rows']:,} | {r['threads']} | {r['data_bytes'] / 1e6:.0f} "
            f"| {r['bandwidth_floor_s'] * 1e3:.2f} | {r['arithmetic_floor_s'] * 1e3:.2f} "
            f"| {r['limit_s'] * 1e3:.2f} | {r['fused_kernel_s'] * 1e3:.2f} "
            f"| {r['fused_gb_s']:.1f} | {r['fused_kernel_s'] / r['limit_s']:.2f} |")
    return "\n".join(lines)


def _uptime() -> str:
    try:
        return subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()
    except OSError:
        return ""


def _save(path: Path, report: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report, indent=1))


if __name__ == "__main__":
    sys.exit(main())
