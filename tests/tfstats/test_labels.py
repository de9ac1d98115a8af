"""Labels: coords and dims of a model name summary rows, data-frame columns, ArviZ
coordinates and diagnostic warnings; observed data are named; constant elements have no
diagnostics."""

from __future__ import annotations

import re
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

import tfstats as ts
from tests.tfstats.fitted import COUNTIES, radon_fit


@pytest.fixture(scope="module")
def fit() -> dict[str, Any]:
    return radon_fit()


def test_a_categorical_index_labels_the_axis_it_indexes(fit: dict) -> None:
    model, draws = fit["model"], fit["draws"]
    assert model.coords == {"county": COUNTIES} and model.dims == {"alpha": ["county"]}
    rows = ["alpha[AITKIN]", "alpha[ANOKA]", "alpha[BECKER]", "sigma"]
    assert list(draws.summary(["alpha", "sigma"]).index) == rows
    assert list(draws.to_dataframe(["alpha", "sigma"]).columns) == ["chain", "draw", *rows]


def test_warnings_name_elements_by_label(fit: dict) -> None:
    # 60 draws per chain: the bulk ESS warning fires and names the rows as the summary does
    (message,) = [m for m in fit["warnings"] if "MCMC diagnostics" in m]
    named = set(re.findall(r"'(alpha\[\w+\])'", message))
    table = fit["draws"].summary(["alpha"])
    disagreeing = set(table.index[table["r_hat"] > 1.01])  # which ones depends on the seed
    assert named <= set(table.index) and named & disagreeing, message  # labels, not 0, 1


def test_to_arviz_carries_labels_and_names_the_log_likelihood(fit: dict) -> None:
    draws = fit["draws"]
    idata = draws.to_arviz(posterior_predictive=True, prior=True, prior_predictive=True,
                           seed=2)
    assert list(idata.posterior["alpha"].coords["county"].values) == COUNTIES
    assert list(idata.log_likelihood.data_vars) == ["radon"]  # the caller's name for it
    np.testing.assert_array_equal(idata.observed_data["radon"].values, fit["radon"])
    assert idata.posterior_predictive["radon"].shape == (2, 60, 30)
    assert idata.prior["alpha"].shape == (1, 60, 3)
    assert idata.prior_predictive["radon"].shape == (1, 60, 30)
    # the prior of alpha is normal(0, 5): its simulated sd is near 5
    assert 3.5 < float(idata.prior["alpha"].values.std()) < 6.5
    plain = draws.to_arviz(observed_data=False)
    assert "observed_data" not in plain.groups() and "log_likelihood" in plain.groups()


def test_labels_survive_save_and_load(fit: dict, tmp_path: Path) -> None:
    path = tmp_path / "draws.npz"
    fit["draws"].save(str(path))
    loaded = ts.Draws.load(str(path))
    assert loaded.coords == {"county": COUNTIES} and loaded.dims == {"alpha": ["county"]}
    assert loaded.summary().index[0] == "alpha[AITKIN]"


def test_coords_and_dims_of_model_label_two_axes() -> None:
    beta = ts.normal(0, 1, dim=(2, 3))
    m = ts.model(beta, coords={"group": ["a", "b"], "x": ["u", "v", "w"]},
                 dims={"beta": ["group", "x"]})
    values = {"beta": np.random.default_rng(1).normal(size=(2, 10, 2, 3))}
    draws = ts.Draws(values, {}, coords=m.coords, dims=m.dims)
    assert list(draws.summary().index[:4]) == ["beta[a, u]", "beta[a, v]", "beta[a, w]",
                                               "beta[b, u]"]
    # an axis without a dimension name keeps integer positions
    m2 = ts.model(beta, coords={"group": ["a", "b"]}, dims={"beta": ["group", None]})
    draws2 = ts.Draws(values, {}, coords=m2.coords, dims=m2.dims)
    assert draws2.summary().index[1] == "beta[a, 1]"


def test_dim_given_as_a_categorical_labels_the_unknown() -> None:
    county = pd.Categorical(["b", "a", "b"], categories=["a", "b"])
    alpha = ts.normal(0, 1, dim=county)
    tau = ts.variable(lower=0, dim=pd.Index(["x", "y", "z"], name="k"))
    assert alpha.shape == (2,) and tau.shape == (3,)
    m = ts.model(alpha, tau)
    assert m.coords == {"alpha_dim_0": ["a", "b"], "k": ["x", "y", "z"]}
    assert m.dims == {"alpha": ["alpha_dim_0"], "tau": ["k"]}


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"dims": {"alhpa": ["county"]}}, r"'alhpa' is not an array of the model; valid names "
                                      r"are \['alpha'\]"),
    ({"coords": {"county": ["a", "b"]}, "dims": {"alpha": ["county"]}},
     r"coords\['county'\] has 2 labels but axis 0 of 'alpha' has length 3"),
    ({"dims": {"alpha": ["county", "x"]}}, r"names 2 dimensions but 'alpha' has shape \(3,\)"),
    ({"coords": {"county": ["a", "a", "b"]}}, r"repeated labels"),
])
def test_bad_coords_and_dims_are_errors(kwargs: dict, message: str) -> None:
    alpha = ts.normal(0, 1, dim=3)
    with pytest.raises(ts.ModelError, match=message):
        ts.model(alpha, **kwargs)


def test_constant_elements_have_no_diagnostics() -> None:
    # correlation matrices made as the LKJ bijector makes them: L L^T with unit-norm rows
    # of a lower-triangular L, so the diagonal is 1 up to rounding
    L = np.tril(np.random.default_rng(1).normal(size=(2, 100, 3, 3)))
    L /= np.linalg.norm(L, axis=-1, keepdims=True)
    draws = ts.Draws({"R": L @ np.swapaxes(L, -1, -2)}, {})
    assert np.ptp(draws["R"][..., 2, 2]) > 0  # not exactly constant
    table = draws.summary()
    assert "R[0, 0]" not in table.index and "R[0, 1]" in table.index
    assert len(table) == 6 and table["r_hat"].notna().all()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        draws.warn_if_unhealthy()
    assert not any("R[1, 1]" in str(w.message) for w in caught)
    assert np.allclose(draws["R"][..., [0, 1, 2], [0, 1, 2]], 1.0)  # the draws keep them
