"""Deep-net estimators: DataFrames, errors, history, warm start, wrappers, pickling."""

import pickle

import keras
import matplotlib
import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.datasets import make_classification, make_regression
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from estimators.neural import (
    DNNClassifier,
    DNNLinearCombinedClassifier,
    DNNLinearCombinedRegressor,
    DNNRegressor,
    KerasClassifier,
    KerasRegressor,
    plot_history,
)

matplotlib.use("Agg")

FEATURES = ["age", "income", "region", "city", "member"]


def customers(n: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    df = pd.DataFrame({
        "age": rng.uniform(18, 80, n),
        "income": rng.lognormal(10, 0.4, n),
        "region": rng.choice(["east", "north", "south", "west"], n),
        "city": pd.Categorical(rng.choice([f"c{i}" for i in range(30)], n)),
        "member": rng.uniform(size=n) < 0.3,
    })
    logit = -2 + 0.05 * df["age"] + 1.5 * df["member"] + (df["region"] == "north") * 1.5
    df["bought"] = np.where(rng.uniform(size=n) < 1 / (1 + np.exp(-logit)), "yes", "no")
    df["spend"] = 10 + 0.3 * df["age"] + 8 * df["member"] + rng.normal(0, 1, n)
    return df


@pytest.fixture(scope="module")
def frame():
    return customers(600)


@pytest.fixture(scope="module")
def frame_clf(frame):
    clf = DNNClassifier(hidden_units=[16], epochs=8, learning_rate=0.01, validation_split=0.2,
                        random_state=0)
    return clf.fit(frame[FEATURES], frame["bought"])


def test_dataframe_columns_become_inputs(frame_clf, frame):
    kinds = {c.name: c.kind for c in frame_clf.schema_.columns}
    assert kinds == {"age": "numeric", "income": "numeric", "region": "categorical",
                     "city": "categorical", "member": "categorical"}
    names = [layer.name for layer in frame_clf.model_.layers]
    assert "embed_city" in names and "onehot_region" in names
    assert "normalize_dnn" in names
    assert list(frame_clf.feature_names_in_) == FEATURES
    proba = frame_clf.predict_proba(frame[FEATURES])
    assert proba.shape == (600, 2)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    assert set(frame_clf.predict(frame[FEATURES].head(20))) <= {"no", "yes"}
    assert frame_clf.score(frame[FEATURES], frame["bought"]) > 0.6


def test_history_frame_and_plots(frame_clf, tmp_path):
    hist = frame_clf.history_
    assert list(hist.columns) == ["loss", "accuracy", "val_loss", "val_accuracy"]
    assert hist.index.name == "epoch" and hist.index.tolist() == list(range(1, 9))
    fig = plot_history(hist)
    assert [a.get_title() for a in fig.axes] == ["loss", "accuracy"]
    assert len(fig.axes[0].lines) == 2  # train and validation
    fig.savefig(tmp_path / "h.png")
    assert hist.plot() is not None  # a plain DataFrame plot works too
    assert plot_history(frame_clf, metrics=["loss"]).axes[0].get_title() == "loss"
    with pytest.raises(ValueError, match="'auc' is not in the history"):
        plot_history(hist, metrics=["auc"])


def test_unseen_category_names_column_and_value(frame_clf, frame):
    bad = frame[FEATURES].head(3).copy()
    bad["region"] = ["east", "mars", "west"]
    with pytest.raises(ValueError, match=r"column 'region' .*never seen.*'mars'"):
        frame_clf.predict(bad)


def test_missing_and_mistyped_columns(frame_clf, frame):
    with pytest.raises(ValueError, match="income"):
        frame_clf.predict(frame[FEATURES].drop(columns="income"))
    wrong = frame[FEATURES].head(3).assign(age=["old", "young", "old"])
    with pytest.raises(ValueError, match="column 'age' was numeric"):
        frame_clf.predict(wrong)
    floats = frame[FEATURES].head(3).assign(region=[1.5, 2.5, 3.5])
    with pytest.raises(ValueError, match="column 'region' was categorical"):
        frame_clf.predict(floats)
    nan = frame[FEATURES].head(3).assign(income=[1.0, np.nan, 2.0])
    with pytest.raises(ValueError, match="column 'income' has missing values"):
        frame_clf.predict(nan)
    with pytest.raises(ValueError, match="pass a DataFrame"), \
            pytest.warns(UserWarning, match="valid feature names"):
        frame_clf.predict(np.zeros((2, 5)))


def test_missing_categorical_values_are_an_error():
    # the schema's rule (estimators.tabular.schema), as for the GLMs: no "<NA>" level
    df = pd.DataFrame({"x": np.arange(40.0), "c": ["a", None, "b", "a"] * 10})
    clf = DNNClassifier(hidden_units=[4], epochs=1, random_state=0)
    with pytest.raises(ValueError, match=r"column 'c' has missing values .* in 10 of 40 rows"):
        clf.fit(df, np.arange(40) % 2)
    clf.fit(df.fillna({"c": "missing"}), np.arange(40) % 2)
    assert clf.schema_.column("c").vocabulary == ["a", "b", "missing"]
    assert clf.predict(df.fillna({"c": "missing"}).head(4)).shape == (4,)


def test_validation_data_early_stopping_and_callbacks():
    X, y = make_classification(400, 6, random_state=1)
    seen = []
    cb = keras.callbacks.LambdaCallback(on_epoch_end=lambda e, logs: seen.append(e))
    clf = DNNClassifier(hidden_units=[8], epochs=50, learning_rate=0.05, early_stopping=2,
                        callbacks=[cb], random_state=0)
    clf.fit(X[:300], y[:300], validation_data=(X[300:], y[300:]))
    assert "val_loss" in clf.history_ and len(clf.history_) < 50
    assert seen == list(range(len(clf.history_)))


def test_sample_weight_and_class_weight():
    X, y = make_classification(300, 4, weights=[0.9], random_state=0)
    plain = DNNClassifier(hidden_units=[8], epochs=5, random_state=0).fit(X, y)
    balanced = DNNClassifier(hidden_units=[8], epochs=5, random_state=0,
                             class_weight="balanced").fit(X, y)
    assert (balanced.predict(X) == 1).mean() > (plain.predict(X) == 1).mean()
    with pytest.raises(ValueError, match="sample_weight must have shape"):
        plain.fit(X, y, sample_weight=np.ones(3))


def test_warm_start_and_partial_fit():
    X, y = make_classification(200, 4, random_state=0)
    clf = DNNClassifier(hidden_units=[8], epochs=2, warm_start=True, random_state=0)
    clf.fit(X, y)
    model = clf.model_
    clf.fit(X, y)
    assert clf.model_ is model and clf.history_.index.tolist() == [1, 2, 3, 4]
    clf.set_params(warm_start=False).fit(X, y)
    assert clf.model_ is not model and len(clf.history_) == 2

    part = DNNClassifier(hidden_units=[8], random_state=0)
    part.partial_fit(X[:100], y[:100], classes=[0, 1])
    part.partial_fit(X[100:], y[100:])
    assert len(part.history_) == 2
    reg = DNNRegressor(hidden_units=[8], random_state=0)
    reg.partial_fit(X, X[:, 0]).partial_fit(X, X[:, 0])
    assert reg.history_.index.tolist() == [1, 2]
    with pytest.raises(ValueError, match="not seen in fit"):
        part.partial_fit(X[:5], [0, 1, 2, 0, 1])


def test_regressor_multi_output_and_target_scaling():
    X, Y = make_regression(300, 5, n_targets=2, noise=1.0, random_state=0)
    reg = DNNRegressor(hidden_units=[16], epochs=30, learning_rate=0.01, random_state=0)
    reg.fit(X, Y * 1000)
    assert reg.n_outputs_ == 2 and reg.predict(X).shape == (300, 2)
    assert reg.score(X, Y * 1000) > 0.9


def test_wide_and_deep_splits_columns(frame):
    clf = DNNLinearCombinedClassifier(linear_features=["region", "city", "member"],
                                      dnn_features=["age", "income"], hidden_units=[8],
                                      epochs=3, random_state=0)
    clf.fit(frame[FEATURES], frame["bought"])
    names = {layer.name for layer in clf.model_.layers}
    assert {"linear_logits", "dnn_logits", "onehot_city", "normalize_dnn"} <= names
    assert "embed_city" not in names  # city only in the linear part: one-hot there
    X = np.random.default_rng(0).normal(size=(80, 3))
    reg = DNNLinearCombinedRegressor(linear_features=[0], dnn_features=[1, 2],
                                     hidden_units=[4], epochs=2, random_state=0)
    assert reg.fit(X, X[:, 0]).predict(X).shape == (80,)
    with pytest.raises(ValueError, match="unknown column 'nope'"):
        DNNLinearCombinedRegressor(linear_features=["nope"], epochs=1).fit(X, X[:, 0])


def test_pickle_clone_and_model_selection(frame_clf, frame):
    again = pickle.loads(pickle.dumps(frame_clf))
    np.testing.assert_array_equal(again.predict_proba(frame[FEATURES]),
                                  frame_clf.predict_proba(frame[FEATURES]))
    assert again.history_.equals(frame_clf.history_)
    assert clone(frame_clf).get_params() == frame_clf.get_params()
    X, y = make_classification(150, 4, random_state=0)
    pipe = make_pipeline(StandardScaler(), DNNClassifier(hidden_units=[4], epochs=2,
                                                         random_state=0))
    search = GridSearchCV(pipe, {"dnnclassifier__learning_rate": [0.01, 0.1]}, cv=2)
    search.fit(X, y)
    assert search.best_params_["dnnclassifier__learning_rate"] in (0.01, 0.1)


def test_determinism_with_random_state():
    X, y = make_classification(120, 4, random_state=0)
    a = DNNClassifier(hidden_units=[8], epochs=3, random_state=3).fit(X, y).predict_proba(X)
    b = DNNClassifier(hidden_units=[8], epochs=3, random_state=3).fit(X, y).predict_proba(X)
    np.testing.assert_array_equal(a, b)


def test_parameter_errors():
    X, y = make_classification(40, 3, n_informative=2, n_redundant=0, random_state=0)
    with pytest.raises(ValueError, match="hidden_units"):
        DNNClassifier(hidden_units=[0]).fit(X, y)
    with pytest.raises(ValueError, match="batch_size"):
        DNNClassifier(batch_size=0).fit(X, y)
    with pytest.raises(ValueError, match="steps_per_execution"):
        DNNClassifier(steps_per_execution="often", epochs=1).fit(X, y)
    with pytest.raises(ValueError, match="at least 2 classes"):
        DNNClassifier(epochs=1).fit(X, np.zeros(40))


# -- Keras wrappers ------------------------------------------------------------------------
def cnn(n_classes_, X_shape_):
    return keras.Sequential([
        keras.Input(X_shape_),
        keras.layers.Conv2D(4, 3, activation="relu"),
        keras.layers.GlobalAveragePooling2D(),
        keras.layers.Dense(n_classes_, activation="softmax"),
    ])


def test_keras_classifier_cnn_validation_data_and_pickle():
    rng = np.random.default_rng(0)
    X = rng.uniform(size=(90, 8, 8, 1)).astype("float32")
    y = np.tile(["a", "b", "c"], 30)
    X[y == "b"] += 0.5
    clf = KerasClassifier(cnn, epochs=3, random_state=0)
    clf.fit(X[:60], y[:60], validation_data=(X[60:], y[60:]))
    assert clf.X_shape_ == (8, 8, 1) and "val_accuracy" in clf.history_
    assert clf.predict_proba(X[:5]).shape == (5, 3)
    again = pickle.loads(pickle.dumps(clf))
    np.testing.assert_array_equal(again.predict_proba(X), clf.predict_proba(X))


def test_keras_model_instance_is_copied_not_mutated():
    inp = keras.Input((4,))
    model = keras.Model(inp, keras.layers.Dense(1, activation="sigmoid")(inp))
    before = [w.copy() for w in model.get_weights()]
    X, y = make_classification(60, 4, random_state=0)
    clf = KerasClassifier(model, epochs=2, random_state=0).fit(X, y)
    assert clf.model_ is not model
    for w0, w1 in zip(before, model.get_weights(), strict=True):
        np.testing.assert_array_equal(w0, w1)
    assert clf.predict(X).shape == (60,)


def test_keras_classifier_one_hot_loss_and_wrong_width():
    X, y = make_classification(60, 4, n_classes=3, n_informative=3, n_redundant=0,
                               random_state=0)

    def build(n_classes_):
        return keras.Sequential([keras.Input((4,)),
                                 keras.layers.Dense(n_classes_, activation="softmax")])

    clf = KerasClassifier(build, loss="categorical_crossentropy", epochs=1, random_state=0)
    assert clf.fit(X, y).predict_proba(X).shape == (60, 3)

    def too_wide():
        return keras.Sequential([keras.Input((4,)), keras.layers.Dense(5)])

    with pytest.raises(ValueError, match="5 output units but there are 3 classes"):
        KerasClassifier(too_wide, epochs=1).fit(X, y)


def test_keras_regressor_rnn_and_dict_inputs():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(64, 5, 2)).astype("float32")
    y = X.sum(axis=(1, 2))

    def rnn(X_shape_, units=4):
        return keras.Sequential([keras.Input(X_shape_), keras.layers.SimpleRNN(units),
                                 keras.layers.Dense(1)])

    reg = KerasRegressor(rnn, model_kwargs={"units": 3}, epochs=2, random_state=0).fit(X, y)
    assert reg.model_.layers[0].units == 3 and reg.predict(X).shape == (64,)

    a, b = keras.Input((2,), name="a"), keras.Input((3,), name="b")
    out = keras.layers.Dense(1)(keras.layers.Concatenate()([a, b]))
    two = keras.Model({"a": a, "b": b}, out)
    data = {"a": rng.normal(size=(50, 2)), "b": rng.normal(size=(50, 3))}
    reg2 = KerasRegressor(two, epochs=1, random_state=0).fit(data, data["a"][:, 0])
    assert reg2.predict(data).shape == (50,)


def test_keras_wrapper_requires_model():
    with pytest.raises(ValueError, match="The .model. parameter of KerasRegressor must be"):
        KerasRegressor(epochs=1).fit(np.zeros((4, 2)), np.zeros(4))
