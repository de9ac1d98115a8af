"""class_weight="balanced" of the deep nets counts sample weights as scikit-learn's
compute_class_weight does: total weight / (n_classes * weight of the class)."""

import numpy as np
import pytest
from sklearn.utils.class_weight import compute_class_weight

from estimators import DNNClassifier
from estimators.neural.train import dataset_sample


def _balanced(y, weights, classes=None):
    clf = DNNClassifier(class_weight="balanced")
    clf.classes_ = np.unique(y) if classes is None else np.asarray(classes)
    clf.n_classes_ = len(clf.classes_)
    return clf._class_weight_vector(y, weights)


@pytest.mark.parametrize("labels", [np.array([0, 1]), np.array(["a", "b", "c"], dtype=object)])
def test_balanced_weights_count_sample_weights_as_scikit_learn(labels):
    rng = np.random.default_rng(4)
    y = labels[rng.integers(len(labels), size=40)]
    weights = rng.uniform(0.1, 3.0, size=40)
    expected = compute_class_weight("balanced", classes=np.unique(y), y=y,
                                    sample_weight=weights)
    np.testing.assert_allclose(_balanced(y, weights), expected, rtol=1e-12)
    unweighted = compute_class_weight("balanced", classes=np.unique(y), y=y)
    np.testing.assert_allclose(_balanced(y, None), unweighted, rtol=1e-12)
    assert not np.allclose(expected, unweighted)  # the weights matter in this example


def test_a_class_absent_from_y_counts_as_one_unit_of_weight():
    # partial_fit may name a class the first batch lacks: finite, as without weights
    out = _balanced(np.array([0, 0, 1]), np.array([0.5, 0.5, 2.0]), classes=[0, 1, 2])
    np.testing.assert_allclose(out, [3.0 / 3.0, 3.0 / 6.0, 3.0 / 3.0])


def test_fit_and_a_weighted_dataset_pass_their_weights():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(30, 2)).astype(np.float32)
    y = (X[:, 0] > 0).astype(int)
    weights = rng.uniform(0.5, 2.0, size=30)
    expected = compute_class_weight("balanced", classes=np.array([0, 1]), y=y,
                                    sample_weight=weights)
    clf = DNNClassifier(hidden_units=[2], epochs=1, batch_size=30, class_weight="balanced",
                        random_state=0).fit(X, y, sample_weight=weights)
    np.testing.assert_allclose(clf.class_weights_, expected, rtol=1e-12)
    tf = pytest.importorskip("tensorflow")
    ds = tf.data.Dataset.from_tensor_slices((X, y, weights)).batch(8)
    feats, labels, w = dataset_sample(ds, 100)
    np.testing.assert_array_equal(labels, y)
    np.testing.assert_allclose(w, weights)
    assert dataset_sample(tf.data.Dataset.from_tensor_slices((X, y)).batch(8), 100)[2] is None


def test_a_dataset_with_the_wrong_number_of_weights_is_named():
    tf = pytest.importorskip("tensorflow")
    X, y = np.zeros((8, 2), np.float32), np.arange(8) % 2
    ds = tf.data.Dataset.from_tensors((X, y, np.ones(5)))  # 5 weights for 8 labels
    with pytest.raises(ValueError, match=r"sample weights have shape \(5,\) for a batch "
                                         r"of 8 labels"):
        dataset_sample(ds, 100)
