"""The deep-net examples run (tiny settings), the digits MLP reaches 95 %, MNIST loader."""

import importlib.util
from pathlib import Path

import matplotlib
import numpy as np
import pytest

from estimators.neural.datasets import load_mnist

matplotlib.use("Agg")
EXAMPLES = Path(__file__).resolve().parents[3] / "examples"


def load_example(name: str):
    spec = importlib.util.spec_from_file_location(f"example_{name}", EXAMPLES / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.slow
def test_digits_mlp_reaches_95_percent(tmp_path, capsys):
    accuracy = load_example("digits_mlp").main(epochs=20, plot=str(tmp_path / "h.png"))
    assert accuracy >= 0.95
    assert (tmp_path / "h.png").stat().st_size > 1000
    assert "test accuracy" in capsys.readouterr().out


def test_dnn_dataframe_example_runs():
    out = load_example("dnn_dataframe").main(n=600, epochs=2)
    assert set(out) >= {"dnn_accuracy", "wide_deep_accuracy", "r2", "export_max_abs_diff"}
    assert out["export_max_abs_diff"] < 1e-5 and out["reload_equal"]


def test_load_mnist(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"put mnist.npz at .*absent"):
        load_mnist(tmp_path / "absent" / "mnist.npz")
    images = np.zeros((3, 28, 28), np.uint8)
    labels = np.arange(3, dtype=np.uint8)
    np.savez(tmp_path / "mnist.npz", x_train=images, y_train=labels, x_test=images[:1],
             y_test=labels[:1])
    (x_train, y_train), (x_test, y_test) = load_mnist(tmp_path / "mnist.npz")
    assert x_train.shape == (3, 28, 28) and y_test.tolist() == [0]
    np.savez(tmp_path / "bad.npz", x_train=images)
    with pytest.raises(ValueError, match="lacks the arrays"):
        load_mnist(tmp_path / "bad.npz")
