"""SavedModel export with a raw-feature serving signature.

``export_saved_model(estimator, path)`` writes a TensorFlow SavedModel whose
``serving_default`` signature takes the raw feature columns, one named tensor per column
(``tf.string`` for categorical columns, ``tf.float32`` for numeric ones; a single
``inputs`` tensor for models fitted on arrays), and returns

- classifiers: ``probabilities`` (n, n_classes), ``class_ids`` (int64) and ``classes``
  (the labels as strings);
- regressors: ``predictions`` (n,) or (n, n_outputs), in the units of ``y``.

The preprocessing (normalisation, vocabularies) is inside the graph, so TensorFlow Serving,
or ``tf.saved_model.load`` in a process that never imports this project, needs nothing
else. The fitted estimator itself is pickled to ``assets.extra/estimator.pkl`` (a folder
TensorFlow Serving ignores) and comes back with :func:`load_estimator`
(``estimators.neural.load``); ``assets.extra/serving.json`` describes the signature.

Examples
--------
>>> import numpy as np, tempfile
>>> import tensorflow as tf
>>> from estimators.neural import DNNClassifier
>>> X = np.random.RandomState(0).normal(size=(60, 3)); y = (X[:, 0] > 0).astype(int)
>>> clf = DNNClassifier(hidden_units=[4], epochs=1, random_state=0).fit(X, y)
>>> path = export_saved_model(clf, tempfile.mkdtemp() + "/clf")
>>> serve = tf.saved_model.load(path).signatures["serving_default"]
>>> out = serve(inputs=tf.constant(X[:2], tf.float32))
>>> np.allclose(out["probabilities"].numpy(), clf.predict_proba(X[:2]), atol=1e-6)
True
"""

from __future__ import annotations

import json
import os
import pickle
import warnings
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.base import is_classifier

from estimators.tabular.preprocessing import keras

__all__ = ["export_saved_model", "load_estimator", "ESTIMATOR_FILE", "SERVING_KEY"]

#: Where the pickled estimator lives inside the SavedModel directory.
ESTIMATOR_FILE = os.path.join("assets.extra", "estimator.pkl")
#: Name of the serving signature.
SERVING_KEY = "serving_default"


def _tensorflow() -> Any:
    try:
        import tensorflow as tf
    except ImportError as exc:  # pragma: no cover - TensorFlow is a dependency here
        raise ImportError(
            "export writes a TensorFlow SavedModel and needs TensorFlow: "
            "pip install tensorflow"
        ) from exc
    if keras.backend.backend() != "tensorflow":
        raise RuntimeError(
            "export needs the TensorFlow Keras backend (KERAS_BACKEND=tensorflow); this "
            f"process runs Keras on {keras.backend.backend()!r}"
        )
    return tf


def _signature(est: Any, tf: Any) -> tuple[list[Any], Any, list[dict[str, Any]]]:
    """Input specs, a function from those tensors to model inputs, and a description."""
    schema = getattr(est, "schema_", None)
    model = est.model_
    if schema is not None and schema.layout == "frame":
        specs, desc = [], []
        for c in schema.columns:
            string = c.kind == "categorical"
            dtype = tf.string if string else tf.float32
            specs.append(tf.TensorSpec([None], dtype, name=c.input_name))
            desc.append({"name": c.input_name, "column": c.name, "dtype": dtype.name,
                         "shape": [None], "kind": c.kind, "vocabulary": c.vocabulary})
        names = [c.input_name for c in schema.columns]

        def to_inputs(*args: Any) -> Any:
            return {n: tf.reshape(a, [-1, 1]) for n, a in zip(names, args, strict=True)}

        return specs, to_inputs, desc
    shape = getattr(est, "X_shape_", None)
    if isinstance(shape, dict):
        keys = list(shape)
        dtypes = {t.name.split(":")[0]: t.dtype for t in model.inputs} if model.inputs else {}
        specs = [tf.TensorSpec([None, *shape[k]], dtypes.get(k, "float32"), name=k)
                 for k in keys]
        desc = [{"name": k, "dtype": str(s.dtype.name), "shape": [None, *shape[k]]}
                for k, s in zip(keys, specs, strict=True)]

        def to_dict(*args: Any) -> Any:
            return dict(zip(keys, args, strict=True))

        return specs, to_dict, desc
    if shape is None:
        shape = (est.n_features_in_,)
    dtype = model.inputs[0].dtype if getattr(model, "inputs", None) else "float32"
    spec = tf.TensorSpec([None, *shape], dtype, name="inputs")
    return [spec], (lambda x: x), [{"name": "inputs", "dtype": spec.dtype.name,
                                    "shape": [None, *shape]}]


def _outputs(est: Any, raw: Any, tf: Any) -> dict[str, Any]:
    raw = tf.cast(raw, tf.float32)
    if is_classifier(est):
        probs = tf.concat([1.0 - raw, raw], axis=1) if raw.shape[-1] == 1 else raw
        ids = tf.argmax(probs, axis=1)
        labels = tf.constant([str(c) for c in est.classes_])
        return {"probabilities": probs, "class_ids": ids, "classes": tf.gather(labels, ids)}
    out = raw * est._target_scale.astype(np.float32) + est._target_mean.astype(np.float32)
    if est._target_1d:
        out = out[:, 0]
    return {"predictions": out}


def export_saved_model(estimator: Any, path: str | os.PathLike) -> str:
    """Write ``estimator`` (fitted) as a SavedModel with a raw-column serving signature.

    Parameters
    ----------
    estimator : fitted estimator of :mod:`estimators.neural`
    path : str or path-like
        Directory to create (must not exist or be empty).

    Returns
    -------
    str
        The directory written.

    Examples
    --------
    See the module docstring.
    """
    tf = _tensorflow()
    from sklearn.utils.validation import check_is_fitted

    check_is_fitted(estimator, "model_")
    path = os.fspath(path)
    if os.path.isdir(path) and os.listdir(path):
        raise FileExistsError(f"{path!r} exists and is not empty")
    specs, to_inputs, desc = _signature(estimator, tf)
    model = estimator.model_

    def serve(*args: Any) -> dict[str, Any]:
        return _outputs(estimator, model(to_inputs(*args), training=False), tf)

    archive = keras.export.ExportArchive()
    archive.track(model)
    archive.add_endpoint(SERVING_KEY, tf.function(serve, input_signature=specs))
    archive.write_out(path, verbose=False)
    extra = Path(path, "assets.extra")
    extra.mkdir(exist_ok=True)
    try:
        (extra / "estimator.pkl").write_bytes(pickle.dumps(estimator))
    except (pickle.PicklingError, AttributeError, TypeError) as exc:
        warnings.warn(
            f"the SavedModel at {path!r} is complete for serving, but the estimator could not "
            f"be pickled next to it ({exc}), so estimators.neural.load will not work on it; "
            "define model functions at module level to make it picklable",
            UserWarning, stacklevel=2,
        )
    info = {
        "estimator": type(estimator).__name__,
        "signature": SERVING_KEY,
        "inputs": desc,
        "outputs": ["probabilities", "class_ids", "classes"] if is_classifier(estimator)
        else ["predictions"],
        "classes": [str(c) for c in estimator.classes_] if is_classifier(estimator) else None,
    }
    (extra / "serving.json").write_text(json.dumps(info, indent=2))
    return path


def load_estimator(path: str | os.PathLike) -> Any:
    """The estimator saved by :func:`export_saved_model` in ``path``.

    Unpickling runs code: load only exports you trust.

    Examples
    --------
    See :func:`estimators.neural.load`.
    """
    file = Path(os.fspath(path), ESTIMATOR_FILE)
    if not file.exists():
        raise FileNotFoundError(
            f"{file} not found: {os.fspath(path)!r} is not a directory written by "
            "estimator.export(...) (a bare SavedModel loads with tf.saved_model.load)"
        )
    return pickle.loads(file.read_bytes())
