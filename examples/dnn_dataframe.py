"""Deep nets on a DataFrame with numeric, categorical and boolean columns.

A simulated customer table: ``age`` and ``income`` are numbers, ``region`` is text with
four levels (one-hot encoded in the model), ``city`` has 60 levels (more than
``embedding_threshold``, so it gets an embedding) and ``member`` is a bool. We fit

1. a ``DNNClassifier`` (did they buy?), with a validation split and early stopping;
2. a wide & deep ``DNNLinearCombinedClassifier``: the categorical columns in the linear
   part, the numbers (and the city embedding) in the deep part;
3. a ``DNNRegressor`` (how much did they spend?),

then export the classifier as a SavedModel that takes the raw columns and check that the
exported graph and the reloaded estimator agree with ``predict_proba``.

Run it with ``python examples/dnn_dataframe.py``.
"""

from __future__ import annotations

import tempfile

import numpy as np
import pandas as pd
from sklearn.metrics import r2_score

from estimators.neural import (
    DNNClassifier,
    DNNLinearCombinedClassifier,
    DNNRegressor,
    load,
)


def make_customers(n: int, seed: int = 0) -> pd.DataFrame:
    """A table of ``n`` simulated customers with the outcomes ``bought`` and ``spend``."""
    rng = np.random.default_rng(seed)
    cities = [f"city_{i:02d}" for i in range(60)]
    city_effect = dict(zip(cities, rng.normal(0, 0.7, len(cities)), strict=True))
    df = pd.DataFrame({
        "age": rng.uniform(18, 80, n).round(),
        "income": rng.lognormal(10.5, 0.4, n).round(-2),
        "region": rng.choice(["east", "north", "south", "west"], n),
        "city": rng.choice(cities, n),
        "member": rng.uniform(size=n) < 0.3,
    })
    region = df["region"].map({"east": 0.0, "north": 0.8, "south": -0.8, "west": 0.3})
    logit = (-2.0 + 0.04 * df["age"] + 1.2 * df["member"] + region
             + df["city"].map(city_effect) - 0.0015 * (df["age"] - 50) ** 2)
    df["bought"] = np.where(rng.uniform(size=n) < 1 / (1 + np.exp(-logit)), "yes", "no")
    df["spend"] = (20 + 0.002 * df["income"] + 15 * df["member"] + 10 * region
                   + 0.01 * (df["age"] - 50) ** 2 + rng.normal(0, 5, n))
    return df


def main(n: int = 4000, epochs: int = 30, seed: int = 0, verbose: int = 0) -> dict:
    """Fit the three models; print and return their test scores."""
    df = make_customers(n, seed)
    train, test = df.iloc[: n * 3 // 4], df.iloc[n * 3 // 4:]
    features = ["age", "income", "region", "city", "member"]
    out = {}

    clf = DNNClassifier(hidden_units=[32, 16], dropout=0.1, epochs=epochs,
                        validation_split=0.2, early_stopping=5, random_state=seed,
                        verbose=verbose)
    clf.fit(train[features], train["bought"])
    out["dnn_accuracy"] = clf.score(test[features], test["bought"])
    print("column kinds:", {c.name: c.kind for c in clf.schema_.columns})
    print(f"DNNClassifier: {len(clf.history_)} epochs, "
          f"test accuracy {out['dnn_accuracy']:.3f}")

    wide = DNNLinearCombinedClassifier(
        linear_features=["region", "city", "member"], dnn_features=["age", "income", "city"],
        hidden_units=[16], epochs=epochs, random_state=seed, verbose=verbose)
    wide.fit(train[features], train["bought"])
    out["wide_deep_accuracy"] = wide.score(test[features], test["bought"])
    print(f"DNNLinearCombinedClassifier: test accuracy {out['wide_deep_accuracy']:.3f}")

    reg = DNNRegressor(hidden_units=[32], epochs=epochs, random_state=seed, verbose=verbose)
    reg.fit(train[features], train["spend"])
    out["r2"] = r2_score(test["spend"], reg.predict(test[features]))
    print(f"DNNRegressor: test R^2 {out['r2']:.3f}")

    try:
        clf.predict(test[features].assign(region="mars"))
    except ValueError as err:
        print("unseen category ->", err)

    with tempfile.TemporaryDirectory() as tmp:
        path = clf.export(f"{tmp}/customers")
        import tensorflow as tf

        serve = tf.saved_model.load(path).signatures["serving_default"]
        head = test[features].head(5)
        raw = {c: tf.constant(head[c].astype(str).to_numpy() if c in ("region", "city",
                                                                      "member")
                              else head[c].to_numpy(np.float32)) for c in features}
        exported = serve(**raw)["probabilities"].numpy()
        out["export_max_abs_diff"] = float(np.abs(exported - clf.predict_proba(head)).max())
        again = load(path)
        out["reload_equal"] = bool(np.allclose(again.predict_proba(head),
                                               clf.predict_proba(head)))
    print(f"exported SavedModel vs predict_proba: max |diff| {out['export_max_abs_diff']:.2e}; "
          f"reloaded estimator agrees: {out['reload_equal']}")
    return out


if __name__ == "__main__":
    main(verbose=0)
