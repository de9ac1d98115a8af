"""Walking a model's graph and evaluating it on a backend.

``Evaluator`` computes arrays and log densities from backend tensors: data enter as
arguments, unknowns either from one unconstrained vector (through their bijectors, adding
the log Jacobian) or from given constrained values.
"""

from __future__ import annotations

from collections.abc import Container, Iterable
from typing import Any

import numpy as np

from tfstats.arrays import Array, Data, Variable
from tfstats.families import Density
from tfstats.mixed_precision import LARGE, compute, is_single
from tfstats.operations import OPS

__all__ = ["topological", "Evaluator", "CONSTANT_SIZE"]

CONSTANT_SIZE = 16  # data at most this big is embedded as a constant; larger is an argument


def topological(roots: Iterable[Array], known: Container[Array] = ()) -> list[Array]:
    """The arrays that ``roots`` depend on, parents before children; the parents of arrays
    in ``known`` (already computed) are not visited."""
    order: list[Array] = []
    seen: set[int] = set()
    stack: list[tuple[Array, bool]] = [(r, False) for r in roots]
    while stack:
        node, expanded = stack.pop()
        if expanded:
            order.append(node)
            continue
        if id(node) in seen:
            continue
        seen.add(id(node))
        stack.append((node, True))
        if node not in known:
            stack.extend((p, False) for p in reversed(node.parents) if id(p) not in seen)
    return order


class Evaluator:
    """Evaluates arrays of a model with backend ``B`` at float dtype ``float_dtype``.

    Parameters
    ----------
    B : module
        The backend.
    float_dtype : dtype
        The model's float dtype.
    data : dict
        Data arrays passed as arguments, mapped to their tensors.
    constrained : dict, optional
        Unknowns mapped to constrained values.
    flat : tensor, optional
        One unconstrained vector holding the unknowns in ``layout``.
    layout : dict, optional
        Unknown -> (offset, free shape) in ``flat``.
    single : dtype, optional
        float32, when some ``data`` are float32 (``precision="mixed"``): data-sized work on
        them runs in float32 (``tfstats.mixed_precision``).
    row_blocks : dict, optional
        ``id`` of a ``blocked_glm`` term -> its (value, gradients) swept for all chains at
        once (``inference/batched_density.py``).
    """

    def __init__(self, B: Any, float_dtype: Any, data: dict[Array, Any],
                 constrained: dict[Variable, Any] | None = None, flat: Any = None,
                 layout: dict[Variable, tuple[int, tuple[int, ...]]] | None = None,
                 single: Any = None, row_blocks: dict[int, Any] | None = None) -> None:
        self.B = B
        self.row_blocks = row_blocks or {}
        self.float = float_dtype
        self.single = single
        self.values: dict[Array, Any] = dict(data)
        self.log_jacobian: Any = 0.0
        self._flat = flat
        self._layout = layout or {}
        for var, value in (constrained or {}).items():  # discrete unknowns hold integers
            self.values[var] = self.to_float(value) if var.kind != "int" else self.B.cast(
                self.B.convert(value), self.B.int_dtype())

    # --- helpers used by the op catalogue ---------------------------------------------------
    def to_float(self, x: Any) -> Any:
        # numpy values compare equal to the backend's dtype but are not tensors yet
        if not isinstance(x, np.ndarray | np.generic) and getattr(x, "dtype", None) == self.float:
            return x
        return self.B.cast(self.B.convert(x), self.float)

    def any_float(self, *xs: Any) -> bool:
        return any(_is_float(x) for x in xs)

    # --- arrays --------------------------------------------------------------------------------
    def __call__(self, array: Array) -> Any:
        for node in topological([array], known=self.values):
            if node not in self.values:
                self.values[node] = self._compute(node)
        return self.values[array]

    def _compute(self, node: Array) -> Any:
        if isinstance(node, Data):
            return self._constant(node.value)
        if isinstance(node, Variable):
            return self._variable(node)
        spec = OPS[node.op]
        values = [self.values[p] for p in node.parents]
        if self.single is not None:
            return compute(self, node, lambda ev, *v: spec.evaluate(ev, *v, **node.params),
                           values)
        return spec.evaluate(self, *values, **node.params)

    def _constant(self, value: np.ndarray) -> Any:
        if value.dtype == bool:
            return self.B.convert(value)
        if np.issubdtype(value.dtype, np.integer):
            info = np.iinfo(np.int32)
            if value.size and (value.min() < info.min or value.max() > info.max):
                return self.B.convert(value, self.float)  # too big for int32: not an index
            return self.B.convert(value.astype(np.int32))
        return self.B.convert(value, self.float)

    def _variable(self, var: Variable) -> Any:
        if var not in self._layout:
            raise KeyError(f"no value for the unknown {var.name or var!r}")
        offset, free_shape = self._layout[var]
        size = int(np.prod(free_shape, dtype=np.int64))
        free = self.B.np.reshape(self._flat[offset:offset + size], free_shape)
        bounds = [self.to_float(self.values[b]) for b in var.parents]
        bijector = var.constraint.bijector(self.B.tfb, bounds)
        if type(bijector).__name__ == "Identity":
            return free
        value = bijector.forward(free)
        jacobian = var.constraint.log_det_jacobian(self.B, bijector, free)
        self.log_jacobian = self.log_jacobian + self.B.np.sum(jacobian)
        return value

    # --- densities -----------------------------------------------------------------------------
    def log_density(self, density: Density) -> Any:
        """The elementwise log density of a term (summed over event axes)."""
        x = self(density.value)
        family = density.family
        if family.name == "mixture":
            weights = self.to_float(self(density.params[0]))
            parts = [self._log_density_at(p, x) for p in density.components]
            stacked = self.B.np.stack(self._broadcast(parts), axis=-1)
            return self.B.special.logsumexp(stacked + self.B.np.log(weights), axis=-1)
        if family.name == "joint":
            parts = [self._log_density_at(p, x[..., k]) for k, p in enumerate(density.components)]
            return sum(self._broadcast(parts))
        return self._log_density_at(density, x)

    def _broadcast(self, tensors: list[Any]) -> list[Any]:
        shape = tuple(np.broadcast_shapes(*(tuple(t.shape) for t in tensors)))
        return [self.B.np.broadcast_to(t, shape) for t in tensors]

    def _log_density_at(self, density: Density, x: Any) -> Any:
        # mixed precision: a data-sized term of float32 data in float32, returned as float64
        if self.single is not None and density.value.size >= LARGE and any(
                is_single(self, v) for v in (x, *(self(p) for p in density.params))):
            precise, self.float = self.float, self.single
            try:
                return self.B.cast(self._terms_at(density, x), precise)
            finally:
                self.float = precise
        return self._terms_at(density, x)

    def _terms_at(self, density: Density, x: Any) -> Any:
        family = density.family
        params = [self.to_float(self(p)) for p in density.params]
        x = self.to_float(x)
        if family.log_prob is not None and density.truncation is None:
            return family.log_prob(self.B, x, *params)
        dist = family.make(self.B, *params)
        log_prob = dist.log_prob(x)
        if density.truncation is None:
            return log_prob
        low, high = (None if b is None else self.to_float(self(b)) for b in density.truncation)
        if low is not None and high is not None:
            norm = self.B.tfp.math.log_sub_exp(dist.log_cdf(high), dist.log_cdf(low))
        elif low is not None:
            norm = dist.log_survival_function(low)
        else:
            norm = dist.log_cdf(high)
        return log_prob - norm

    def distribution(self, density: Density) -> Any:
        """The TFP distribution of a term, for simulation."""
        params = [self.to_float(self(p)) for p in density.params]
        if density.family.name in ("mixture", "joint"):
            raise NotImplementedError
        return density.family.make(self.B, *params)


def _is_float(x: Any) -> bool:
    dtype = getattr(x, "dtype", None)
    return dtype is None or "float" in str(dtype)
