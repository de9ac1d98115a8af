"""One schema: a GLM and a deep net type, order and check the same DataFrame the same way."""

import numpy as np
import pandas as pd
import pytest

from estimators import DNNClassifier, LinearClassifier
from estimators.tabular.schema import learn_schema, level_codes

KINDS = {"num": "numeric", "obj_num": "numeric", "text": "categorical",
         "size": "categorical", "flag": "categorical", "code": "categorical"}
LEVELS = {"text": ("east", "north", "south"), "size": ("low", "mid", "high"),
          "flag": (False, True), "code": (2, 10, "x")}


def mixed_frame(n: int = 48) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    return pd.DataFrame({
        "num": rng.normal(size=n),
        "obj_num": pd.Series([1, 2.5, 3, 4.5] * (n // 4), dtype=object),  # numbers as objects
        "text": ["north", "south", "east", "north"] * (n // 4),
        # explicit order: not alphabetical ("high" < "low" < "mid")
        "size": pd.Categorical(["mid", "low", "high", "mid"] * (n // 4),
                               categories=["low", "mid", "high"]),
        "flag": [True, False] * (n // 2),
        "code": pd.Series([10, 2, "x", 2] * (n // 4), dtype=object),  # numbers and text
    })


@pytest.fixture(scope="module")
def fitted():
    X = mixed_frame()
    y = np.arange(len(X)) % 2
    glm = LinearClassifier().fit(X, y)
    dnn = DNNClassifier(hidden_units=[4], epochs=1, random_state=0).fit(X, y)
    return X, glm, dnn


def test_same_kinds_and_levels_in_both_families(fitted):
    X, glm, dnn = fitted
    glm_columns = {c.name: (c.kind, c.levels) for c in glm.encoder_.columns}
    dnn_columns = {c.name: (c.kind, c.levels) for c in dnn.schema_.columns}
    assert glm_columns == dnn_columns
    assert {name: kind for name, (kind, _) in glm_columns.items()} == KINDS
    assert {name: levels for name, (_, levels) in glm_columns.items() if levels} == LEVELS
    # the first level is the GLM's reference; Keras holds the same levels as text, in order
    assert [n for n in glm.feature_names_out_ if n.startswith("size")] == ["size_mid",
                                                                           "size_high"]
    assert dnn.schema_.column("size").vocabulary == ["low", "mid", "high"]
    assert dnn.schema_.column("code").vocabulary == ["2", "10", "x"]


@pytest.mark.parametrize("edit", ["numeric", "categorical", "both"])
def test_same_missing_value_error(fitted, edit):
    X, glm, dnn = fitted
    bad = X.copy()
    if edit in ("numeric", "both"):
        bad.loc[[1, 5, 7], "num"] = np.nan
    if edit in ("categorical", "both"):
        bad.loc[3, "text"] = None
    y = np.arange(len(X)) % 2
    errors = []
    for make in (lambda: LinearClassifier(), lambda: DNNClassifier(hidden_units=[4])):
        with pytest.raises(ValueError, match="missing values") as info:
            make().fit(bad, y)
        errors.append(str(info.value))
    for est in (glm, dnn):  # at predict time
        with pytest.raises(ValueError, match="missing values") as info:
            est.predict(bad)
        errors.append(str(info.value))
    assert len(set(errors)) == 1, errors
    expected = {"numeric": "column 'num' has missing values (NaN or None) in 3 of 48 rows",
                "categorical": "column 'text' has missing values (NaN or None) in 1 of 48 rows",
                "both": "columns 'num' (3 of 48 rows), 'text' (1 of 48 rows) have missing"}
    assert errors[0].startswith(expected[edit])


def test_same_unseen_level_error(fitted):
    X, glm, dnn = fitted
    bad = X.head(4).assign(text=["north", "west", "east", "mars"])
    messages = set()
    for est in (glm, dnn):
        with pytest.raises(ValueError, match=r"column 'text' has categories never seen in fit: "
                                             r"'mars', 'west'") as info:
            est.predict(bad)
        messages.add(str(info.value))
    assert len(messages) == 1


def test_object_column_rule():
    frame = pd.DataFrame({
        "numbers": pd.Series([1, 2.5, None], dtype=object),  # numeric (missing checked later)
        "zip": ["02139", "10001", "02139"],                   # text stays categorical
        "mixed": pd.Series([1.5, True, 2.5], dtype=object),  # a bool among numbers
    })
    with pytest.raises(ValueError, match="column 'numbers' has missing values"):
        learn_schema(frame)
    schema = learn_schema(frame.fillna({"numbers": 0.0}))
    assert [c.kind for c in schema.columns] == ["numeric", "categorical", "categorical"]
    with pytest.raises(TypeError, match="column 'd' holds dict values"):
        learn_schema(pd.DataFrame({"d": [{"a": 1}, 2]}))
    with pytest.raises(ValueError, match=r"column 'c' has different levels that read the same"):
        learn_schema(pd.DataFrame({"c": pd.Series([1, "1"], dtype=object)}))


def test_text_levels_match_values_that_read_the_same():
    # a CSV chunk holding only "1" and "2" parses as numbers; they are still the levels
    schema = learn_schema(pd.DataFrame({"c": ["1", "2", "a"]}))
    column = schema.columns[0]
    np.testing.assert_array_equal(level_codes(pd.Series([2, 1]), column), [1, 0])
    with pytest.raises(ValueError, match=r"column 'c' has categories never seen in fit: 3"):
        level_codes(pd.Series([3, 1]), column)
