"""Raw feature columns -> Keras inputs, with the preprocessing kept inside the model.

A :class:`FeatureSchema` is learnt once, in ``fit``, from a DataFrame, an array or a bounded
sample of a stream. Column kinds, levels and their order come from
:mod:`estimators.tabular.schema` (the rules the GLMs use too); on top of it the schema
records, per numeric column, the mean and variance a ``keras.layers.Normalization`` layer
holds, and per categorical column its vocabulary (the levels as text) for
``keras.layers.StringLookup`` then one-hot, or an ``Embedding`` when the column has more
than ``embedding_threshold`` levels. The layers live in the Keras model, so ``predict`` and
the exported SavedModel take the raw columns.

Inputs are checked in Python before they reach Keras, by the schema's rules: missing
columns, wrong dtypes, missing values and categories never seen in training raise a
``ValueError`` that names the column (and the value).

Examples
--------
>>> import pandas as pd
>>> from estimators.tabular.preprocessing import infer_schema
>>> df = pd.DataFrame({"age": [20.0, 30.0, 40.0], "city": ["a", "b", "a"]})
>>> schema = infer_schema(df)
>>> [(c.name, c.kind, c.vocabulary) for c in schema.columns]
[('age', 'numeric', None), ('city', 'categorical', ['a', 'b'])]
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd

from estimators.tabular.schema import (
    CATEGORICAL,
    NUMERIC,
    Column,
    check_finite,
    check_missing,
    learn_schema,
    level_codes,
    numeric_values,
)
from tfstats.quiet import import_quietly

keras = import_quietly("keras")  # TensorFlow's C++ logging filtered
from keras import layers  # noqa: E402

__all__ = [
    "OOV_TOKEN",
    "ColumnSpec",
    "FeatureSchema",
    "infer_schema",
    "has_categorical",
    "to_model_inputs",
    "build_inputs",
    "encode_columns",
    "embedding_size",
    "ColumnSelect",
]

#: What an unseen level becomes while training from a stream (StringLookup's OOV token).
OOV_TOKEN = "[UNK]"

# what tf.function keeps of an argument name unchanged (it rewrites any other character to
# "_" and puts "arg_" before a name not starting with a letter), so that the signature keys
# of an export are the input names
_NAME_OK = re.compile(r"[^A-Za-z0-9_]")


def has_categorical(frame: pd.DataFrame) -> bool:
    """Whether the schema's rules make any column of ``frame`` categorical.

    Examples
    --------
    >>> import pandas as pd
    >>> has_categorical(pd.DataFrame({"a": [1.0], "b": pd.Series([2], dtype=object)}))
    False
    """
    return any(c.kind == CATEGORICAL for c in learn_schema(frame).columns)


def _sanitise(names: Sequence[str]) -> list[str]:
    """Names valid for Keras inputs and SavedModel signature keys, kept as they are by
    TensorFlow, unique: letters, digits and ``_``, starting with a letter."""
    out: list[str] = []
    seen: set[str] = set()
    for name in names:
        clean = _NAME_OK.sub("_", str(name)) or "feature"
        if not clean[0].isalpha():
            clean = "f" + clean
        base, k = clean, 1
        while clean in seen:
            clean, k = f"{base}_{k}", k + 1
        seen.add(clean)
        out.append(clean)
    return out


@dataclass
class ColumnSpec:
    """What ``fit`` learnt about one raw feature column.

    Attributes
    ----------
    name : str
        Column name as in the training data (``str`` of it).
    input_name : str
        Name of the Keras input and of the serving-signature tensor.
    kind : {"numeric", "categorical"}
    vocabulary : list of str or None
        The levels of a categorical column as text, in the schema's order.
    mean, variance : float or None
        Statistics of a numeric column, used by ``Normalization``.
    levels : tuple
        The levels as they were in the data (:class:`estimators.tabular.schema.Column`).
    """

    name: str
    input_name: str
    kind: Literal["numeric", "categorical"]
    vocabulary: list[str] | None = None
    mean: float | None = None
    variance: float | None = None
    levels: tuple = ()

    @property
    def column(self) -> Column:
        """The schema column."""
        return Column(self.name, self.kind, self.levels)


@dataclass
class FeatureSchema:
    """The learnt description of the inputs of a model.

    Attributes
    ----------
    layout : {"array", "frame"}
        ``"array"``: one float matrix input named ``"inputs"``; ``"frame"``: one input per
        column, named ``ColumnSpec.input_name``.
    columns : list of ColumnSpec
        One entry per feature (array columns are named ``x0``, ``x1``, ...).
    string_inputs : bool
        Categorical inputs are strings looked up in the graph (TensorFlow backend); when
        False (other Keras backends) they are integer codes computed in Python.
    embedding_threshold : int
        Categorical columns with more levels than this get an ``Embedding``.
    """

    layout: Literal["array", "frame"]
    columns: list[ColumnSpec]
    string_inputs: bool = True
    embedding_threshold: int = 20
    frame_labels: list[Any] = field(default_factory=list)

    @property
    def names(self) -> list[str]:
        """Column names in training order."""
        return [c.name for c in self.columns]

    @property
    def n_features(self) -> int:
        """Number of raw feature columns."""
        return len(self.columns)

    def column(self, name: str) -> ColumnSpec:
        """The spec of column ``name``."""
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(name)


def infer_schema(
    X: pd.DataFrame | np.ndarray,
    *,
    categorical: Sequence[str] | None = None,
    embedding_threshold: int = 20,
    string_inputs: bool = True,
) -> FeatureSchema:
    """Learn a :class:`FeatureSchema` (column kinds, vocabularies, mean / variance).

    Parameters
    ----------
    X : DataFrame or 2-D array
        Training features (or a bounded sample of a stream).
    categorical : sequence of str, optional
        Columns forced to be categorical (e.g. integer codes). Others follow the rules of
        :mod:`estimators.tabular.schema`.
    embedding_threshold : int, default=20
        Categorical columns with more levels than this use an embedding.
    string_inputs : bool, default=True
        See :class:`FeatureSchema`.

    Returns
    -------
    FeatureSchema

    Examples
    --------
    >>> import numpy as np
    >>> s = infer_schema(np.array([[0.0, 1.0], [2.0, 3.0]]))
    >>> s.layout, s.names, s.columns[0].mean
    ('array', ['x0', 'x1'], 1.0)
    """
    table = learn_schema(X, categorical=categorical)
    if table.layout == "array":
        if any(c.kind == CATEGORICAL for c in table.columns):
            raise ValueError("the deep nets take categorical columns from a DataFrame: pass "
                             "pd.DataFrame(X) (array input must be numeric)")
        X = np.asarray(X, dtype=np.float64)
        mean, var = X.mean(axis=0), X.var(axis=0)
        specs = [ColumnSpec(c.name, c.name, NUMERIC, mean=float(mean[j]),
                            variance=float(var[j])) for j, c in enumerate(table.columns)]
        return FeatureSchema("array", specs, string_inputs, embedding_threshold)
    specs = []
    for label, column, input_name in zip(table.labels, table.columns,
                                         _sanitise(table.names), strict=True):
        if column.kind == NUMERIC:
            values = numeric_values(X[label], column)
            specs.append(ColumnSpec(column.name, input_name, NUMERIC, mean=float(values.mean()),
                                    variance=float(values.var())))
        else:
            specs.append(ColumnSpec(column.name, input_name, CATEGORICAL,
                                    vocabulary=column.vocabulary, levels=column.levels))
    return FeatureSchema("frame", specs, string_inputs, embedding_threshold,
                         list(table.labels))


def _categorical_inputs(col: Any, spec: ColumnSpec, schema: FeatureSchema,
                        check_unseen: bool) -> np.ndarray:
    """A categorical column as the model takes it: its levels as text (unseen levels, when
    allowed, as ``OOV_TOKEN``), or int32 codes with 0 for out of vocabulary."""
    codes = level_codes(col, spec.column, allow_unseen=not check_unseen)
    if not schema.string_inputs:
        return (codes + 1).astype(np.int32)
    vocabulary = np.asarray([*(spec.vocabulary or []), OOV_TOKEN], dtype=object)
    return vocabulary[codes]  # code -1 is the last entry


def to_model_inputs(
    schema: FeatureSchema, X: Any, *, check_unseen: bool = True
) -> dict[str, np.ndarray] | np.ndarray:
    """Validate raw features and convert them to what the Keras model takes.

    Parameters
    ----------
    schema : FeatureSchema
    X : DataFrame or array
        Raw features with the training columns (extra DataFrame columns are ignored here;
        the estimators check names first).
    check_unseen : bool, default=True
        Raise on categorical levels not in the vocabulary (set False while training from a
        stream, where such levels map to the out-of-vocabulary bucket).

    Returns
    -------
    ndarray of shape (n, n_features) for the ``"array"`` layout, else a dict mapping input
    names to arrays of shape (n, 1): float32 for numeric columns, object arrays of str (or
    int32 codes when ``schema.string_inputs`` is False) for categorical ones.

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"age": [20.0, 30.0], "city": ["a", "b"]})
    >>> s = infer_schema(df)
    >>> to_model_inputs(s, df.assign(city=["b", "z"]))
    Traceback (most recent call last):
    ...
    ValueError: column 'city' has categories never seen in fit: 'z' (known: ['a', 'b'])
    """
    if schema.layout == "array":
        if isinstance(X, pd.DataFrame):
            X = X.to_numpy()
        X = np.asarray(X, dtype=np.float32)
        if X.ndim != 2 or X.shape[1] != schema.n_features:
            raise ValueError(
                f"X has shape {X.shape}, but the model expects {schema.n_features} features"
            )
        check_finite(X, schema.names)
        return X
    if not isinstance(X, pd.DataFrame):
        if any(c.kind == CATEGORICAL for c in schema.columns):
            raise ValueError(
                "this estimator was fitted on a DataFrame with categorical columns "
                f"{[c.name for c in schema.columns if c.kind == CATEGORICAL]}; "
                "pass a DataFrame with the columns " + repr(schema.names)
            )
        X = np.asarray(X)
        if X.ndim != 2 or X.shape[1] != schema.n_features:
            raise ValueError(
                f"X has shape {X.shape}, but the model expects {schema.n_features} features"
            )
        X = pd.DataFrame(X, columns=schema.frame_labels or schema.names)
    lookup = {str(c): c for c in X.columns}
    missing = [c.name for c in schema.columns if c.name not in lookup]
    if missing:
        raise ValueError(f"missing feature columns: {missing} (expected {schema.names})")
    check_missing((spec.name, X[lookup[spec.name]]) for spec in schema.columns)
    out: dict[str, np.ndarray] = {}
    for spec in schema.columns:
        col = X[lookup[spec.name]]
        if spec.kind == NUMERIC:
            out[spec.input_name] = numeric_values(col, spec.column, np.float32)[:, None]
        else:
            out[spec.input_name] = _categorical_inputs(col, spec, schema, check_unseen)[:, None]
    return out


def build_inputs(schema: FeatureSchema) -> dict[str, Any]:
    """Keras ``Input`` tensors for a schema, keyed by input name."""
    if schema.layout == "array":
        return {"inputs": keras.Input((schema.n_features,), name="inputs", dtype="float32")}
    out = {}
    for c in schema.columns:
        if c.kind == "numeric":
            dtype = "float32"
        else:
            dtype = "string" if schema.string_inputs else "int32"
        out[c.input_name] = keras.Input((1,), name=c.input_name, dtype=dtype)
    return out


def embedding_size(n_levels: int) -> int:
    """Default embedding width: ``min(50, round(6 * n_levels ** 0.25))``."""
    return int(min(50, max(2, round(6 * n_levels**0.25))))


class _Encoder:
    """Builds (and shares) the per-column preprocessing layers of one model."""

    def __init__(self, schema: FeatureSchema, inputs: dict[str, Any], seed: int | None):
        self.schema, self.inputs, self.seed = schema, inputs, seed
        self._cache: dict[tuple[str, str], Any] = {}

    def _lookup(self, spec: ColumnSpec) -> Any:
        key = (spec.input_name, "ids")
        if key not in self._cache:
            x = self.inputs[spec.input_name]
            if self.schema.string_inputs:
                x = layers.StringLookup(
                    vocabulary=spec.vocabulary, name=f"lookup_{spec.input_name}"
                )(x)
            self._cache[key] = x
        return self._cache[key]

    def categorical(self, spec: ColumnSpec, mode: str) -> Any:
        n_tokens = len(spec.vocabulary or []) + 1  # index 0: out of vocabulary
        big = n_tokens - 1 > self.schema.embedding_threshold
        kind = "embed" if (mode == "deep" and big) else "onehot"
        key = (spec.input_name, kind)
        if key not in self._cache:
            ids = self._lookup(spec)
            if kind == "embed":
                emb = layers.Embedding(
                    n_tokens, embedding_size(n_tokens - 1), name=f"embed_{spec.input_name}",
                    embeddings_initializer=_initializer("uniform", self.seed),
                )(ids)
                self._cache[key] = layers.Flatten(name=f"flat_{spec.input_name}")(emb)
            else:
                self._cache[key] = layers.CategoryEncoding(
                    n_tokens, output_mode="one_hot", name=f"onehot_{spec.input_name}"
                )(ids)
        return self._cache[key]

    def numeric(self, specs: list[ColumnSpec], tag: str) -> Any:
        key = ("|".join(s.input_name for s in specs), "numeric")
        if key not in self._cache:
            mean = [s.mean for s in specs]
            var = [s.variance for s in specs]
            if self.schema.layout == "array":
                x = self.inputs["inputs"]
                if len(specs) != self.schema.n_features:
                    idx = [int(s.name[1:]) for s in specs]
                    x = ColumnSelect(idx, name=f"select_{tag}")(x)
            else:
                parts = [self.inputs[s.input_name] for s in specs]
                x = parts[0] if len(parts) == 1 else layers.Concatenate(
                    name=f"numeric_{tag}")(parts)
            self._cache[key] = layers.Normalization(
                mean=mean, variance=var, name=f"normalize_{tag}"
            )(x)
        return self._cache[key]


def _initializer(name: str, seed: int | None) -> Any:
    if name == "uniform":
        return keras.initializers.RandomUniform(-0.05, 0.05, seed=seed)
    return keras.initializers.get({"class_name": name, "config": {"seed": seed}})


def encode_columns(
    encoder: _Encoder, names: Sequence[str] | None, *, mode: Literal["deep", "linear"],
    tag: str,
) -> Any:
    """One float tensor holding the encoded columns ``names`` (all when None).

    ``mode="deep"`` embeds high-cardinality categoricals; ``"linear"`` one-hot encodes all.
    """
    schema = encoder.schema
    specs = schema.columns if names is None else [schema.column(str(n)) for n in names]
    if not specs:
        raise ValueError(f"no feature columns selected for the {tag} part")
    numeric = [s for s in specs if s.kind == "numeric"]
    parts = [encoder.numeric(numeric, tag)] if numeric else []
    parts += [encoder.categorical(s, mode) for s in specs if s.kind == "categorical"]
    return parts[0] if len(parts) == 1 else layers.Concatenate(name=f"features_{tag}")(parts)


@keras.saving.register_keras_serializable(package="estimators")
class ColumnSelect(keras.layers.Layer):
    """Select columns of a matrix input (wide & deep on array input).

    Examples
    --------
    >>> import numpy as np
    >>> ColumnSelect([2, 0])(np.array([[1.0, 2.0, 3.0]])).numpy().tolist()
    [[3.0, 1.0]]
    """

    def __init__(self, indices: Sequence[int], **kwargs: Any):
        super().__init__(**kwargs)
        self.indices = [int(i) for i in indices]

    def call(self, x: Any) -> Any:
        return keras.ops.take(x, self.indices, axis=-1)

    def compute_output_shape(self, input_shape: tuple) -> tuple:
        return (*input_shape[:-1], len(self.indices))

    def get_config(self) -> dict:
        return {**super().get_config(), "indices": self.indices}
