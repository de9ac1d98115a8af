"""What ``Draws.save`` keeps beside the draws, so that ``Draws.load(path, model=m)`` can
reattach the model (checked to be the one the draws came from), the sampler and the state
of the chains: ``calculate`` and ``extra_samples`` work on loaded draws."""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from tfstats.arrays import ModelError
from tfstats.inference.chain_state import ChainState
from tfstats.inference.samplers import sampler_class
from tfstats.structure import fingerprint

__all__ = ["saved_state", "reattached"]


def saved_state(draws: Any) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """Arrays and JSON metadata for the model's fingerprint, the sampler and the chains."""
    arrays: dict[str, np.ndarray] = {}
    meta: dict[str, Any] = {}
    if draws.model is not None:
        meta["model"] = fingerprint(draws.model)
    if draws.sampler is not None:
        meta["sampler"] = {"method": draws.sampler.method,
                           **dataclasses.asdict(draws.sampler)}
    state = draws.chain_state
    if state is not None:
        arrays["state:x"] = np.asarray(state.x)
        arrays["state:seed"] = np.asarray(state.seed)
        arrays.update({f"adapt:{k}": np.asarray(v) for k, v in state.adaptation.items()})
        arrays.update({f"schedule:{k}": np.asarray(v) for k, v in state.schedule.items()})
        meta["iteration"] = int(state.iteration)
    return arrays, meta


def reattached(content: Any, meta: dict[str, Any], values: dict[str, np.ndarray],
               model: Any) -> dict[str, Any]:
    """Keyword arguments of ``Draws`` that reattach ``model`` (after checking that it is
    the model the draws came from), the sampler and the chains' state."""
    if model is None:
        return {}
    expected = meta.get("model")
    if expected is not None and fingerprint(model) != expected:
        raise ModelError("Draws.load: the model given is not the one these draws came from "
                         "(its unknowns, densities, targets or data differ)")
    for name in model.variable_names:
        if name not in values or values[name].shape[2:] != model.output_arrays()[name].shape:
            raise ModelError(f"Draws.load: the draws have no values for the model's unknown "
                             f"{name!r} of shape {model.output_arrays()[name].shape}")
    out: dict[str, Any] = {"model": model}
    if "sampler" in meta:
        saved = dict(meta["sampler"])
        cls = sampler_class(saved.pop("method"))
        names = {f.name for f in dataclasses.fields(cls)}  # older files kept every setting
        out["sampler"] = cls(**{k: tuple(v) if isinstance(v, list) else v
                                for k, v in saved.items() if k in names})
    if "state:x" in content.files:
        part = {p: {k.split(":", 1)[1]: content[k] for k in content.files if k.startswith(p)}
                for p in ("adapt:", "schedule:")}
        out["chain_state"] = ChainState(content["state:x"], part["adapt:"],
                                        content["state:seed"], meta["iteration"],
                                        part["schedule:"])
    return out
