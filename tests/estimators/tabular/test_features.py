"""FeatureEncoder: numeric and categorical columns, learnt levels, errors naming columns."""

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from estimators.tabular.features import FeatureEncoder


@pytest.fixture
def frame():
    return pd.DataFrame({
        "age": [31.0, 45.0, 27.0, 60.0],
        "visits": [1, 3, 2, 5],                       # ints are numeric
        "region": ["north", "south", "east", "north"],  # object -> categorical
        "member": [True, False, True, True],          # bool -> categorical
        "size": pd.Categorical(["m", "s", "l", "m"], categories=["s", "m", "l"]),
    })


def test_one_hot_with_first_level_dropped(frame):
    enc = FeatureEncoder().fit(frame)
    assert enc.feature_names_out.tolist() == [
        "age", "visits", "region_north", "region_south", "member_True", "size_m", "size_l"]
    design = enc.transform(frame)
    expected = np.array([
        [31, 1, 1, 0, 1, 1, 0],
        [45, 3, 0, 1, 0, 0, 0],
        [27, 2, 0, 0, 1, 0, 1],
        [60, 5, 1, 0, 1, 1, 0],
    ], dtype=float)
    np.testing.assert_array_equal(design, expected)
    assert enc.numeric_mask.tolist() == [True, True] + [False] * 5
    # a subset of rows (fewer levels present) still gets every learnt column
    np.testing.assert_array_equal(enc.transform(frame.iloc[[1]]), expected[[1]])


def test_numpy_arrays(frame):
    X = np.arange(6.0).reshape(3, 2)
    enc = FeatureEncoder().fit(X)
    assert enc.feature_names_out.tolist() == ["x0", "x1"]
    assert enc.transform(X) is X  # float64 numeric input is used as it is
    mixed = np.array([[1.5, "a"], [2.5, "b"], [3.5, "a"]], dtype=object)
    enc = FeatureEncoder().fit(mixed)
    assert enc.feature_names_out.tolist() == ["x0", "x1_b"]
    np.testing.assert_array_equal(enc.transform(mixed), [[1.5, 0], [2.5, 1], [3.5, 0]])


def test_unseen_category_names_column_and_value(frame):
    enc = FeatureEncoder().fit(frame)
    new = frame.copy()
    new.loc[2, "region"] = "west"
    with pytest.raises(ValueError, match=r"column 'region'.*'west'.*not seen in fit"):
        enc.transform(new)


@pytest.mark.parametrize("column, value", [("age", np.nan), ("region", None),
                                           ("member", None)])
def test_missing_values_name_the_column(frame, column, value):
    bad = frame.astype({column: object}) if column == "member" else frame.copy()
    bad.loc[1, column] = value
    with pytest.raises(ValueError, match=rf"column '{column}' has missing values"):
        FeatureEncoder().fit_transform(bad)
    enc = FeatureEncoder().fit(frame)
    with pytest.raises(ValueError, match=rf"column '{column}' has missing values"):
        enc.transform(bad)


def test_shape_errors(frame):
    enc = FeatureEncoder().fit(frame)
    with pytest.raises(ValueError, match="X has 4 features, but the encoder is expecting 5"):
        enc.transform(frame.iloc[:, :4])
    with pytest.raises(ValueError, match="Expected 2D array"):
        FeatureEncoder().fit(np.arange(3.0))
    with pytest.raises(TypeError, match="sparse"):
        FeatureEncoder().fit(sp.csr_matrix(np.eye(3)))
    with pytest.raises(ValueError, match="infinite"):
        FeatureEncoder().fit_transform(np.array([[1.0], [np.inf]]))
    with pytest.raises(TypeError, match="argument must be a string.* number"):
        FeatureEncoder().fit_transform(np.array([[1.0], [{"a": 1}]], dtype=object))
