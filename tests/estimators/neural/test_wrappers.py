"""Keras wrappers given a DataFrame with categorical columns: one named input per column;
a model whose inputs are named otherwise gets an error naming both sides."""

import keras
import numpy as np
import pandas as pd
import pytest

from estimators.neural import KerasClassifier


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
