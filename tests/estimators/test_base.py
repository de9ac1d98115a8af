"""estimators.base: missing class labels are refused with one clear error, whatever the
container (numpy, pandas nullable dtypes) and the estimator family."""

import numpy as np
import pandas as pd
import pytest

from estimators import DNNClassifier, LinearClassifier
from estimators.base import reject_missing_labels


@pytest.mark.parametrize("labels", [
    pd.Series(["a", pd.NA, "b", "a"], dtype="string"),
    pd.Series([1, pd.NA, 0, 1], dtype="Int64"),
    np.array(["a", None, "b", "a"], dtype=object),
    [1.0, np.nan, 0.0, 1.0],
])
def test_missing_labels_are_counted_and_refused(labels):
    with pytest.raises(ValueError, match=r"y has missing values .* in 1 of 4 labels"):
        reject_missing_labels(labels)


def test_complete_labels_pass():
    for labels in (np.array(["a", "b"]), pd.Series([1, 0], dtype="Int64"), [True, False]):
        reject_missing_labels(labels)


@pytest.mark.parametrize("make", [LinearClassifier, lambda: DNNClassifier(epochs=1)],
                         ids=["LinearClassifier", "DNNClassifier"])
def test_classifiers_refuse_missing_labels_before_fitting(make):
    # pd.NA in a string column used to surface as "boolean value of NA is ambiguous"
    # (GLM) or "Unknown label type: unknown" (deep nets)
    y = pd.Series(["a", "b"] * 5, dtype="string")
    y[3] = pd.NA
    with pytest.raises(ValueError, match="y has missing values"):
        make().fit(np.arange(20.0).reshape(10, 2), y)
