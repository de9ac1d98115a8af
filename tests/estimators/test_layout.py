"""The subpackage layout keeps the public import paths of earlier releases."""

import importlib

import pytest


@pytest.mark.parametrize(
    ("module", "name"),
    [
        ("estimators", "LinearRegressor"),
        ("estimators", "DNNClassifier"),
        ("estimators", "load"),
        ("estimators.neural", "KerasRegressor"),
        ("estimators.inputs", "csv_input"),
        ("estimators.io", "parquet_input"),
        ("estimators.glm", "PoissonRegressor"),
    ],
)
def test_public_name_imports(module: str, name: str) -> None:
    assert callable(getattr(importlib.import_module(module), name))


def test_old_and_new_stream_paths_are_one_function() -> None:
    import estimators.inputs
    import estimators.io

    assert estimators.inputs.csv_input is estimators.io.csv_input
