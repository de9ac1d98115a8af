"""Data sets for the deep-net examples, read from local files (nothing is downloaded).

Examples
--------
>>> from estimators.neural.datasets import load_mnist
>>> try:
...     (X_train, y_train), (X_test, y_test) = load_mnist("/nonexistent/mnist.npz")
... except FileNotFoundError as err:
...     print("mnist.npz" in str(err))
True
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

__all__ = ["load_mnist", "MNIST_URL"]

#: Where Keras downloads MNIST from (``keras.datasets.mnist.load_data``).
MNIST_URL = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/mnist.npz"


def load_mnist(
    path: str | os.PathLike = "~/.keras/datasets/mnist.npz",
) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """MNIST from a local ``mnist.npz`` (the file Keras caches), as Keras returns it.

    Parameters
    ----------
    path : str or path-like, default="~/.keras/datasets/mnist.npz"

    Returns
    -------
    (x_train, y_train), (x_test, y_test)
        uint8 images of shape (60000, 28, 28) and (10000, 28, 28), uint8 labels.

    Raises
    ------
    FileNotFoundError
        When the file is absent; the message says where to get it and where to put it.

    Examples
    --------
    >>> import numpy as np, tempfile, os
    >>> f = os.path.join(tempfile.mkdtemp(), "mnist.npz")
    >>> z = np.zeros((2, 28, 28), np.uint8)
    >>> np.savez(f, x_train=z, y_train=np.zeros(2, np.uint8), x_test=z,
    ...          y_test=np.zeros(2, np.uint8))
    >>> (xtr, ytr), (xte, yte) = load_mnist(f)
    >>> xtr.shape
    (2, 28, 28)
    """
    file = Path(os.path.expanduser(os.fspath(path)))
    if not file.exists():
        raise FileNotFoundError(
            f"MNIST not found at {file}. This project never downloads data: fetch "
            f"{MNIST_URL} (or run keras.datasets.mnist.load_data() once on a machine with "
            f"network access) and put mnist.npz at {file}, or pass its path."
        )
    with np.load(file, allow_pickle=False) as data:
        missing = {"x_train", "y_train", "x_test", "y_test"} - set(data.files)
        if missing:
            raise ValueError(f"{file} lacks the arrays {sorted(missing)}")
        return (data["x_train"], data["y_train"]), (data["x_test"], data["y_test"])
