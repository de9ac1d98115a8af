"""Observed data outside constant bounds (tfstats/observed_ranges.py): errors when the
likelihood is written and when ``Model.set_data`` gives new values, which then change
nothing. The distributions' own cases are in test_distributions.py."""

from __future__ import annotations

import numpy as np
import pytest

import tfstats as ts
from tfstats.arrays import as_array
from tfstats.observed_ranges import check_truncated


def test_set_data_outside_the_truncation_is_refused_and_changes_nothing() -> None:
    y = ts.as_data(np.array([0.5, 1.0]), mutable=True, name="y")
    mu = ts.normal(0, 1)
    ts.normal(mu, 1, truncation=(0, 2), observed=y)
    m = ts.model(mu)
    before = m.log_prob({"mu": 0.0})
    with pytest.raises(ts.ModelError, match=r"normal: observed data must lie within the "
                                            r"truncation bounds; got 2.5, above the upper "
                                            r"bound 2"):
        m.set_data(y=np.array([0.5, 2.5]))
    assert m.log_prob({"mu": 0.0}) == before
    m.set_data(y=np.array([0.2, 1.9]))
    assert m.log_prob({"mu": 0.0}) != before


def test_array_bounds_name_the_first_value_outside() -> None:
    upper = as_array(np.array([3.0, 1.0, 3.0]))
    with pytest.raises(ts.ModelError, match=r"gamma: .* got 2.0, above the upper bound 1.0"):
        check_truncated("gamma", np.array([1.0, 2.0, 3.0]), (None, upper))
    check_truncated("gamma", np.array([1.0, 1.0, 3.0]), (None, upper))
    check_truncated("gamma", None, (None, upper))  # observed arrays of the model: no check
    unknown = ts.uniform(0, 1)
    check_truncated("normal", np.array([-5.0]), (unknown, None))  # bounds of the model: none
