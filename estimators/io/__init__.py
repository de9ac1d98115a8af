"""Streaming inputs for every estimator: arrays, DataFrames, ``tf.data`` and chunked files.

>>> import pandas as pd, tempfile, os
>>> from estimators.io import csv_input
>>> path = os.path.join(tempfile.mkdtemp(), "train.csv")
>>> pd.DataFrame({"x": [1.0, 2.0], "y": [0, 1]}).to_csv(path, index=False)
>>> csv_input(path, label="y", batch_size=1024).batch_size
1024
"""

from estimators.io.inputs import *  # noqa: F403
from estimators.io.inputs import __all__  # noqa: F401
