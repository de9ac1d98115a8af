"""Maximum likelihood (prior_scale=None) without a finite estimate: separation is found by
an exact linear program (the fit checked instead above its size limit) and warned about."""

import warnings

import numpy as np
import pandas as pd
import pytest
from sklearn.exceptions import ConvergenceWarning

from estimators import LinearClassifier, PoissonRegressor
from estimators.glm import separation
from estimators.glm.separation import separating_direction


def _rows(seed=0, n=120):
    rng = np.random.default_rng(seed)
    return rng, rng.normal(size=(n, 2))


def _quiet(fit):
    """Fit with every ConvergenceWarning an error: no false alarm."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        return fit()


def test_separated_binary_classes_warn_and_name_the_remedy():
    rng, X = _rows()
    y = np.where(X[:, 0] - 0.5 * X[:, 1] > 0, "yes", "no")
    with pytest.warns(ConvergenceWarning, match=r"separat.*\['x0', 'x1'.*prior_scale"):
        LinearClassifier(prior_scale=None).fit(pd.DataFrame(X, columns=["x0", "x1"]), y)
    # the same data with a prior: a finite estimate, nothing to say
    _quiet(lambda: LinearClassifier(prior_scale=1.0).fit(X, y))


def test_quasi_complete_separation_is_found():
    # x1 = 1 only on rows of class 1 (and on one row the other features leave free)
    rng, X = _rows(1)
    y = (X[:, 0] + rng.normal(size=len(X)) > 0).astype(int)
    flag = np.zeros(len(X))
    flag[np.flatnonzero(y == 1)[:3]] = 1.0
    direction = separating_direction("logistic", np.column_stack([X, flag]), y,
                                     np.ones(len(y)))
    assert direction is not None and direction[2] != 0
    assert separating_direction("logistic", X, y, np.ones(len(y))) is None


def test_overlapping_classes_do_not_warn():
    rng, X = _rows(2)
    y = (X[:, 0] + rng.normal(size=len(X)) > 0).astype(int)
    clf = _quiet(lambda: LinearClassifier(prior_scale=None).fit(X, y))
    assert np.all(np.abs(clf.coef_) < 10)


def test_zero_weight_rows_do_not_count():
    # the two rows that make the classes overlap have zero weight: separated
    X = np.array([[0.0], [1.0], [2.0], [3.0], [0.5], [2.5]])
    y = np.array([0, 0, 1, 1, 1, 0])
    assert separating_direction("logistic", X, y, np.ones(6)) is None
    weights = np.array([1.0, 1.0, 1.0, 1.0, 0.0, 0.0])
    assert separating_direction("logistic", X, y, weights) is not None


def test_multinomial_separation_and_overlap():
    rng, X = _rows(3, n=150)
    ordered = np.digitize(X[:, 0], [-0.5, 0.5])  # three classes, one after the other
    with pytest.warns(ConvergenceWarning, match="separated"):
        LinearClassifier(prior_scale=None).fit(X, ordered)
    noisy = np.digitize(X[:, 0] + rng.normal(size=len(X)), [-0.5, 0.5])
    _quiet(lambda: LinearClassifier(prior_scale=None).fit(X, noisy))
    # three classes in 120-degree sectors around the origin: no class is separable from
    # the other two by a line, yet u_k pointing into sector k separates them all
    sector = np.floor_divide(np.arctan2(X[:, 1], X[:, 0]) + np.pi, 2 * np.pi / 3)
    sector = np.minimum(sector, 2).astype(int)
    assert separating_direction("multinomial", X, sector, np.ones(len(X)), 3) is not None
    for k in range(3):
        assert separating_direction("logistic", X, (sector == k).astype(int),
                                    np.ones(len(X))) is None


def test_poisson_level_with_only_zero_counts_warns():
    rng = np.random.default_rng(4)
    frame = pd.DataFrame({"x": rng.normal(size=150),
                          "region": rng.choice(["a", "b", "c"], size=150)})
    counts = rng.poisson(np.exp(0.5 + 0.3 * frame["x"]))
    _quiet(lambda: PoissonRegressor(prior_scale=None).fit(frame, counts))
    counts[frame["region"] == "c"] = 0
    with pytest.warns(ConvergenceWarning, match=r"zero counts.*region_c"):
        PoissonRegressor(prior_scale=None).fit(frame, counts)


def test_above_the_size_limit_the_fit_is_checked(monkeypatch):
    monkeypatch.setattr(separation, "MAX_LP_ENTRIES", 10)
    monkeypatch.setattr(separation, "separating_direction", None)  # must not be called
    rng, X = _rows(5)
    y = (X[:, 0] > 0).astype(int)
    with pytest.warns(ConvergenceWarning, match="rows are fitted with probability 1"):
        LinearClassifier(prior_scale=None).fit(X, y)
    noisy = (X[:, 0] + rng.normal(size=len(X)) > 0).astype(int)
    _quiet(lambda: LinearClassifier(prior_scale=None).fit(X, noisy))
    counts = rng.poisson(np.exp(0.5 + 0.3 * X[:, 0]))
    counts[X[:, 1] > 0.5] = 0
    flag = np.column_stack([X[:, 0], X[:, 1] > 0.5])
    with pytest.warns(ConvergenceWarning, match="fitted with a mean of 0"):
        PoissonRegressor(prior_scale=None).fit(flag, counts)
    _quiet(lambda: PoissonRegressor(prior_scale=None).fit(X, rng.poisson(np.exp(X[:, 0]))))


def _cases(n=1500):
    rng = np.random.default_rng(6)
    X = rng.normal(size=(n, 3))
    noisy = (X[:, 0] + rng.normal(size=n) > 0).astype(int)
    single = np.zeros(n)
    single[np.flatnonzero(noisy == 1)[-1]] = 1.0  # one row of class 1 set apart
    rare = (rng.uniform(size=n) < 0.004).astype(float)  # a level with a few rows
    counts = rng.poisson(np.exp(0.2 + 0.3 * X[:, 0]))
    sector = np.minimum(np.floor_divide(np.arctan2(X[:, 1], X[:, 0]) + np.pi,
                                        2 * np.pi / 3), 2).astype(int)
    return [("logistic", X, noisy, 2, False),
            ("logistic", X, (X @ [1.0, -1.0, 0.5] > 0).astype(int), 2, True),
            ("logistic", np.column_stack([X, single]), noisy, 2, True),
            ("poisson", np.column_stack([X, rare]), counts, 1, False),
            ("poisson", np.column_stack([X, rare]), np.where(rare > 0, 0, counts), 1, True),
            ("multinomial", X, np.digitize(X[:, 0] + rng.normal(size=n), [-0.5, 0.5]), 3,
             False),
            ("multinomial", X, sector, 3, True)]


@pytest.mark.parametrize("case", range(7))
def test_row_subsets_give_the_answer_of_the_whole_lp(case, monkeypatch):
    # small subsets and cuts, so the rounds of constraint generation run
    family, X, y, k, separated = _cases()[case]
    monkeypatch.setattr(separation, "INITIAL_ROWS", 40)
    monkeypatch.setattr(separation, "CUTS", 30)
    calls = []
    solve = separation._lp
    monkeypatch.setattr(separation, "_lp", lambda A, E: calls.append(A.shape[0]) or
                        solve(A, E))
    direction = separating_direction(family, X, y, np.ones(len(y)), k)
    assert (direction is not None) == separated
    A, E = separation._margins(family, separation._design(X, True), y, k)
    assert (solve(A, E) is not None) == separated  # the LP on every row agrees
    assert max(calls) < A.shape[0]  # ... which the subsets never needed


def test_fit_warnings_point_at_the_callers_line(monkeypatch):
    """The separation warning and L-BFGS's (its iterations capped at 2) name the line that
    called fit, not the package's internals."""
    from estimators.glm import models

    rng, X = _rows()
    y = np.where(X[:, 0] > 0, 1, 0)
    monkeypatch.setattr(models, "MAX_ITERATIONS", 2)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        LinearClassifier(prior_scale=None).fit(X, y)
    messages = {str(w.message).split(":")[1].strip()[:11]: w.filename for w in caught
                if issubclass(w.category, ConvergenceWarning)}
    assert set(messages) == {"the classes", "L-BFGS did "}, messages
    assert set(messages.values()) == {__file__}


def test_the_docs_example_warns(capsys):
    """docs/estimators.md's separation example runs as written and prints the warning."""
    import re
    from pathlib import Path

    page = (Path(__file__).resolve().parents[3] / "docs" / "estimators.md").read_text()
    section = page.split("### Maximum likelihood without a finite estimate")[1]
    code = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)  # the prior's fit: no warning
        exec(compile(code, "docs/estimators.md", "exec"), {})  # noqa: S102
    assert "LinearClassifier: the classes are (quasi-)completely separated" in (
        capsys.readouterr().out)
