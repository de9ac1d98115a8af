"""MAP fit time of the GLM estimators against scikit-learn at N = 1,000,000 rows.

Workloads: logistic regression with D = 20 (``LinearClassifier(prior_scale=1)`` against
``LogisticRegression(C=1)``, lbfgs) and linear regression with D = 10
(``LinearRegressor(prior_scale=None)`` against ``LinearRegression``).

For each: scikit-learn's fit time; our first fit on a new shape (tfstats builds the model
and compiles ``ts.opt``'s L-BFGS; the model cache is cleared before each repeat so every
repeat compiles); our second fit on same-shaped data (the compiled model is reused);
compile time = first - second. Every figure is the best of ``--repeats`` runs (the
machine is shared). ``ts.opt`` (SciPy's L-BFGS-B driving the compiled log density and
gradient) compiles that function in graph mode for the estimators; ``--xla`` compiles it
with XLA instead, for comparison.

Run: ``.venv/bin/python benchmarks/bench_glm.py [--rows 1000000] [--repeats 3]``
"""

from __future__ import annotations

import argparse
import contextlib
import os
import platform
import time
from collections.abc import Callable
from typing import Any

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402
from sklearn.linear_model import LinearRegression, LogisticRegression  # noqa: E402

import estimators.glm.models as glm  # noqa: E402
from estimators import LinearClassifier, LinearRegressor  # noqa: E402


def best_of(repeats: int, fn: Callable[[], Any], before: Callable[[], None] | None = None
            ) -> tuple[float, Any]:
    best, out = np.inf, None
    for _ in range(repeats):
        if before is not None:
            before()
        start = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - start)
    return best, out


def make_data(n: int, d: int, kind: str, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    coef = rng.normal(scale=0.5, size=d)
    eta = 0.3 + X @ coef
    if kind == "logistic":
        return X, (rng.uniform(size=n) < 1 / (1 + np.exp(-eta))).astype(np.int64)
    return X, eta + rng.normal(size=n)


def bench(name: str, ours: Any, sklearn: Any, n: int, d: int, kind: str,
          repeats: int) -> dict[str, Any]:
    X, y = make_data(n, d, kind)
    sk_time, sk = best_of(repeats, lambda: sklearn.fit(X, y))
    first, _ = best_of(repeats, lambda: ours.fit(X, y), before=glm.clear_cache)
    second, fitted = best_of(repeats, lambda: ours.fit(X, y))
    diff = float(np.max(np.abs(np.ravel(fitted.coef_) - np.ravel(sk.coef_))))
    row = {"workload": name, "sklearn_s": sk_time, "first_fit_s": first,
           "second_fit_s": second, "compile_s": first - second,
           "ratio_first": first / sk_time, "ratio_second": second / sk_time,
           "iterations": fitted.n_iter_, "max_coef_diff": diff}
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--xla", action="store_true", help="compile ts.opt with XLA")
    parser.add_argument("--quick", action="store_true",
                        help="10,000 rows, one repeat (a smoke test)")
    args = parser.parse_args()
    if args.quick:
        args.rows, args.repeats = 10_000, 1
    if args.xla:
        glm._graph_mode = contextlib.nullcontext  # ts.opt then compiles with XLA (default)
    print(f"# {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"N = {args.rows:,}, best of {args.repeats}, ts.opt compiled "
          f"{'with XLA' if args.xla else 'in graph mode (no XLA)'}")
    rows = [
        bench("logistic D=20", LinearClassifier(prior_scale=1.0),
              LogisticRegression(C=1.0), args.rows, 20, "logistic", args.repeats),
        bench("linear D=10", LinearRegressor(prior_scale=None), LinearRegression(),
              args.rows, 10, "linear", args.repeats),
    ]
    keys = list(rows[0])
    print("| " + " | ".join(keys) + " |")
    print("|" + "---|" * len(keys))
    for row in rows:
        print("| " + " | ".join(f"{row[k]:.3g}" if isinstance(row[k], float) else str(row[k])
                                for k in keys) + " |")


if __name__ == "__main__":
    main()
