"""A name that is not an unknown of the model is an error listing the valid names, in
calculate(values=...), initial_values (mcmc, opt) and log_prob: never silently ignored."""

from __future__ import annotations

import numpy as np
import pytest

import tfstats as ts
from tfstats.errors import UnknownNameError


@pytest.fixture(scope="module")
def m() -> ts.Model:
    mu = ts.normal(0, 5)
    sigma = ts.exponential(1)
    ts.normal(mu, sigma, observed=np.array([0.3, -0.2, 1.1]))
    return ts.model(mu, sigma)


def test_calculate_with_a_misspelt_name_is_an_error() -> None:
    mu = ts.normal(0, 1)
    with pytest.raises(UnknownNameError, match=r"calculate\(values=\.\.\.\): unknown names "
                                               r"\['muu'\]; the model's unknowns are \['mu'"):
        ts.calculate(mu * 2, values={"muu": 1.0})
    assert float(ts.calculate(mu * 2, values={"mu": 1.0})) == 2.0
    other = ts.normal(0, 1)  # an unknown of the caller the array does not use: accepted
    assert float(ts.calculate(mu * 2, values={"mu": 1.0, "other": 3.0})) == 2.0
    assert other is not None


def test_calculate_with_a_derived_array_as_key_is_an_error() -> None:
    mu = ts.normal(0, 1)
    doubled = mu * 2
    with pytest.raises(UnknownNameError, match="'doubled' is not an unknown"):
        ts.calculate(doubled + 1, values={doubled: 1.0})
    with pytest.raises(UnknownNameError, match=r"unknown names \['doubled'\]"):
        ts.calculate(doubled + 1, values={"doubled": 1.0})


def test_log_prob_with_a_wrong_name_lists_the_unknowns(m: ts.Model) -> None:
    with pytest.raises(UnknownNameError, match=r"unknown names \['sigmaa'\]; the model's "
                                               r"unknowns are \['mu', 'sigma'\]"):
        m.log_prob({"mu": 0.0, "sigmaa": 1.0})


@pytest.mark.parametrize("fit", [
    lambda m, v: ts.opt(m, initial_values=v),
    lambda m, v: ts.mcmc(m, n_samples=10, warmup=10, chains=2, initial_values=v,
                         progress=False),
    lambda m, v: ts.mcmc(m, n_samples=10, warmup=10, chains=2, initial_values=[{}, v],
                         progress=False),
])
def test_initial_values_with_a_wrong_name_are_an_error(m: ts.Model, fit) -> None:
    with pytest.raises(UnknownNameError, match=r"initial_values: unknown names \['muu'\]"):
        fit(m, {"muu": 1.0})


def test_the_error_is_a_key_error_and_a_model_error(m: ts.Model) -> None:
    with pytest.raises(KeyError):
        m.log_prob({"nu": 1.0})
    with pytest.raises(ts.ModelError):
        m.log_prob({"nu": 1.0})
