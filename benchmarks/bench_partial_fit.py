"""Online learning with ``partial_fit``: DNNClassifier against scikit-learn (not a test).

A synthetic binary problem (20 features, ``make_classification``) arrives in batches of
``--batch`` rows; each batch is one ``partial_fit`` call (one epoch over it in mini-batches
of 32), as in scikit-learn's out-of-core examples. Timed per call:

- ``DNNClassifier(hidden_units=[64], batch_size=32, optimizer="adam")``;
- scikit-learn's ``MLPClassifier(hidden_layer_sizes=(64,), batch_size=32)``, the peer with
  the same network and the same updates per call.

The first call (building the network, and for DNNClassifier tracing its training loop) is
reported apart from the median of the later calls; accuracy is on 5,000 held-out rows
after all calls. Both run in this process, interleaved over ``--repeats`` rounds.

Run: ``python benchmarks/bench_partial_fit.py [--calls 40] [--batch 256] [--repeats 3]``
(``--quick``: a smoke test).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
import warnings

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

N_FEATURES, N_TEST, UNITS, MINI_BATCH = 20, 5_000, 64, 32


def make_data(n: int, seed: int = 0):
    from sklearn.datasets import make_classification

    X, y = make_classification(n + N_TEST, N_FEATURES, n_informative=10, random_state=seed)
    X = X.astype("float32")
    return X[:n], y[:n], X[n:], y[n:]


def make_estimator(kind: str, seed: int):
    if kind == "DNNClassifier":
        from estimators import DNNClassifier

        return DNNClassifier(hidden_units=[UNITS], batch_size=MINI_BATCH, optimizer="adam",
                             random_state=seed)
    from sklearn.neural_network import MLPClassifier

    return MLPClassifier(hidden_layer_sizes=(UNITS,), batch_size=MINI_BATCH,
                         random_state=seed)


def run_online(kind: str, calls: int, batch: int, seed: int) -> dict:
    """One pass of ``calls`` partial_fit calls; per-call seconds and held-out accuracy."""
    X, y, X_test, y_test = make_data(calls * batch, seed)
    model = make_estimator(kind, seed)
    times = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for i in range(calls):
            rows = slice(i * batch, (i + 1) * batch)
            start = time.perf_counter()
            model.partial_fit(X[rows], y[rows], classes=[0, 1])
            times.append(time.perf_counter() - start)
    accuracy = float((model.predict(X_test) == y_test).mean())
    return {"first_s": times[0], "later_ms": 1000 * statistics.median(times[1:]),
            "total_s": sum(times), "accuracy": accuracy}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--calls", type=int, default=40)
    parser.add_argument("--batch", type=int, default=256)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", help="write the results as JSON here")
    parser.add_argument("--quick", action="store_true",
                        help="3 calls of 64 rows, one round (a smoke test)")
    args = parser.parse_args()
    if args.quick:
        args.calls, args.batch, args.repeats = 3, 64, 1
    kinds = ("DNNClassifier", "MLPClassifier")
    results: dict[str, list[dict]] = {k: [] for k in kinds}
    run_online("DNNClassifier", 2, 64, seed=99)  # TensorFlow's one-off start-up
    for repeat in range(args.repeats):
        for kind in kinds:
            results[kind].append(run_online(kind, args.calls, args.batch, seed=repeat))
    print(f"partial_fit: {args.calls} calls of {args.batch} rows, mini-batches of "
          f"{MINI_BATCH}, {args.repeats} rounds (median; range)\n")
    print("| estimator | first call (s) | later call (ms) | all calls (s) | accuracy |")
    print("|---|---:|---:|---:|---:|")
    for kind in kinds:
        rows = results[kind]

        def cell(key: str, fmt: str, rows: list[dict] = rows) -> str:
            values = [r[key] for r in rows]
            return (f"{statistics.median(values):{fmt}} "
                    f"({min(values):{fmt}}-{max(values):{fmt}})")

        print(f"| {kind} | {cell('first_s', '.3f')} | {cell('later_ms', '.1f')} | "
              f"{cell('total_s', '.2f')} | {cell('accuracy', '.3f')} |")
    ours = statistics.median(r["later_ms"] for r in results["DNNClassifier"])
    peer = statistics.median(r["later_ms"] for r in results["MLPClassifier"])
    print(f"\nlater call, DNNClassifier / MLPClassifier time: {ours / peer:.2f}x")
    if args.out:
        with open(args.out, "w") as handle:
            json.dump({"args": vars(args), "results": results}, handle, indent=1)


if __name__ == "__main__":
    main()
