"""estimators.base: missing class labels are refused with one clear error, whatever the
container (numpy, pandas nullable dtypes) and the estimator family."""

import warnings

import numpy as np
import pandas as pd
import pytest

from estimators import DNNClassifier, LinearClassifier
from estimators.base import class_sample_weight, reject_missing_labels


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


def test_balanced_class_weight_of_a_class_with_zero_weight_is_zero():
    # scikit-learn's balanced weights: total / (classes * class total), here 4 / (3 * 2)
    # for "a" and "b"; "c" has only zero-weight samples: weight 0, not inf (NaN rows)
    classes, y = np.array(["a", "b", "c"]), np.array(["a", "a", "b", "c", "c"])
    codes = np.searchsorted(classes, y)
    weights = np.array([1.0, 1.0, 2.0, 0.0, 0.0])
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no divide-by-zero warning either
        out = class_sample_weight("balanced", classes, y, codes, weights)
    np.testing.assert_allclose(out, [2 / 3, 2 / 3, 4 / 3, 0.0, 0.0])
    np.testing.assert_array_equal(class_sample_weight(None, classes, y, codes, weights),
                                  weights)
    clf = LinearClassifier(class_weight="balanced").fit(
        np.array([[0.0], [1.0], [2.0], [3.0], [4.0], [5.0]]), ["a", "b", "a", "b", "c", "c"],
        sample_weight=[1.0, 1.0, 1.0, 1.0, 0.0, 0.0])
    assert np.all(np.isfinite(clf.coef_)) and np.all(np.isfinite(clf.intercept_))
