"""SavedModel export: raw-column signature, usable without this project; reload."""

import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pandas as pd
import pytest
from sklearn.exceptions import NotFittedError

from estimators.export import ESTIMATOR_FILE, export_saved_model, load_estimator
from estimators.neural import DNNClassifier, DNNRegressor, KerasRegressor, load

SERVE = textwrap.dedent("""
    import json, sys
    import tensorflow as tf
    assert not any(m.split(".")[0] in ("estimators", "tfstats") for m in sys.modules)
    results = []
    for path, inputs in json.load(open(sys.argv[1])):
        serve = tf.saved_model.load(path).signatures["serving_default"]
        args = {k: tf.constant(v["values"], dtype=v["dtype"]) for k, v in inputs.items()}
        out = serve(**args)
        results.append({k: [x.decode() for x in v.numpy()] if v.dtype == tf.string
                        else v.numpy().tolist() for k, v in out.items()})
    json.dump(results, sys.stdout)
""")


def serve_in_fresh_process(jobs, tmp_path):
    """Run serving signatures in a Python that imports only TensorFlow (one start-up)."""
    spec = tmp_path / "jobs.json"
    spec.write_text(json.dumps([[str(path), inputs] for path, inputs in jobs]))
    env = {**os.environ, "PYTHONPATH": "", "TF_CPP_MIN_LOG_LEVEL": "3"}
    done = subprocess.run([sys.executable, "-c", SERVE, str(spec)], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout)


@pytest.fixture(scope="module")
def table():
    rng = np.random.default_rng(0)
    n = 300
    df = pd.DataFrame({
        "size": rng.normal(10, 3, n),
        "colour": rng.choice(["red", "green", "blue"], n),
        "shop id": rng.choice([f"s{i}" for i in range(25)], n),  # a space, > 20 levels
    })
    y = np.where(df["size"] + (df["colour"] == "red") * 3 + rng.normal(0, 1, n) > 11,
                 "big", "small")
    return df, y


def test_exported_models_match_predictions_without_this_project(table, tmp_path):
    df, y = table
    clf = DNNClassifier(hidden_units=[8], epochs=3, random_state=0).fit(df, y)
    clf_path = clf.export(tmp_path / "clf")
    info = json.loads((tmp_path / "clf" / "assets.extra" / "serving.json").read_text())
    names = {i["column"]: i["name"] for i in info["inputs"]}
    assert names == {"size": "size", "colour": "colour", "shop id": "shop_id"}
    head = df.head(50)
    clf_inputs = {
        "size": {"values": head["size"].tolist(), "dtype": "float32"},
        "colour": {"values": head["colour"].tolist(), "dtype": "string"},
        "shop_id": {"values": head["shop id"].tolist(), "dtype": "string"},
    }
    rng = np.random.default_rng(1)
    X = rng.normal(size=(200, 3))
    reg = DNNRegressor(hidden_units=[8], epochs=3, random_state=0).fit(X, 500 + 100 * X[:, 0])
    reg_path = export_saved_model(reg, tmp_path / "reg")
    reg_inputs = {"inputs": {"values": X[:20].tolist(), "dtype": "float32"}}

    out_clf, out_reg = serve_in_fresh_process(
        [(clf_path, clf_inputs), (reg_path, reg_inputs)], tmp_path)
    np.testing.assert_allclose(out_clf["probabilities"], clf.predict_proba(head), atol=1e-5)
    assert out_clf["classes"] == clf.predict(head).tolist()
    np.testing.assert_allclose(out_reg["predictions"], reg.predict(X[:20]), rtol=1e-5)
    np.testing.assert_array_equal(load(clf_path).predict_proba(head), clf.predict_proba(head))
    assert isinstance(load_estimator(reg_path), DNNRegressor)


def test_export_keras_wrapper_with_image_input(tmp_path):
    import keras
    import tensorflow as tf

    def build(X_shape_):
        return keras.Sequential([keras.Input(X_shape_), keras.layers.Flatten(),
                                 keras.layers.Dense(2)])

    X = np.random.default_rng(0).uniform(size=(40, 4, 4, 1))
    y = np.c_[X.sum(axis=(1, 2, 3)), -X[:, 0, 0, 0]]
    reg = KerasRegressor(build, epochs=1, random_state=0).fit(X, y)
    with pytest.warns(UserWarning, match="complete for serving"):  # `build` is local
        path = reg.export(tmp_path / "img")
    serve = tf.saved_model.load(path).signatures["serving_default"]
    got = serve(inputs=tf.constant(X[:5], tf.float32))["predictions"].numpy()
    np.testing.assert_allclose(got, reg.predict(X[:5]), rtol=1e-5, atol=1e-6)


def test_export_errors(table, tmp_path):
    with pytest.raises(NotFittedError):
        DNNClassifier().export(tmp_path / "x")
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "f").write_text("")
    df, y = table
    clf = DNNClassifier(hidden_units=[2], epochs=1, random_state=0).fit(df.head(40), y[:40])
    with pytest.raises(FileExistsError):
        clf.export(tmp_path / "full")
    with pytest.raises(FileNotFoundError, match=ESTIMATOR_FILE.split(os.sep)[-1]):
        load(tmp_path / "full")


def test_signature_keys_are_the_input_names_tensorflow_keeps(tmp_path):
    # "a.b" and "a-b" used to keep their "." and "-", which tf.function rewrites to "_":
    # the two collided and export failed; "2020 sales" came out as "arg_2020_sales"
    import tensorflow as tf

    rng = np.random.default_rng(3)
    columns = ["a.b", "a-b", "2020 sales", "Region"]
    df = pd.DataFrame({c: rng.normal(size=40) for c in columns[:3]})
    df["Region"] = rng.choice(["north", "south"], 40)
    clf = DNNClassifier(hidden_units=[2], epochs=1, random_state=0).fit(df, np.arange(40) % 2)
    path = clf.export(tmp_path / "names")
    info = json.loads((tmp_path / "names" / "assets.extra" / "serving.json").read_text())
    names = {i["column"]: i["name"] for i in info["inputs"]}
    assert names == {"a.b": "a_b", "a-b": "a_b_1", "2020 sales": "f2020_sales",
                     "Region": "Region"}
    serve = tf.saved_model.load(path).signatures["serving_default"]
    assert sorted(serve.structured_input_signature[1]) == sorted(names.values())
    args = {names[c]: tf.constant(df[c].to_numpy(), tf.float32) for c in columns[:3]}
    got = serve(**args, Region=tf.constant(df["Region"].to_numpy()))["probabilities"]
    np.testing.assert_allclose(got.numpy(), clf.predict_proba(df), atol=1e-6)
