"""``glm``: a formula on a data frame -> a tfstats ``Model`` (brms / bambi style)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from tfstats import distributions as dist
from tfstats import functions
from tfstats.arrays import Array
from tfstats.formulas.correlated import CorrBlock, block_effects, correlated_blocks
from tfstats.formulas.design import Design, check_missing, make_design, used_columns
from tfstats.formulas.family import (
    GlmFamily,
    check_response,
    get_family,
    inverse_link,
    likelihood,
)
from tfstats.formulas.predict import predict
from tfstats.formulas.priors import Prior, check_prior, default_priors, make_unknown
from tfstats.model import Model

__all__ = ["GlmSpec", "glm"]


@dataclass
class GlmSpec:
    """What ``glm`` made, kept on the model (``model.formula``) for predictions."""

    design: Design
    family: GlmFamily
    link: str
    response: np.ndarray
    priors: dict[str, Prior]  # the prior of every unknown, by name (defaults filled in)
    eta: Array  # the linear predictor on the fitted rows
    mu: Array  # the mean of the response: the inverse link of eta
    dropped: int = 0  # rows dropped by dropna=True
    blocks: list[CorrBlock] = field(default_factory=list)  # correlated group terms

    def predict(self, model: Model, fit: Any, data: Any = None, kind: str = "mean",
                seed: int | None = None) -> np.ndarray:
        """Predictions of ``model`` (made by ``glm`` with this spec): see
        :meth:`tfstats.Model.predict`."""
        return predict(model, fit, data=data, kind=kind, seed=seed)


def _as_frame(data: Any) -> pd.DataFrame:
    if isinstance(data, pd.DataFrame):
        return data
    if isinstance(data, dict):
        return pd.DataFrame(data)
    raise TypeError(f"data must be a pandas DataFrame (or a dict of columns), got "
                    f"{type(data).__name__}")


def _unknown_names(design: Design, family: GlmFamily, blocks: list[CorrBlock]) -> list[str]:
    names = ["Intercept"] if design.intercept else []
    names += [t.name for t in design.common]
    names += [f"{t.name}_sigma" for t in design.group]
    for block in blocks:
        if block.name in names:
            raise ValueError(f"the correlation matrix of the group terms of {block.factor!r} "
                             f"is named {block.name!r}, as is a term of the formula: rename "
                             f"that column, or pass correlated=False")
        names.append(block.name)
    return names + list(family.params)


def _resolve_priors(names: list[str], defaults: dict[str, Prior],
                    given: dict[str, Any] | None,
                    correlations: set[str]) -> dict[str, Prior]:
    if given is not None and not isinstance(given, dict):
        raise TypeError(f"priors must be a dict by term name, got {type(given).__name__}")
    given = dict(given or {})
    unknown = [k for k in given if k not in names]
    if unknown:
        hint = ""
        group = [k for k in unknown if f"{k}_sigma" in names]
        if group:
            hint = f" (a group term's prior is set on its sd: {[f'{k}_sigma' for k in group]})"
        raise ValueError(f"priors given for {unknown}, which are not terms of this model"
                         f"{hint}; its terms are {names}")
    return {n: check_prior(n, given[n], n in correlations) if n in given else defaults[n]
            for n in names}


def _labels(design: Design,
            blocks: list[CorrBlock]) -> tuple[dict[str, list[str]], dict[str, list[str]]]:
    """ArviZ-style coords and dims giving level names to the rows of the summary."""
    coords: dict[str, list[str]] = {}
    dims: dict[str, list[str]] = {}
    for term in design.common:
        if term.labels:
            coords[f"{term.name}_dim"] = term.labels
            dims[term.name] = [f"{term.name}_dim"]
    for term in design.group:
        coords[term.factor] = term.levels
        term_dims = [term.factor]
        if term.labels:
            expr = term.name.split("|", 1)[0]
            coords[f"{expr}_dim"] = term.labels
            term_dims.append(f"{expr}_dim")
            dims[f"{term.name}_sigma"] = [f"{expr}_dim"]
        dims[term.name] = term_dims
        dims[f"{term.name}_offset"] = term_dims
    for block in blocks:  # two dims: xarray wants distinct names for the two axes
        axes = [f"{block.name}_row", f"{block.name}_col"]
        coords.update({axis: block.labels for axis in axes})
        dims[block.name] = dims[block.cholesky] = axes
    return coords, dims


def _group_effects(design: Design, unknowns: dict[str, Array], offsets: dict[str, Array],
                   blocks: list[CorrBlock]) -> dict[str, Array]:
    """Each group term's effects, non-centred: offset * sd, or correlated by blocks."""
    sigmas = {t.name: unknowns[f"{t.name}_sigma"] for t in design.group}
    effects: dict[str, Array] = {}
    for block in blocks:
        effects.update(block_effects(block, offsets, sigmas, unknowns[block.cholesky]))
    for term in design.group:
        if term.name not in effects:
            effects[term.name] = offsets[term.name] * sigmas[term.name]
    return effects


def _linear_predictor(design: Design, unknowns: dict[str, Array],
                      effects: dict[str, Array]) -> Array:
    """eta = Intercept + X @ beta + sum of group contributions."""
    eta: Any = unknowns["Intercept"] if design.intercept else 0.0
    if design.common:
        coefs = [unknowns[t.name] for t in design.common]
        beta = functions.concatenate([c[None] if c.shape == () else c for c in coefs])
        eta = eta + design.X @ beta
    for term in design.group:
        per_row = effects[term.name][term.index]
        if term.width > 1:
            eta = eta + np.sum(term.predictor * per_row, axis=1)
        elif term.is_intercept:
            eta = eta + per_row
        else:
            eta = eta + term.predictor[:, 0] * per_row
    if not isinstance(eta, Array):
        raise ValueError(f"the formula {design.formula!r} has no terms to estimate")
    return eta


def glm(formula: str, data: Any, family: str = "gaussian", priors: dict[str, Any] | None = None,
        link: str | None = None, *, correlated: bool = True, dropna: bool = False,
        precision: str | None = None) -> Model:
    """A generalised linear (mixed) model from a formula on a data frame, as in brms/bambi.

    Parameters
    ----------
    formula : str
        ``"y ~ x + C(region) + (1 + x | county)"``, parsed by ``formulae`` (bambi's
        formula package): common terms, ``C()``, interactions, transformations such as
        ``np.log(x)`` and ``scale(x)``, group-specific terms ``(1 | g)``, ``(x | g)``,
        ``(1 | g1:g2)``. For ``binomial`` the response is ``p(successes, trials)``.
    data : pandas.DataFrame
        The data; only the columns the formula uses are read.
    family : {"gaussian", "bernoulli", "binomial", "poisson", "negative_binomial", "student"}
        The response distribution.
    priors : dict, optional
        ``{name: (distribution name, *arguments)}`` by unknown name (``"Intercept"``,
        ``"x"``, ``"region"``, ``"1|county_sigma"``, ``"sigma"``, ...), e.g.
        ``{"x": ("normal", 0, 1), "1|county_sigma": ("half_normal", 1)}``; ``("flat",)``
        is an improper flat prior; ``{"county_corr": ("lkj", 2)}`` sets the LKJ prior of
        the correlation of a factor's group effects. Unknowns not named get bambi's weakly
        informative defaults, scaled to the data, and correlations ``("lkj", 1)`` (brms's).
    link : str, optional
        The link function; the family's usual one by default (identity, logit, log).
    correlated : bool
        The group-specific effects of one factor with two or more coefficients in all
        (``(1 + x | county)``) are correlated, with an LKJ prior on their correlation
        matrix ``county_corr`` (brms and lme4's default). ``False`` makes them
        independent (bambi's default).
    dropna : bool
        Drop rows with missing values in the columns the formula uses (with a warning
        saying how many) instead of raising an error.
    precision : {"mixed", "double", "single"}, optional
        As for :func:`model`.

    Returns
    -------
    Model
        A tfstats model: fit it with ``mcmc``, ``opt`` or ``vi``; ``model.predict(fit)``
        gives predictions. Its unknowns are named as bambi names them.

    Examples
    --------
    >>> import numpy as np, pandas as pd, tfstats as ts
    >>> df = pd.DataFrame({"y": [1.1, 2.3, 2.9, 4.2, 4.8, 6.1],
    ...                    "x": [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]})
    >>> m = ts.glm("y ~ x", df)
    >>> m.variable_names
    ['Intercept', 'x', 'sigma']
    >>> fit = ts.opt(m, seed=1)
    >>> round(float(fit.par["x"]), 2)
    0.97
    """
    frame = _as_frame(data)
    columns = used_columns(formula, frame)
    n_rows = len(frame)
    frame = check_missing(frame, columns, dropna)
    design = make_design(formula, frame, env=1)
    glm_family, link = get_family(family, link)
    y = check_response(glm_family, design.response, design.response_name,
                       design.response_kind)
    blocks = correlated_blocks(design, correlated)
    names = _unknown_names(design, glm_family, blocks)
    gaussian_like = glm_family.name in ("gaussian", "student")
    defaults = default_priors(design, gaussian_like, y)
    defaults.update({block.name: ("lkj", 1.0) for block in blocks})
    resolved = _resolve_priors(names, defaults, priors, {block.name for block in blocks})
    unknowns: dict[str, Array] = {}
    if design.intercept:
        unknowns["Intercept"] = make_unknown(resolved["Intercept"], (), name="Intercept")
    for term in design.common:
        shape = (term.columns.stop - term.columns.start,)
        unknowns[term.name] = make_unknown(resolved[term.name], shape if shape[0] > 1 else (),
                                          name=term.name)
    offsets: dict[str, Array] = {}
    for term in design.group:
        sigma_name = f"{term.name}_sigma"
        width = () if term.width == 1 else (term.width,)
        unknowns[sigma_name] = make_unknown(resolved[sigma_name], width, positive=True,
                                              name=sigma_name)
        offsets[term.name] = dist.normal(0.0, 1.0, dim=(len(term.levels), *width))
    correlations: dict[str, Array] = {}
    for block in blocks:
        cholesky = make_unknown(resolved[block.name], (block.size, block.size),
                                name=block.name)
        unknowns[block.cholesky] = cholesky
        correlations[block.name] = cholesky @ cholesky.T
    for param in glm_family.params:
        unknowns[param] = make_unknown(resolved[param], (), positive=True, name=param)
    effects = _group_effects(design, unknowns, offsets, blocks)
    eta = _linear_predictor(design, unknowns, effects)
    mu = inverse_link(link, eta)
    likelihood(glm_family, mu, unknowns, y)
    targets = {n: unknowns[n] for n in names if n in ("Intercept",)}
    targets.update({t.name: unknowns[t.name] for t in design.common})
    targets.update(effects)
    targets.update({n: correlations.get(n, unknowns.get(n)) for n in names if n not in targets})
    local_names = {id(v): n for n, v in unknowns.items()}
    local_names.update({id(v): f"{n}_offset" for n, v in offsets.items()})
    coords, dims = _labels(design, blocks)
    model = Model(targets, precision=precision, local_names=local_names, coords=coords,
                  dims=dims)
    model.formula = GlmSpec(design, glm_family, link, y, resolved, eta, mu,
                            n_rows - design.n_rows, blocks)
    return model
