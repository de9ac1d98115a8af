"""Predictions of a ``glm`` model: posterior expected values or posterior predictive draws
for new rows, with draws from the group distribution for levels not seen in fitting."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from tfstats.arrays import ModelError
from tfstats.draws import Draws
from tfstats.formulas.correlated import new_level_effects
from tfstats.formulas.design import check_missing, new_common, new_group, used_columns
from tfstats.formulas.family import inverse_link_numpy, simulate
from tfstats.inference.optimize import OptResult

__all__ = ["predict"]

KINDS = ("mean", "response")


def _values(fit: Any) -> tuple[dict[str, np.ndarray], bool]:
    """Draws by name with shape (chains, draws, ...), and whether ``fit`` was one point."""
    if isinstance(fit, Draws):
        return fit.values, False
    if isinstance(fit, OptResult):
        return {k: np.asarray(v)[None, None] for k, v in fit.par.items()}, True
    if isinstance(fit, dict):
        return {k: np.asarray(v) for k, v in fit.items()}, False
    raise TypeError(f"predict() takes Draws (from mcmc or vi) or an OptResult (from opt), "
                    f"got {type(fit).__name__}")


def _group_effects(spec: Any, values: dict[str, np.ndarray], n_new: dict[str, int],
                   rng: np.random.Generator) -> dict[str, np.ndarray]:
    """(chains, draws, levels, k) effects of each group term; the ``n_new[term]`` unseen
    levels get effects drawn from the group distribution at each draw: jointly with the
    correlation of a correlated block, else normal(0, sd)."""
    fresh: dict[str, np.ndarray] = {}
    for block in spec.blocks:
        if n_new[block.terms[0]]:
            fresh.update(new_level_effects(values, block, n_new[block.terms[0]], rng))
    effects = {}
    for term in spec.design.group:
        effect = values[term.name]
        chains, n = effect.shape[:2]
        effect = effect.reshape(chains, n, -1, term.width)
        if n_new[term.name] and term.name not in fresh:
            sd = values[f"{term.name}_sigma"].reshape(chains, n, 1, term.width)
            fresh[term.name] = rng.normal(0.0, 1.0, size=(chains, n, n_new[term.name],
                                                          term.width)) * sd
        if n_new[term.name]:
            effect = np.concatenate([effect, fresh[term.name]], axis=2)
        effects[term.name] = effect
    return effects


def linear_predictor(spec: Any, values: dict[str, np.ndarray], data: pd.DataFrame | None,
                     rng: np.random.Generator) -> np.ndarray:
    """The linear predictor (chains, draws, rows) for the fitted rows (``data`` None) or
    new rows."""
    design = spec.design
    X = design.X if data is None else new_common(design, data)
    first = next(iter(values.values()))
    chains, n = first.shape[:2]
    eta = np.zeros((chains, n, X.shape[0]))
    if design.intercept:
        eta += values["Intercept"].reshape(chains, n, 1)
    if design.common:
        beta = np.concatenate([values[t.name].reshape(chains, n, -1) for t in design.common],
                              axis=2)
        eta += np.einsum("cdp,rp->cdr", beta, X)
    rows = {}
    for term in design.group:
        if data is None:
            rows[term.name] = term.predictor, term.index, []
        else:
            rows[term.name] = new_group(term, data)
    effects = _group_effects(spec, values, {t: len(r[2]) for t, r in rows.items()}, rng)
    for name, (predictor, index, _) in rows.items():
        eta += np.einsum("cdrk,rk->cdr", effects[name][:, :, index, :], predictor)
    return eta


def predict(model: Any, fit: Any, data: Any = None, kind: str = "mean",
            seed: int | None = None) -> np.ndarray:
    """Posterior expected values (``kind="mean"``) or posterior predictive draws
    (``kind="response"``) of a model made by ``glm``, for the fitted rows or new ``data``.

    See :meth:`tfstats.Model.predict`.
    """
    spec = getattr(model, "formula", None)
    if spec is None:
        raise ModelError("predict() needs a model made by ts.glm (this model has no formula)")
    if kind not in KINDS:
        raise ValueError(f"kind must be 'mean' or 'response', got {kind!r}")
    values, point = _values(fit)
    missing = [n for n in model.variable_names if n not in values and not n.endswith("_offset")]
    if missing:
        raise ValueError(f"the draws given to predict() lack {missing}: were they drawn from "
                         f"this model?")
    rng = np.random.default_rng(seed)
    frame = None
    if data is not None:
        if not isinstance(data, pd.DataFrame):
            data = pd.DataFrame(data)
        columns = used_columns(spec.design.formula, data, response=False)
        frame = check_missing(data, columns, dropna=False, what="new data")
    mu = inverse_link_numpy(spec.link, linear_predictor(spec, values, frame, rng))
    if kind == "response":
        params = {p: values[p] for p in spec.family.params}
        trials = spec.response[:, 1] if spec.family.response == "proportion" else None
        if trials is not None and frame is not None:
            trials = _new_trials(spec, frame)
        mu = simulate(spec.family, mu, params, trials, rng)
    return mu[0, 0] if point else mu


def _new_trials(spec: Any, data: pd.DataFrame) -> np.ndarray:
    """The number of trials of each new row (binomial): the second column of
    ``p(successes, trials)``, read from the new data."""
    response = spec.design.matrices.response
    try:
        values = np.asarray(response.evaluate_new_data(data))
    except Exception:  # noqa: BLE001 - formulae raises KeyError / others on missing columns
        name = spec.design.response_name
        raise ValueError(f"kind='response' for a binomial model needs the trials of each new "
                         f"row: give the new data the columns of {name!r}") from None
    return values[:, 1] if values.ndim == 2 else values
