"""The response families of ``glm``: their links, their own parameters, the checks of the
response, the likelihood as a tfstats density, and the same in numpy for predictions."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import special, stats

from tfstats import distributions as dist
from tfstats import functions

__all__ = ["GlmFamily", "GLM_FAMILIES", "get_family", "inverse_link", "inverse_link_numpy"]


@dataclass(frozen=True)
class GlmFamily:
    """A response family: its links (the first is the default), its own unknowns, and the
    kind of response it takes."""

    name: str
    links: tuple[str, ...]
    params: tuple[str, ...]  # the family's own unknowns, as bambi names them
    response: str  # "real", "binary", "proportion" (successes, trials), "count"


GLM_FAMILIES: dict[str, GlmFamily] = {f.name: f for f in [
    GlmFamily("gaussian", ("identity", "log", "inverse"), ("sigma",), "real"),
    GlmFamily("student", ("identity", "log", "inverse"), ("sigma", "nu"), "real"),
    GlmFamily("bernoulli", ("logit", "probit", "cloglog"), (), "binary"),
    GlmFamily("binomial", ("logit", "probit", "cloglog"), (), "proportion"),
    GlmFamily("poisson", ("log", "identity", "sqrt"), (), "count"),
    GlmFamily("negative_binomial", ("log", "identity", "sqrt"), ("alpha",), "count"),
]}


def get_family(name: str, link: str | None) -> tuple[GlmFamily, str]:
    """The family called ``name`` and its link (``link`` or the family's default)."""
    if name not in GLM_FAMILIES:
        raise ValueError(f"unknown family {name!r}; choose one of {list(GLM_FAMILIES)}")
    family = GLM_FAMILIES[name]
    link = family.links[0] if link is None else link
    if link not in family.links:
        raise ValueError(f"family {name!r} takes the link {list(family.links)}, got {link!r}")
    return family, link


def check_response(family: GlmFamily, y: np.ndarray, name: str, kind: str) -> np.ndarray:
    """The response as floats, or a ValueError naming the column when the family cannot
    take it."""
    if family.response == "proportion":
        if kind != "proportion":
            raise ValueError(f"family 'binomial' needs the response written as "
                             f"p(successes, trials), got {name!r}")
    elif kind == "proportion":
        raise ValueError(f"the response {name!r} is p(successes, trials), which only family "
                         f"'binomial' takes (family {family.name!r})")
    if kind == "categoric" and y.ndim == 2:
        raise ValueError(f"the response {name!r} is a text or categorical column with "
                         f"{y.shape[1]} levels; write {name}[level] ~ ... for the event that it "
                         f"equals level (family 'bernoulli'), or give numbers")
    if y.dtype == bool:
        y = y.astype(np.float64)
    if not np.issubdtype(y.dtype, np.number):
        raise ValueError(f"the response {name!r} must be numeric, got {y.dtype} values")
    y = y.astype(np.float64)
    if family.response == "binary" and not np.all((y == 0) | (y == 1)):
        bad = np.unique(y[(y != 0) & (y != 1)])[:5].tolist()
        raise ValueError(f"family 'bernoulli' needs a 0/1 (or boolean) response; {name!r} has "
                         f"the values {bad}")
    if family.response in ("count", "proportion") and not np.all((y >= 0) & (y == np.round(y))):
        bad = np.unique(y[(y < 0) | (y != np.round(y))])[:5].tolist()
        raise ValueError(f"family {family.name!r} needs non-negative integer counts; "
                         f"{name!r} has the values {bad}")
    if family.response == "proportion" and np.any(y[:, 0] > y[:, 1]):
        raise ValueError(f"{name!r}: successes exceed trials in "
                         f"{int(np.sum(y[:, 0] > y[:, 1]))} rows")
    return y


# --- links -------------------------------------------------------------------------------------

_GRAPH_LINKS: dict[str, Callable[[Any], Any]] = {
    "identity": lambda eta: eta,
    "log": lambda eta: np.exp(eta),
    "logit": lambda eta: functions.ilogit(eta),
    "probit": lambda eta: functions.iprobit(eta),
    "cloglog": lambda eta: 1.0 - np.exp(-np.exp(eta)),
    "inverse": lambda eta: 1.0 / eta,
    "sqrt": lambda eta: eta * eta,
    "softmax": lambda eta: np.exp(eta - functions.logsumexp(eta, axis=-1, keepdims=True)),
}

_NUMPY_LINKS: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "identity": lambda eta: eta,
    "log": np.exp,
    "logit": special.expit,
    "probit": stats.norm.cdf,
    "cloglog": lambda eta: -np.expm1(-np.exp(eta)),
    "inverse": lambda eta: 1.0 / eta,
    "sqrt": lambda eta: eta * eta,
    "softmax": lambda eta: special.softmax(eta, axis=-1),  # over the last axis: classes
}


def inverse_link(link: str, eta: Any) -> Any:
    """The mean of the response from the linear predictor (tfstats arrays). ``ilogit`` and
    ``exp`` let the bernoulli, binomial and poisson likelihoods take their fast paths."""
    return _GRAPH_LINKS[link](eta)


def inverse_link_numpy(link: str, eta: np.ndarray) -> np.ndarray:
    """The same in numpy."""
    return _NUMPY_LINKS[link](eta)


# --- likelihoods -------------------------------------------------------------------------------

def likelihood(family: GlmFamily, mu: Any, params: dict[str, Any], y: np.ndarray) -> None:
    """Add the likelihood of the response ``y`` with mean ``mu``."""
    name = family.name
    if name == "gaussian":
        dist.normal(mu, params["sigma"], observed=y)
    elif name == "student":
        dist.student(params["nu"], mu, params["sigma"], observed=y)
    elif name == "bernoulli":
        dist.bernoulli(mu, observed=y)
    elif name == "binomial":
        dist.binomial(y[:, 1], mu, observed=y[:, 0])
    elif name == "poisson":
        dist.poisson(mu, observed=y)
    else:  # negative binomial with mean mu and size alpha (bambi's parameterisation)
        alpha = params["alpha"]
        dist.negative_binomial(alpha, alpha / (alpha + mu), observed=y)


def simulate(family: GlmFamily, mu: np.ndarray, params: dict[str, np.ndarray],
             trials: np.ndarray | None, rng: np.random.Generator) -> np.ndarray:
    """Draws of the response given its mean ``mu`` (chains, draws, rows) and the family's
    parameters (chains, draws) at each draw."""
    p = {k: v[..., None] for k, v in params.items()}
    name = family.name
    if name == "gaussian":
        return rng.normal(mu, p["sigma"])
    if name == "student":
        return mu + p["sigma"] * rng.standard_t(np.broadcast_to(p["nu"], mu.shape))
    if name == "bernoulli":
        return rng.binomial(1, mu).astype(np.float64)
    if name == "binomial":
        return rng.binomial(np.broadcast_to(trials.astype(np.int64), mu.shape),
                            mu).astype(np.float64)
    if name == "poisson":
        return rng.poisson(mu).astype(np.float64)
    alpha = np.broadcast_to(p["alpha"], mu.shape)
    return rng.negative_binomial(alpha, alpha / (alpha + mu)).astype(np.float64)
