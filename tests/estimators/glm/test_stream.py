"""GLMs fitted from a chunked CSV give the in-memory answer: LinearRegressor from the Gram
matrix accumulated over chunks, LinearClassifier and PoissonRegressor from the objective
and gradient accumulated over chunks at every L-BFGS evaluation."""

import numpy as np
import pandas as pd
import pytest

from estimators import LinearClassifier, LinearRegressor, PoissonRegressor
from estimators.io.inputs import csv_input


def _features(rng: np.random.Generator, n: int, effects: dict[str, float]):
    """Age, income and region columns, and the region's effect on each row."""
    frame = pd.DataFrame({"age": rng.normal(40, 10, n), "income": rng.lognormal(3, 0.5, n),
                          "region": rng.choice(["north", "south", "east"], n)})
    return frame, frame["region"].map(effects)


def _written(frame: pd.DataFrame, tmp_path_factory, name: str) -> tuple[pd.DataFrame, str]:
    path = tmp_path_factory.mktemp("glm") / name
    frame.to_csv(path, index=False)
    return frame, str(path)


@pytest.fixture(scope="module")
def frame_and_path(tmp_path_factory):
    rng = np.random.default_rng(3)
    frame, effect = _features(rng, 3000, {"north": 0.0, "south": 1.5, "east": -0.5})
    frame["y"] = 2.0 + 0.1 * frame["age"] - 0.05 * frame["income"] + effect + rng.normal(
        size=len(frame))
    return _written(frame, tmp_path_factory, "rows.csv")


@pytest.mark.parametrize("prior_scale", [1.0, None])
def test_chunked_csv_map_equals_in_memory_map(frame_and_path, prior_scale):
    frame, path = frame_and_path
    memory = LinearRegressor(prior_scale=prior_scale).fit(frame.drop(columns="y"), frame["y"])
    stream = csv_input(path, label="y", chunk_size=500, sample_size=400)
    chunked = LinearRegressor(prior_scale=prior_scale).fit(stream)
    np.testing.assert_allclose(chunked.coef_, memory.coef_, rtol=1e-4)
    np.testing.assert_allclose(chunked.intercept_, memory.intercept_, rtol=1e-4)
    np.testing.assert_allclose(chunked.sigma_, memory.sigma_, rtol=1e-4)
    np.testing.assert_allclose(chunked.predict(frame.drop(columns="y")[:5]),
                               memory.predict(frame.drop(columns="y")[:5]), rtol=1e-6)


def test_chunked_csv_vi(frame_and_path):
    frame, path = frame_and_path
    reg = LinearRegressor(inference="vi", n_samples=500, random_state=1).fit(
        csv_input(path, label="y", chunk_size=1000))
    memory = LinearRegressor().fit(frame.drop(columns="y"), frame["y"])
    coef = reg.posterior_["coef"][0]
    assert np.all(np.abs(coef.mean(axis=0) - memory.coef_) < 0.3 * coef.std(axis=0))


def test_stream_errors_are_named(frame_and_path):
    _, path = frame_and_path
    with pytest.raises(ValueError, match="class_weight is not supported with a stream"):
        LinearClassifier(class_weight="balanced").fit(csv_input(path, label="region"))
    with pytest.raises(ValueError, match="pass y=None"):
        LinearRegressor().fit(csv_input(path, label="y"), np.ones(3))
    with pytest.raises(ValueError, match="needs one label column"):
        LinearRegressor().fit(csv_input(path))
    with pytest.raises(ValueError, match=r"does not have the columns asked for.*'nope'"):
        LinearRegressor().fit(csv_input(path, label="y", columns=["age", "nope"]))


@pytest.fixture(scope="module")
def counts_and_path(tmp_path_factory):
    rng = np.random.default_rng(5)
    n = 3000
    frame, effect = _features(rng, n, {"north": 0.0, "south": 0.8, "east": -0.4})
    eta = -1.0 + 0.03 * frame["age"] - 0.02 * frame["income"] + effect
    frame["count"] = rng.poisson(np.exp(eta))
    frame["label"] = np.where(eta + rng.logistic(size=n) > 0.2, "yes", "no")
    frame["tier"] = rng.choice(["a", "b", "c"], n)
    return _written(frame, tmp_path_factory, "counts.csv")


@pytest.mark.parametrize("estimator, label", [
    (LinearClassifier, "label"), (LinearClassifier, "tier"), (PoissonRegressor, "count")])
def test_chunked_csv_map_of_classifier_and_poisson(counts_and_path, estimator, label):
    frame, path = counts_and_path
    features = ["age", "income", "region"]
    memory = estimator().fit(frame[features], frame[label])
    stream = csv_input(path, label=label, columns=features, chunk_size=500, sample_size=400)
    chunked = estimator().fit(stream)
    np.testing.assert_allclose(chunked.coef_, memory.coef_, rtol=1e-4, atol=1e-8)
    np.testing.assert_allclose(chunked.intercept_, memory.intercept_, rtol=1e-4, atol=1e-8)
    if estimator is LinearClassifier:
        assert chunked.classes_.tolist() == memory.classes_.tolist()
    assert chunked.n_iter_ > 1


def test_chunked_csv_vi_of_poisson(counts_and_path):
    """Minibatch ADVI over the stream (batches of 100 rows, started at the streamed mode)
    agrees with in-memory full-batch ADVI: the minibatch noise moves the fitted means by a
    small fraction of a posterior sd and the sds by some percent."""
    frame, path = counts_and_path
    features = ["age", "income", "region"]
    memory = PoissonRegressor(inference="vi", n_samples=1000, random_state=1).fit(
        frame[features], frame["count"])
    stream = csv_input(path, label="count", columns=features, chunk_size=500, sample_size=400,
                       batch_size=100)
    chunked = PoissonRegressor(inference="vi", n_samples=1000, random_state=1).fit(stream)
    a, b = memory.posterior_["coef"][0], chunked.posterior_["coef"][0]
    assert np.all(np.abs(a.mean(axis=0) - b.mean(axis=0)) < 0.3 * a.std(axis=0))
    ratio = b.std(axis=0) / a.std(axis=0)
    assert np.all((ratio > 0.67) & (ratio < 1.5)), ratio
    with pytest.raises(ValueError, match="not 'nuts'"):
        PoissonRegressor(inference="nuts").fit(stream)


def test_stream_column_mismatch_and_unseen_levels(counts_and_path, tmp_path):
    frame, path = counts_and_path
    with pytest.raises(ValueError, match=r"does not have the columns asked for.*'nope'"):
        PoissonRegressor().fit(csv_input(path, label="count", columns=["age", "nope"]))
    with pytest.raises(ValueError, match=r"does not have the columns asked for.*label='nope'"):
        LinearClassifier().fit(csv_input(path, label="nope", columns=["age"]))
    late = frame.copy()
    late.loc[2900:, "region"] = "west"  # a level the sample (first rows) never saw
    late_path = tmp_path / "late.csv"
    late.to_csv(late_path, index=False)
    with pytest.raises(ValueError, match=r"column 'region' has the category 'west'"):
        PoissonRegressor().fit(csv_input(late_path, label="count", columns=["age", "region"],
                                         chunk_size=500, sample_size=400))
