"""Benchmark the deep-net estimators (not a test).

Fit time (default mode): an MLP with 64 relu units, 5 epochs, batches of 256, on a
synthetic binary problem with N = 100,000 rows and 20 features, written as

- ``DNNClassifier`` (defaults: ``steps_per_execution="auto"``, ``jit_compile="auto"``) and
  variants with ``steps_per_execution=1`` and ``jit_compile=True``;
- the same network written directly in Keras (``model.fit`` on numpy arrays), with Keras'
  defaults and with ``steps_per_execution=32``;
- scikit-learn's ``MLPClassifier(hidden_layer_sizes=(64,), max_iter=5, batch_size=256)``.

Each run is a fresh Python process that first fits the same model on 512 rows (paying
TensorFlow's one-off start-up), then times the fit on the 100,000 rows; accuracy is on
20,000 held-out rows. The variants run interleaved, ``--repeats`` rounds; the table
reports the best and the median of each.

Streaming memory (``--stream-memory``): writes a CSV of at least ``--gb`` GB (default 2)
to /tmp in chunks, fits ``DNNClassifier`` for one epoch from ``csv_input`` in a fresh
process, and records the peak resident memory (``ru_maxrss``, and a sampled peak of the
anonymous - non file-backed - part), then deletes the file.

Run: ``python benchmarks/bench_dnn.py [--repeats 5] [--only defaults scikit-learn]``,
``python benchmarks/bench_dnn.py --stream-memory`` and ``--quick`` (a smoke test).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import warnings

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

N_TRAIN, N_TEST, N_FEATURES = 100_000, 20_000, 20
UNITS, EPOCHS, BATCH = 64, 5, 256

VARIANTS = {
    "DNNClassifier (defaults)": ("estimator", {}),
    "DNNClassifier steps_per_execution=1": ("estimator", {"steps_per_execution": 1}),
    "DNNClassifier jit_compile=True": ("estimator", {"jit_compile": True}),
    "Keras, written directly": ("keras", {}),
    "Keras, steps_per_execution=32": ("keras", {"steps_per_execution": 32}),
    "scikit-learn MLPClassifier": ("sklearn", {}),
}


def make_data(n: int, seed: int = 0):
    from sklearn.datasets import make_classification

    X, y = make_classification(n, N_FEATURES, n_informative=10, random_state=seed)
    return X.astype("float32"), y


def fit_estimator(X, y, options):
    from estimators.neural import DNNClassifier

    clf = DNNClassifier(hidden_units=[UNITS], epochs=EPOCHS, batch_size=BATCH,
                        random_state=0, **options)
    return clf.fit(X, y), clf.score


def fit_keras(X, y, options):
    import keras

    model = keras.Sequential([
        keras.Input((X.shape[1],)),
        keras.layers.Dense(UNITS, activation="relu"),
        keras.layers.Dense(1, activation="sigmoid"),
    ])
    model.compile("adam", "binary_crossentropy", metrics=["accuracy"], **options)
    model.fit(X, y.astype("float32"), batch_size=BATCH, epochs=EPOCHS, verbose=0)

    def score(Xt, yt):
        p = model.predict(Xt, batch_size=8192, verbose=0)[:, 0]
        return float(((p > 0.5) == yt).mean())

    return model, score


def fit_sklearn(X, y, options):
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPClassifier

    clf = MLPClassifier(hidden_layer_sizes=(UNITS,), max_iter=EPOCHS, batch_size=BATCH,
                        random_state=0, **options)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(X, y)
    return clf, clf.score


FITTERS = {"estimator": fit_estimator, "keras": fit_keras, "sklearn": fit_sklearn}


def worker_fit(kind: str, options: dict) -> dict:
    X, y = make_data(N_TRAIN + N_TEST)
    Xtr, ytr, Xte, yte = X[:N_TRAIN], y[:N_TRAIN], X[N_TRAIN:], y[N_TRAIN:]
    fit = FITTERS[kind]
    t0 = time.perf_counter()
    fit(Xtr[:512], ytr[:512], options)  # one-off start-up (TensorFlow runtime, kernels)
    warmup = time.perf_counter() - t0
    t0, c0 = time.perf_counter(), time.process_time()
    _, score = fit(Xtr, ytr, options)
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    return {"fit_s": wall, "cpu_s": cpu, "warmup_s": warmup, "accuracy": score(Xte, yte)}


QUICK = False


def make_quick() -> None:
    """Tiny settings (a smoke test of the script, not a measurement)."""
    global N_TRAIN, N_TEST, EPOCHS, QUICK
    N_TRAIN, N_TEST, EPOCHS, QUICK = 4_000, 1_000, 1, True


def run_worker(args: list[str]) -> dict:
    quick = ["--quick"] if QUICK else []
    done = subprocess.run([sys.executable, __file__, *args, *quick], capture_output=True,
                          text=True, timeout=3600)
    if done.returncode != 0:
        raise RuntimeError(done.stderr[-3000:])
    return json.loads(done.stdout.strip().splitlines()[-1])


def fit_time_mode(repeats: int, only: list[str] | None = None) -> dict:
    chosen = {name: v for name, v in VARIANTS.items()
              if not only or any(word.lower() in name.lower() for word in only)}
    runs: dict[str, list[dict]] = {name: [] for name in chosen}
    for _ in range(repeats):  # interleaved, so that every variant sees the same load
        for name, (kind, options) in chosen.items():
            runs[name].append(run_worker(["--worker", kind, "--options", json.dumps(options)]))
    results = {}
    for name, done in runs.items():
        fits = [r["fit_s"] for r in done]
        results[name] = {
            "best_s": min(fits), "median_s": statistics.median(fits), "runs_s": fits,
            "cpu_s": statistics.median(r["cpu_s"] for r in done),
            "accuracy": statistics.median(r["accuracy"] for r in done),
        }
        print(f"{name:40s} best {min(fits):6.2f} s  median {statistics.median(fits):6.2f} s"
              f"  accuracy {results[name]['accuracy']:.4f}", flush=True)
    def ratio(name: str, against: str, key: str) -> float:
        base = results.get(against, {}).get(key)
        return results[name][key] / base if base else float("nan")

    keras, sk = "Keras, written directly", "scikit-learn MLPClassifier"
    print("\n| variant | fit time, best (s) | median (s) | CPU (s) | accuracy "
          "| vs Keras (best, median) | vs scikit-learn (best, median) |")
    print("|---|---|---|---|---|---|---|")
    for name, r in results.items():
        print(f"| {name} | {r['best_s']:.2f} | {r['median_s']:.2f} | {r['cpu_s']:.2f} | "
              f"{r['accuracy']:.4f} | {ratio(name, keras, 'best_s'):.2f}, "
              f"{ratio(name, keras, 'median_s'):.2f} | {ratio(name, sk, 'best_s'):.2f}, "
              f"{ratio(name, sk, 'median_s'):.2f} |")
    return results


# -- streaming memory ------------------------------------------------------------------------
def write_csv(path: str, gigabytes: float, chunk_rows: int = 500_000, seed: int = 0) -> int:
    """Append chunks of synthetic rows until the file holds ``gigabytes`` GB; rows written."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.csv as pacsv

    rng = np.random.default_rng(seed)
    weights = rng.normal(size=N_FEATURES)
    target, rows = gigabytes * 1e9, 0
    with open(path, "wb") as fh:
        first = True
        while fh.tell() < target:
            X = rng.normal(size=(chunk_rows, N_FEATURES)).astype("float32")
            region = rng.integers(0, 8, chunk_rows)
            logit = X @ weights / 3 + (region - 3.5) / 4
            label = (rng.uniform(size=chunk_rows) < 1 / (1 + np.exp(-logit))).astype("int8")
            cols = {f"x{j}": X[:, j] for j in range(N_FEATURES)}
            cols["region"] = np.array([f"r{i}" for i in range(8)])[region]
            cols["label"] = label
            pacsv.write_csv(pa.table(cols), fh,
                            pacsv.WriteOptions(include_header=first))
            first, rows = False, rows + chunk_rows
    return rows


def _memory_sampler(peaks: dict, stop: threading.Event) -> None:
    while not stop.is_set():
        with open("/proc/self/status") as fh:
            for line in fh:
                key, _, value = line.partition(":")
                if key in ("VmRSS", "RssAnon"):
                    peaks[key] = max(peaks.get(key, 0), int(value.split()[0]))
        stop.wait(0.2)


def worker_stream(path: str, chunk_size: int) -> dict:
    import resource

    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    from estimators.io import csv_input
    from estimators.neural import DNNClassifier

    after_import = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    peaks: dict = {}
    stop = threading.Event()
    sampler = threading.Thread(target=_memory_sampler, args=(peaks, stop), daemon=True)
    sampler.start()
    stream = csv_input(path, label="label", chunk_size=chunk_size, shuffle_buffer=10_000,
                       sample_size=50_000, seed=0)
    clf = DNNClassifier(hidden_units=[UNITS], epochs=1, batch_size=BATCH, random_state=0)
    t0 = time.perf_counter()
    clf.fit(stream)
    fit_s = time.perf_counter() - t0
    stop.set()
    sampler.join()
    head = next(iter(csv_input(path, label="label", chunk_size=20_000).chunks()))
    return {
        "fit_s": fit_s,
        "ru_maxrss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "maxrss_after_imports_mb": after_import / 1024,
        "maxrss_python_start_mb": base / 1024,
        "peak_rss_sampled_mb": peaks.get("VmRSS", 0) / 1024,
        "peak_anon_rss_sampled_mb": peaks.get("RssAnon", 0) / 1024,
        "train_accuracy_first_20k_rows": clf.score(head.drop(columns="label"), head["label"]),
    }


def stream_memory_mode(gigabytes: float, chunk_size: int, keep: bool) -> dict:
    fd, path = tempfile.mkstemp(suffix=".csv", dir="/tmp", prefix="bench_dnn_")
    os.close(fd)
    try:
        t0 = time.perf_counter()
        # written by a child process: ru_maxrss survives fork + exec, so this process stays
        # small for the measuring child it starts next
        rows = run_worker(["--worker", "write", "--csv", path, "--gb", str(gigabytes)])["rows"]
        size = os.path.getsize(path)
        print(f"wrote {path}: {size / 1e9:.2f} GB, {rows:,} rows in "
              f"{time.perf_counter() - t0:.0f} s", flush=True)
        result = run_worker(["--worker", "stream", "--csv", path,
                             "--chunk-size", str(chunk_size)])
        result.update(rows=rows, file_gb=size / 1e9, chunk_size=chunk_size)
        for key, value in result.items():
            print(f"{key}: {value:.3f}" if isinstance(value, float) else f"{key}: {value}")
        return result
    finally:
        if not keep:
            os.remove(path)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--only", nargs="*", help="run the variants whose names contain one "
                        "of these words (e.g. defaults scikit-learn)")
    parser.add_argument("--stream-memory", action="store_true")
    parser.add_argument("--gb", type=float, default=2.0)
    parser.add_argument("--chunk-size", type=int, default=50_000)
    parser.add_argument("--keep", action="store_true", help="keep the CSV file")
    parser.add_argument("--out", help="write the results as JSON here")
    parser.add_argument("--quick", action="store_true",
                        help="4,000 rows, one epoch, one round; no streaming (a smoke test)")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--options", default="{}", help=argparse.SUPPRESS)
    parser.add_argument("--csv", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.quick:
        make_quick()
        args.repeats, args.stream_memory = 1, False
    if args.worker == "write":
        print(json.dumps({"rows": write_csv(args.csv, args.gb)}))
        return
    if args.worker == "stream":
        print(json.dumps(worker_stream(args.csv, args.chunk_size)))
        return
    if args.worker:
        print(json.dumps(worker_fit(args.worker, json.loads(args.options))))
        return
    if args.stream_memory:
        results = stream_memory_mode(args.gb, args.chunk_size, args.keep)
    else:
        results = fit_time_mode(args.repeats, args.only)
    if args.out:
        with open(args.out, "w") as fh:
            json.dump(results, fh, indent=2)


if __name__ == "__main__":
    main()
