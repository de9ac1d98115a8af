"""Raw feature columns -> Keras inputs, with the preprocessing kept inside the model.

A :class:`FeatureSchema` is learnt once, in ``fit``, from a DataFrame, an array or a bounded
sample of a stream. It records, per column, whether the column is numeric (standardised by a
``keras.layers.Normalization`` layer holding the fitted mean and variance) or categorical
(``keras.layers.StringLookup`` then one-hot, or an ``Embedding`` when the column has more
than ``embedding_threshold`` levels). The layers live in the Keras model, so ``predict`` and
the exported SavedModel take the raw columns.

Inputs are checked in Python before they reach Keras: missing columns, wrong dtypes, missing
numeric values and categories never seen in training raise a ``ValueError`` that names the
column (and the value).

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

from tfstats.quiet import import_quietly

keras = import_quietly("keras")  # TensorFlow's C++ logging filtered
from keras import layers  # noqa: E402

__all__ = [
    "MISSING_LEVEL",
    "ColumnSpec",
    "FeatureSchema",
    "infer_schema",
    "is_categorical_dtype",
    "to_model_inputs",
    "build_inputs",
    "encode_columns",
    "embedding_size",
    "ColumnSelect",
]

#: Level used for missing values (None / NaN) in categorical columns.
MISSING_LEVEL = "<NA>"

_NAME_OK = re.compile(r"[^A-Za-z0-9_.\-]")


def is_categorical_dtype(dtype: Any) -> bool:
    """Whether a pandas / numpy dtype is treated as categorical.

    Object, string, category and bool columns are categorical; numbers are numeric.

    Examples
    --------
    >>> import numpy as np
    >>> is_categorical_dtype(np.dtype(object)), is_categorical_dtype(np.dtype("float64"))
    (True, False)
    """
    if isinstance(dtype, pd.CategoricalDtype | pd.StringDtype):
        return True
    if pd.api.types.is_bool_dtype(dtype):
        return True
    return pd.api.types.is_object_dtype(dtype) or pd.api.types.is_string_dtype(dtype)


def _is_numeric_dtype(dtype: Any) -> bool:
    return pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_bool_dtype(dtype)


def _sanitise(names: Sequence[str]) -> list[str]:
    """Names valid for Keras inputs and SavedModel signature keys, unique."""
    out: list[str] = []
    seen: set[str] = set()
    for name in names:
        clean = _NAME_OK.sub("_", str(name)) or "feature"
        if not clean[0].isalnum():
            clean = "f" + clean
        base, k = clean, 1
        while clean in seen:
            clean, k = f"{base}_{k}", k + 1
        seen.add(clean)
        out.append(clean)
    return out


def _as_strings(values: pd.Series) -> np.ndarray:
    """Categorical column -> object array of str, missing values as ``MISSING_LEVEL``."""
    obj = values.astype(object)
    missing = pd.isna(obj).to_numpy()
    out = obj.map(str).to_numpy(dtype=object)
    if missing.any():
        out[missing] = MISSING_LEVEL
    return out


@dataclass
class ColumnSpec:
    """What ``fit`` learnt about one raw feature column.

    Attributes
    ----------
    name : str
        Column label as in the training data (``str`` of it).
    input_name : str
        Name of the Keras input and of the serving-signature tensor.
    kind : {"numeric", "categorical"}
    vocabulary : list of str or None
        Sorted levels of a categorical column.
    mean, variance : float or None
        Statistics of a numeric column, used by ``Normalization``.
    """

    name: str
    input_name: str
    kind: Literal["numeric", "categorical"]
    vocabulary: list[str] | None = None
    mean: float | None = None
    variance: float | None = None


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
        Columns forced to be categorical (e.g. integer codes). Others follow their dtype.
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
    if isinstance(X, pd.DataFrame):
        forced = {str(c) for c in (categorical or ())}
        labels = list(X.columns)
        names = [str(c) for c in labels]
        unknown = forced - set(names)
        if unknown:
            raise ValueError(f"categorical columns not in the data: {sorted(unknown)}")
        specs = []
        for label, name, input_name in zip(labels, names, _sanitise(names), strict=True):
            col = X[label]
            if name in forced or is_categorical_dtype(col.dtype):
                vocab = sorted(set(_as_strings(col)))
                specs.append(ColumnSpec(name, input_name, "categorical", vocabulary=vocab))
            elif _is_numeric_dtype(col.dtype):
                values = col.to_numpy(dtype=np.float64, na_value=np.nan)
                _check_finite(values, name)
                specs.append(
                    ColumnSpec(name, input_name, "numeric", mean=float(values.mean()),
                               variance=float(values.var()))
                )
            else:
                raise ValueError(
                    f"column {name!r} has dtype {col.dtype}, which is neither numeric nor "
                    "categorical (object, string, category, bool); convert it first"
                )
        return FeatureSchema("frame", specs, string_inputs, embedding_threshold, labels)
    X = np.asarray(X)
    mean, var = X.mean(axis=0, dtype=np.float64), X.var(axis=0, dtype=np.float64)
    specs = [
        ColumnSpec(f"x{j}", f"x{j}", "numeric", mean=float(mean[j]), variance=float(var[j]))
        for j in range(X.shape[1])
    ]
    return FeatureSchema("array", specs, string_inputs, embedding_threshold)


def _check_finite(values: np.ndarray, name: str) -> None:
    if not np.isfinite(values).all():
        what = "missing (NaN)" if np.isnan(values).any() else "infinite"
        raise ValueError(f"column {name!r} contains {what} values; impute or drop them first")


def _numeric_column(col: pd.Series, name: str) -> np.ndarray:
    if not (_is_numeric_dtype(col.dtype) or pd.api.types.is_bool_dtype(col.dtype)):
        if pd.api.types.is_object_dtype(col.dtype):
            try:
                values = pd.to_numeric(col).to_numpy(dtype=np.float32, na_value=np.nan)
            except (ValueError, TypeError):
                values = None
            if values is not None:
                _check_finite(values, name)
                return values
        raise ValueError(
            f"column {name!r} was numeric at fit time but has dtype {col.dtype} now"
        )
    values = col.to_numpy(dtype=np.float32, na_value=np.nan)
    _check_finite(values, name)
    return values


def _categorical_column(col: pd.Series, spec: ColumnSpec, check_unseen: bool) -> np.ndarray:
    if pd.api.types.is_float_dtype(col.dtype):
        raise ValueError(
            f"column {spec.name!r} was categorical at fit time but has dtype {col.dtype} now; "
            "pass its levels as strings (or integers)"
        )
    values = _as_strings(col)
    if check_unseen:
        vocab = spec.vocabulary or []
        unseen = ~np.isin(values, vocab)
        if unseen.any():
            bad = sorted(set(values[unseen]))
            shown = ", ".join(repr(v) for v in bad[:5]) + (" ..." if len(bad) > 5 else "")
            known = ", ".join(repr(v) for v in vocab[:10]) + (" ..." if len(vocab) > 10 else "")
            raise ValueError(
                f"column {spec.name!r} has categories never seen in training: {shown} "
                f"(known: {known})"
            )
    return values


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
    ValueError: column 'city' has categories never seen in training: 'z' (known: 'a', 'b')
    """
    if schema.layout == "array":
        if isinstance(X, pd.DataFrame):
            X = X.to_numpy()
        X = np.asarray(X, dtype=np.float32)
        if X.ndim != 2 or X.shape[1] != schema.n_features:
            raise ValueError(
                f"X has shape {X.shape}, but the model expects {schema.n_features} features"
            )
        _check_finite(X, "X")
        return X
    if not isinstance(X, pd.DataFrame):
        if any(c.kind == "categorical" for c in schema.columns):
            raise ValueError(
                "this estimator was fitted on a DataFrame with categorical columns "
                f"{[c.name for c in schema.columns if c.kind == 'categorical']}; "
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
    out: dict[str, np.ndarray] = {}
    for spec in schema.columns:
        col = X[lookup[spec.name]]
        if spec.kind == "numeric":
            out[spec.input_name] = _numeric_column(col, spec.name)[:, None]
        else:
            values = _categorical_column(col, spec, check_unseen)
            if not schema.string_inputs:
                codes = pd.Index(spec.vocabulary or []).get_indexer(values) + 1
                values = codes.astype(np.int32)
            out[spec.input_name] = values[:, None]
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
