"""Draws -> ArviZ InferenceData: posterior and sampler statistics, labelled by the model's
``coords`` and ``dims``; the pointwise log-likelihood and observed data, named after the
observed data; posterior predictive, prior and prior predictive groups on request."""

from __future__ import annotations

from typing import Any

import numpy as np

from tfstats.inference.enumeration import draw_discrete
from tfstats.inference.simulate import evaluate, pointwise_log_likelihood
from tfstats.labels import arviz_dims
from tfstats.quiet import import_without_notices

__all__ = ["to_inference_data"]


def _sample_stats(draws: Any) -> dict[str, np.ndarray]:
    stats = draws.stats
    if "divergent" not in stats:  # not MCMC draws (VI draws have no sampler statistics)
        return {}
    out = {"diverging": stats["divergent"].astype(bool), "acceptance_rate": stats["accept"],
           "n_steps": stats["n_steps"], "energy": stats["energy"],
           "step_size": stats["step_size"], "lp": stats["log_density"]}
    out["tree_depth"] = np.ceil(np.log2(stats["n_steps"] + 1.0))
    return out


def _simulate(draws: Any, given: bool, arrays: list, seed: int | None) -> list[np.ndarray]:
    """``arrays`` at every posterior draw (``given``) or simulated from the prior (as many
    draws as one chain has), shaped (chains, draws, *shape)."""
    model = draws.model
    if given:
        known = list(model.variables)
        batches = [draws[model.names[v]].reshape(-1, *v.shape) for v in known]
        chains, n = draws.n_chains, draws.n_draws
        if model.discrete:  # each draw's discrete unknowns, from their conditional
            drawn = draw_discrete(model, dict(zip(known, batches, strict=True)), seed)
            known, batches = known + list(drawn), batches + list(drawn.values())
    else:
        known, batches, chains, n = [], [], 1, draws.n_draws
    out = evaluate(arrays, known, batches, chains * n, seed, model.names, model.precision)
    return [o.reshape(chains, n, *a.shape) for o, a in zip(out, arrays, strict=True)]


def to_inference_data(draws: Any, *, log_likelihood: bool = True, observed_data: bool = True,
                      posterior_predictive: bool = False, prior: bool = False,
                      prior_predictive: bool = False, seed: int | None = None) -> Any:
    """See :meth:`tfstats.Draws.to_arviz`."""
    az = import_without_notices("arviz")

    model = draws.model
    if model is None and (posterior_predictive or prior or prior_predictive):
        raise ValueError("these draws have no model (loaded from a file?): predictive and "
                         "prior groups need it; use Draws.load(path, model=m)")
    groups: dict[str, Any] = {"posterior": dict(draws.values)}
    stats = _sample_stats(draws)
    if stats:
        groups["sample_stats"] = stats
    dims = {n: arviz_dims(n, v.ndim - 2, draws.dims) for n, v in draws.values.items()}
    if model is not None and model.observed_terms:
        names, terms = model.observed_names, model.observed_terms
        for name, term in zip(names, terms, strict=True):
            if not term.family.event_ndims:  # the log-likelihood has the data's axes
                dims[name] = arviz_dims(name, term.value.ndim, draws.dims)
        if log_likelihood:
            groups["log_likelihood"] = pointwise_log_likelihood(draws)[0]
        if observed_data:
            groups["observed_data"] = {n: t.value.value for n, t in zip(names, terms,
                                                                        strict=True)}
        data_arrays = [t.value for t in terms]
        if posterior_predictive:
            groups["posterior_predictive"] = dict(zip(names, _simulate(
                draws, True, data_arrays, seed), strict=True))
        if prior or prior_predictive:
            outputs = model.output_arrays()
            simulated = _simulate(draws, False, [*outputs.values(), *data_arrays], seed)
            if prior:
                groups["prior"] = dict(zip(outputs, simulated, strict=False))
            if prior_predictive:
                groups["prior_predictive"] = dict(zip(names, simulated[len(outputs):],
                                                      strict=True))
    elif model is not None and prior:
        outputs = model.output_arrays()
        groups["prior"] = dict(zip(outputs, _simulate(draws, False, list(outputs.values()),
                                                      seed), strict=True))
    coords = {k: list(v) for k, v in draws.coords.items()}
    return az.from_dict(**groups, coords=coords, dims=dims)
