"""Arrays of a model evaluated at many values of its unknowns, compiled and vectorised:
unknowns without values drawn from their priors and observed data from their likelihoods
(posterior and prior predictive simulation), and the pointwise log-likelihood. The
machinery of ``calculate`` and of ``Draws.to_arviz``; it knows nothing of ``Draws``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from tfstats.arrays import Array, Data, ModelError, Variable
from tfstats.backends import get_backend
from tfstats.families import Density
from tfstats.graph import Evaluator

__all__ = ["Simulator", "evaluate", "pointwise_log_likelihood"]

_BATCH = 1000


class Simulator(Evaluator):
    """An evaluator that draws unknowns without values from their priors and observed
    data from their likelihoods."""

    def __init__(self, *args: Any, seed: Any, names: dict[Variable, str], **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.seed = seed
        self.names = names

    def _next_seed(self) -> Any:
        seeds = self.B.split_seed(self.seed, 2)
        self.seed = seeds[1]
        return seeds[0]

    def _compute(self, node: Array) -> Any:
        if isinstance(node, Data) and node.density is not None:
            return self.simulate(node.density, node.shape)
        if isinstance(node, Variable):
            if node.prior is None:
                name = self.names.get(node) or node.name or "an unknown"
                raise ModelError(f"cannot simulate {name!r}: it has a flat prior "
                                 f"(variable()); give it a distribution or a value")
            value = self.simulate(node.prior, node.shape)
            return value if node.kind != "int" else self.B.cast(value, self.B.int_dtype())
        return super()._compute(node)

    def simulate(self, density: Density, shape: tuple[int, ...]) -> Any:
        B = self.B
        family = density.family
        if family.name == "mixture":
            weights = self.to_float(self(density.params[0]))
            draws = B.np.stack([self.simulate(p, shape) for p in density.components], axis=-1)
            logits = B.np.log(B.np.broadcast_to(weights, (*shape, len(density.components))))
            pick = B.tfd.Categorical(logits=logits).sample(seed=self._next_seed())
            one_hot = B.np.equal(B.np.arange(len(density.components)), pick[..., None])
            return B.np.sum(B.np.where(one_hot, draws, 0.0 * draws), axis=-1)
        if family.name == "joint":
            return B.np.stack([self.simulate(p, shape[:-1]) for p in density.components],
                              axis=-1)
        params = [self.to_float(self(p)) for p in density.params]
        if not family.event_ndims and not family.name.startswith("categorical"):
            params = [B.np.broadcast_to(p, shape) for p in params]
        dist = family.make(B, *params)
        if dist is None:
            raise ModelError(f"simulating from {family.name} is not supported")
        if density.truncation is not None:
            return self._truncated(dist, density, shape)
        extra = len(shape) - len(dist.batch_shape) - len(dist.event_shape)
        sample = dist.sample(tuple(shape[:max(extra, 0)]), seed=self._next_seed())
        return B.np.broadcast_to(self.to_float(sample), shape)

    def _truncated(self, dist: Any, density: Density, shape: tuple[int, ...]) -> Any:
        B = self.B
        low, high = (None if b is None else self.to_float(self(b)) for b in density.truncation)
        zero = B.np.zeros(shape, dtype=self.float)
        lower = dist.cdf(low) + zero if low is not None else zero
        upper = dist.cdf(high) + zero if high is not None else zero + 1.0
        u = B.tfd.Uniform(lower, upper).sample(seed=self._next_seed())
        return dist.quantile(u)


def evaluate(arrays: list[Array], given: list[Variable], batches: list[np.ndarray],
              n: int, seed: int | None, names: dict[Variable, str], precision: str) -> list:
    """Evaluate ``arrays`` for ``n`` draws of the ``given`` unknowns (others simulated)."""
    B = get_backend()
    dtype = B.float_dtype(precision)

    def one(inputs: Any) -> Any:
        values, key = inputs
        ev = Simulator(B, dtype, {}, constrained=dict(zip(given, values, strict=True)),
                        seed=key, names=names)
        return [ev.to_float(ev(a)) for a in arrays]

    fn = B.compile_function(lambda inputs: B.vectorize_random(one)(inputs), xla=False)
    keys = B.split_seed(B.make_seed(seed), max(n, 2))[:n]
    outputs: list[list[np.ndarray]] = [[] for _ in arrays]
    for start in range(0, n, _BATCH):
        stop = min(start + _BATCH, n)
        chunk = ([B.convert(b[start:stop], dtype) for b in batches], keys[start:stop])
        for k, value in enumerate(B.to_numpy(fn(chunk))):
            outputs[k].append(value)
    return [np.concatenate(o) if o else np.zeros((0, *a.shape)) for o, a in zip(
        outputs, arrays, strict=True)]


def pointwise_log_likelihood(draws: Any) -> tuple[dict[str, np.ndarray],
                                                    dict[str, np.ndarray]]:
    """Elementwise log-likelihood of each observed data array at every draw, shape
    (chains, draws, *data shape), with the observed data, both by name."""
    model = draws.model
    B = model.backend
    dtype = model.float_dtype
    free = set(map(id, model.terms))  # terms that discrete unknowns enter are left out
    kept = [(t, n) for t, n in zip(model.observed_terms, model.observed_names, strict=True)
            if id(t) in free]
    terms, names = [t for t, _ in kept], [n for _, n in kept]
    if not terms:
        return {}, {}
    variables = model.variables
    batches = [draws[model.names[v]].reshape(-1, *v.shape) for v in variables]

    def one(values: Any) -> Any:
        ev = Evaluator(B, dtype, {}, constrained=dict(zip(variables, values, strict=True)))
        return [B.np.broadcast_to(ev.log_density(t), t.value.shape[:t.value.ndim - (
            t.family.event_ndims)]) for t in terms]

    fn: Callable = B.compile_function(lambda v: B.vectorize(one)(v), xla=False)
    n = draws.n_chains * draws.n_draws
    parts: list[list[np.ndarray]] = [[] for _ in terms]
    for start in range(0, n, _BATCH):
        chunk = [B.convert(b[start:start + _BATCH], dtype) for b in batches]
        for k, value in enumerate(B.to_numpy(fn(chunk))):
            parts[k].append(value)
    loglik = {name: np.concatenate(p).reshape(draws.n_chains, draws.n_draws, *p[0].shape[1:])
              for name, p in zip(names, parts, strict=True)}
    observed = {name: t.value.value for name, t in zip(names, terms, strict=True)}
    return loglik, observed
