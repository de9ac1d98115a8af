"""The network and feature handling behind ``DNNClassifier`` / ``DNNRegressor`` and the
wide & deep estimators of :mod:`estimators.neural`.

Examples
--------
>>> import numpy as np
>>> from estimators.neural.dnn import build_network
>>> from estimators.tabular.preprocessing import infer_schema
>>> model = build_network(infer_schema(np.zeros((4, 3))), n_outputs=1,
...                       output_activation="sigmoid", hidden_units=[8], activation="relu",
...                       dropout=None, batch_norm=False)
>>> model.output.shape
(None, 1)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp
from sklearn.utils.validation import validate_data

from estimators.neural.base import BACKEND, NeuralEstimator
from estimators.tabular.preprocessing import (
    FeatureSchema,
    _Encoder,
    build_inputs,
    encode_columns,
    infer_schema,
    keras,
    to_model_inputs,
)

__all__ = ["build_network", "DNNBase"]


def build_network(
    schema: FeatureSchema,
    *,
    n_outputs: int,
    output_activation: str,
    hidden_units: Sequence[int],
    activation: str,
    dropout: float | None,
    batch_norm: bool,
    wide: bool = False,
    linear_features: Sequence[str] | None = None,
    dnn_features: Sequence[str] | None = None,
    seed: int | None = None,
) -> Any:
    """The Keras model of a DNN (or wide & deep) estimator, preprocessing included."""
    layers = keras.layers
    inputs = build_inputs(schema)
    enc = _Encoder(schema, inputs, seed)
    h = encode_columns(enc, dnn_features, mode="deep", tag="dnn")
    for i, units in enumerate(hidden_units):
        h = layers.Dense(int(units), use_bias=not batch_norm, name=f"hidden_{i}")(h)
        if batch_norm:
            h = layers.BatchNormalization(name=f"batch_norm_{i}")(h)
        h = layers.Activation(activation, name=f"activation_{i}")(h)
        if dropout:
            h = layers.Dropout(float(dropout), name=f"dropout_{i}")(h)
    logits = layers.Dense(n_outputs, name="dnn_logits")(h)
    if wide:
        x = encode_columns(enc, linear_features, mode="linear", tag="linear")
        logits = layers.Add(name="logits")([logits, layers.Dense(n_outputs,
                                                                 name="linear_logits")(x)])
    out = layers.Activation(output_activation, name="output")(logits)
    model_inputs = inputs["inputs"] if schema.layout == "array" else inputs
    return keras.Model(inputs=model_inputs, outputs=out)


class DNNBase(NeuralEstimator):
    """Features (raw columns, preprocessing in the model) and network of the DNN family."""

    _wide = False

    def _check_features(self, X: Any, *, reset: bool) -> Any:
        if isinstance(X, dict) and not sp.issparse(X):
            X = pd.DataFrame({k: np.asarray(v).reshape(len(v), -1)[:, 0] for k, v in X.items()})
        if isinstance(X, pd.DataFrame):
            validate_data(self, X, reset=reset, skip_check_array=True)
            if reset:
                self.schema_ = infer_schema(
                    X, categorical=self.categorical_features,
                    embedding_threshold=self.embedding_threshold,
                    string_inputs=BACKEND == "tensorflow",
                )
            return X
        if reset and self.categorical_features:
            raise ValueError("categorical_features names DataFrame columns; X is not a DataFrame")
        if reset or self.schema_.layout == "array":
            X = validate_data(self, X, reset=reset, dtype=[np.float64, np.float32])
        else:
            X = validate_data(self, X, reset=False, dtype=None)
        if reset:
            self.schema_ = infer_schema(X)
        return X

    def _model_inputs(self, X: Any, *, check_unseen: bool = True) -> Any:
        return to_model_inputs(self.schema_, X, check_unseen=check_unseen)

    def _features_from_tf(self, x: Any) -> Any:
        import tensorflow as tf

        schema = self.schema_
        if schema.layout == "array":
            if isinstance(x, dict):
                raise ValueError("the model was fitted on an array; the dataset yields a dict")
            return tf.cast(x, tf.float32)
        if not isinstance(x, dict):
            raise ValueError("the model was fitted on named columns: the dataset must yield a "
                             f"dict of features with keys {schema.names}")
        out = {}
        for spec in schema.columns:
            if spec.name not in x:
                raise ValueError(f"missing feature column {spec.name!r} in the dataset")
            t = x[spec.name]
            if spec.kind == "numeric":
                t = tf.cast(t, tf.float32)
            else:
                if t.dtype == tf.bool:
                    t = tf.where(t, "True", "False")
                elif t.dtype != tf.string:
                    t = tf.strings.as_string(t)
                if not schema.string_inputs:
                    t = tf.cast(keras.layers.StringLookup(vocabulary=spec.vocabulary)(t),
                                tf.int32)
            out[spec.input_name] = tf.reshape(t, [-1, 1])
        return out

    def _stream_sample_size(self) -> int:
        return 100_000

    def _resolve(self, names: Sequence[Any] | None, what: str) -> list[str] | None:
        if names is None:
            return None
        if isinstance(names, str | int):
            names = [names]
        known = self.schema_.names
        out = []
        for n in names:
            if isinstance(n, int | np.integer) and not isinstance(n, bool):
                if not 0 <= n < len(known):
                    raise ValueError(f"{what}: column index {n} out of range")
                out.append(known[n])
            elif str(n) in known:
                out.append(str(n))
            else:
                raise ValueError(f"{what}: unknown column {n!r} (columns: {known})")
        return out

    def _build_model(self) -> Any:
        units = self.hidden_units
        if isinstance(units, int):
            units = [units]
        units = list(units or [])
        if any(int(u) < 1 for u in units):
            raise ValueError(f"hidden_units must be positive integers, got {self.hidden_units!r}")
        if self.dropout is not None and not 0.0 <= float(self.dropout) < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {self.dropout!r}")
        return build_network(
            self.schema_, n_outputs=self._n_outputs(),
            output_activation=self._output_activation(), hidden_units=units,
            activation=self.activation, dropout=self.dropout, batch_norm=self.batch_norm,
            wide=self._wide,
            linear_features=self._resolve(getattr(self, "linear_features", None),
                                          "linear_features"),
            dnn_features=self._resolve(getattr(self, "dnn_features", None), "dnn_features"),
            seed=self._seed(),
        )

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.input_tags.string = False
        return tags
