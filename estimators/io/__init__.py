"""Streaming inputs for every estimator: arrays, DataFrames, ``tf.data`` and chunked files.

>>> import pandas as pd, tempfile, os
>>> from estimators.io import csv_input
>>> path = os.path.join(tempfile.mkdtemp(), "train.csv")
>>> pd.DataFrame({"x": [1.0, 2.0], "y": [0, 1]}).to_csv(path, index=False)
>>> csv_input(path, label="y", batch_size=1024).batch_size
1024
"""

from estimators.io.inputs import (
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
