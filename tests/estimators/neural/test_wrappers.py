"""Keras wrappers given a DataFrame with categorical columns: one named input per column;
a model whose inputs are named otherwise gets an error naming both sides. A subclassed
model (no symbolic outputs, no ``compute_output_shape``) is sized by tracing its call."""

import pickle

import keras
import numpy as np
import pandas as pd
import pytest

from estimators.neural import KerasClassifier, KerasRegressor


@pytest.fixture(scope="module")
def frame():
    rng = np.random.default_rng(0)
    X = pd.DataFrame({"age": rng.normal(size=40), "zip code": rng.choice(["x", "y"], 40)})
    return X, (X["age"] > 0).astype(int)


def flat(n_features_in_):
    return keras.Sequential([keras.Input((n_features_in_,)),
                             keras.layers.Dense(1, activation="sigmoid")])


def named():
    inputs = {"age": keras.Input((1,), name="age"),
              "zip_code": keras.Input((1,), name="zip_code", dtype="string")}
    zip_code = keras.layers.StringLookup(vocabulary=["x", "y"], output_mode="one_hot")(
        inputs["zip_code"])
    hidden = keras.layers.Concatenate()([inputs["age"], zip_code])
    return keras.Model(inputs, keras.layers.Dense(1, activation="sigmoid")(hidden))


@pytest.mark.parametrize("model", [flat, flat(2)], ids=["function", "instance"])
def test_frame_inputs_misnamed_are_a_clear_error(frame, model):
    X, y = frame
    with pytest.raises(ValueError, match=r"categorical columns \['zip code'\]: the model gets "
                                         r"one input .* named \['age', 'zip_code'\]"):
        KerasClassifier(model, epochs=1).fit(X, y)


def test_frame_inputs_named_after_the_columns_train(frame):
    X, y = frame
    clf = KerasClassifier(named, epochs=1, random_state=0).fit(X, y)
    np.testing.assert_allclose(clf.predict_proba(X).sum(axis=1), 1.0, rtol=1e-6)
    # raw text goes to the model's own StringLookup, which maps an unseen value to its
    # out-of-vocabulary slot: no error here (a missing value still is one)
    new = X.head(3).assign(**{"zip code": ["z", "x", "w"]})
    np.testing.assert_allclose(clf.predict_proba(new).sum(axis=1), 1.0, rtol=1e-6)
    with pytest.raises(ValueError, match="'zip code' has missing values"):
        clf.predict(new.assign(**{"zip code": ["x", None, "y"]}))


@keras.saving.register_keras_serializable(package="tests_wrappers")
class TwoLayer(keras.Model):
    """A subclassed model: Keras cannot tell its output width without calling it."""

    def __init__(self, units: int = 1, activation: str = "sigmoid", **kwargs):
        super().__init__(**kwargs)
        self.units, self.activation = units, activation
        self.hidden = keras.layers.Dense(4, activation="relu")
        self.out = keras.layers.Dense(units, activation=activation)

    def call(self, x):
        return self.out(self.hidden(x))

    def get_config(self):
        return {**super().get_config(), "units": self.units, "activation": self.activation}


def two_layer_classifier():
    return TwoLayer()


def two_layer_regressor(n_outputs_):
    return TwoLayer(units=n_outputs_, activation="linear")


def test_subclassed_models_train_and_pickle():
    rng = np.random.default_rng(2)
    X = rng.normal(size=(48, 3)).astype("float32")
    clf = KerasClassifier(two_layer_classifier, epochs=1, random_state=0).fit(X, X[:, 0] > 0)
    proba = clf.predict_proba(X[:4])
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-6)
    np.testing.assert_allclose(pickle.loads(pickle.dumps(clf)).predict_proba(X[:4]), proba,
                               rtol=1e-6)
    reg = KerasRegressor(two_layer_regressor, epochs=1, random_state=0)
    assert reg.fit(X, np.column_stack([X[:, 0], X[:, 1]])).predict(X[:4]).shape == (4, 2)
    with pytest.raises(ValueError, match="2 output units but there are 3 classes"):
        KerasClassifier(lambda: TwoLayer(units=2, activation="softmax"), epochs=1).fit(
            X, np.arange(48) % 3)
