"""Variational inference on a file larger than memory (here, a small stand-in).

A Bayesian logistic regression is fitted three ways: full-rank ADVI on the data in memory,
minibatch ADVI on the same data in memory, and minibatch ADVI reading the rows from a CSV
file in chunks (what you would do when the file does not fit in memory). The three
posterior means agree within a fraction of a posterior sd.

Run it with ``python examples/variational.py``.
"""

from __future__ import annotations

import os
import tempfile

import numpy as np
import pandas as pd

import tfstats as ts


def _model(X: ts.Array | np.ndarray, y: ts.Array | np.ndarray) -> ts.Model:
    intercept = ts.normal(0, 5)
    coef = ts.normal(0, 2, dim=X.shape[1])
    ts.bernoulli(ts.ilogit(intercept + X @ coef), observed=y)
    return ts.model(intercept, coef)


def main(n_rows: int = 100_000, batch_size: int = 2_000, steps: int = 5_000,
         progress: bool = True) -> dict[str, ts.VIResult]:
    rng = np.random.default_rng(1)
    X = rng.normal(size=(n_rows, 3))
    p = 1 / (1 + np.exp(-(-0.5 + X @ np.array([1.0, -0.5, 0.25]))))
    y = (rng.uniform(size=n_rows) < p).astype(float)

    fits = {"in memory": ts.vi(_model(X, y), method="fullrank", seed=1, progress=progress)}

    X_b, y_b = ts.minibatch(X, y, batch_size=batch_size, seed=1)
    fits["minibatch"] = ts.vi(_model(X_b, y_b), steps=steps, seed=1, progress=progress)

    path = os.path.join(tempfile.mkdtemp(), "rows.csv")
    pd.DataFrame({"x1": X[:, 0], "x2": X[:, 1], "x3": X[:, 2], "y": y}).to_csv(
        path, index=False)
    X_s, y_s = ts.minibatch([path], batch_size=batch_size, columns=[["x1", "x2", "x3"], "y"],
                            seed=1)
    fits["CSV stream"] = ts.vi(_model(X_s, y_s), steps=steps, seed=1, progress=progress)

    for name, fit in fits.items():
        print(f"{name:>10}: steps {fit.steps:5d}  coef mean {np.round(fit.mean['coef'], 3)}"
              f"  sd {np.round(fit.sd['coef'], 4)}")
    return fits


if __name__ == "__main__":
    main()
