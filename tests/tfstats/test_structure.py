"""Silent misuse: a likelihood attached twice is counted once, with a warning naming it."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import tfstats as ts
from tfstats.structure import DuplicateTermWarning

Y = np.random.default_rng(1).normal(size=20)
X = np.arange(20.0)
POINT = {"mu": 0.3, "b": 0.1}


def _log_prob(mu: ts.Array, b: ts.Array) -> float:
    return ts.model(mu, b).log_prob(POINT)


def test_a_rerun_likelihood_replaces_the_first_with_a_warning() -> None:
    mu, b = ts.normal(0, 1), ts.normal(0, 1)
    ts.normal(mu + b * X, 1, observed=Y)
    once = _log_prob(mu, b)
    with pytest.warns(DuplicateTermWarning, match=r"normal\(\.\.\.\) of observed 'Y' is "
                                                  r"already in the model") as caught:
        ts.normal(mu + b * X, 1, observed=Y)  # the same line again, as a re-run cell does
    assert caught[0].filename == __file__  # points at the user's line
    assert _log_prob(mu, b) == pytest.approx(once, abs=1e-12)
    expected = (-0.5 * ((Y - 0.3 - 0.1 * X) ** 2).sum() - 10 * np.log(2 * np.pi)
                - 0.5 * (0.3**2 + 0.1**2) - np.log(2 * np.pi))
    assert once == pytest.approx(expected, rel=1e-12)


def test_different_data_or_parameters_are_both_counted() -> None:
    mu, b = ts.normal(0, 1), ts.normal(0, 1)
    ts.normal(mu + b * X, 1, observed=Y)
    once = _log_prob(mu, b)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no warning: these are new terms
        ts.normal(mu + b * X, 1, observed=Y + 1.0)
        ts.normal(mu + b * X, 2, observed=Y)
        ts.normal(mu + X, 1, observed=Y)
    assert _log_prob(mu, b) < once - 10


def test_a_duplicate_mixture_likelihood_is_counted_once() -> None:
    mu, b = ts.normal(0, 1), ts.normal(0, 1)

    def write() -> None:
        ts.mixture(ts.normal(mu, 1), ts.normal(b, 1), weights=np.array([0.3, 0.7]),
                   observed=Y)

    write()
    once = _log_prob(mu, b)
    with pytest.warns(DuplicateTermWarning, match="mixture"):
        write()
    assert _log_prob(mu, b) == pytest.approx(once, abs=1e-12)


def test_arrays_unrelated_to_the_draws_warn() -> None:
    from tests.tfstats.fitted import radon_fit

    draws = radon_fit()["draws"]
    alpha = ts.normal(0, 5, dim=3)  # the model code run again: a new unknown
    with pytest.warns(UserWarning, match="none of the unknowns these arrays depend on"):
        ts.calculate(alpha * 2, values=draws)


def test_a_rerun_factor_is_counted_once() -> None:
    mu, b = ts.normal(0, 1), ts.normal(0, 1)
    ts.factor(-0.5 * (mu - b) ** 2)
    once = _log_prob(mu, b)
    with pytest.warns(DuplicateTermWarning, match=r"the term factor\(\.\.\.\)"):
        ts.factor(-0.5 * (mu - b) ** 2)
    assert _log_prob(mu, b) == pytest.approx(once, abs=1e-12)
