"""A chunk's own error (here a missing value past the sample) reaches the caller of fit as
the ValueError naming the column, not as tf.data's InvalidArgumentError around it."""

import numpy as np
import pandas as pd
import pytest

from estimators.io.inputs import csv_input
from estimators.neural import DNNClassifier


def test_missing_value_in_a_later_chunk_is_a_value_error(tmp_path):
    rng = np.random.default_rng(4)
    frame = pd.DataFrame({"age": rng.normal(size=120), "y": rng.choice(["a", "b"], 120)})
    frame.loc[100, "age"] = np.nan  # outside the sample of 40 rows
    path = tmp_path / "rows.csv"
    frame.to_csv(path, index=False)
    stream = csv_input(str(path), label="y", chunk_size=40, sample_size=40, batch_size=20)
    with pytest.raises(ValueError, match="column 'age' has missing values"):
        DNNClassifier(hidden_units=[2], epochs=1, random_state=0).fit(stream)
