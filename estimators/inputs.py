"""The import path ``estimators.inputs`` kept for existing code; see :mod:`estimators.io`."""

from estimators.io import (
    StreamInput,
    csv_input,
    fixed_pipeline,
    is_stream,
    is_tf_dataset,
    parquet_input,
    shuffled_tables,
)

__all__ = [
    "StreamInput",
    "csv_input",
    "parquet_input",
    "is_stream",
    "is_tf_dataset",
    "shuffled_tables",
    "fixed_pipeline",
]
