"""Data that changes: ``ts.as_data(x, mutable=True)`` and ``Model.set_data(name=values)``.

Mutable data always enter compiled functions as arguments (``Model.data_nodes``), so new
values of the same shape reuse every compiled function (log density, gradient, NUTS, VI,
the optimiser): nothing is traced again. A new value is checked as the old one was when
the model was written (numeric and finite, the same shape and kind, a parameter's support,
an observed likelihood's support, an index's range) and an error names the data.

Shapes are fixed: every array of a model records its shape when it is written (and the
compiled functions, labels and coords follow them), so a value of another shape is an
error naming the data and both shapes. To predict on new rows, write the prediction with
the new rows (``mu_new = a + b * x_new``) and ``calculate`` it at the draws, as in greta.

Names: the ``name`` given to ``as_data`` (else a Series' name), else the caller's variable
name at ``ts.model(...)``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

from tfstats.arrays import Array, Data, ModelError, MutableData
from tfstats.data import as_data
from tfstats.distributions import check_data_values
from tfstats.errors import UnknownNameError
from tfstats.families import Density

__all__ = ["mutable_by_name", "checked_values", "data_names"]


def mutable_by_name(nodes: Iterable[Array], local_names: dict[int, str]) -> dict[str, list]:
    """The model's mutable data nodes by name (a node and its views under one name)."""
    found: dict[str, list[MutableData]] = {}
    for node in nodes:
        if not isinstance(node, MutableData):
            continue
        source = node.source
        name = source.name or local_names.get(id(source))
        if not name:
            raise ModelError(f"mutable data of shape {node.shape} has no name: give it one "
                             f"(ts.as_data(..., mutable=True, name='x')) or hold it in a "
                             f"variable when calling ts.model()")
        group = found.setdefault(name, [])
        if group and group[0].source is not source:
            raise ModelError(f"two different mutable data arrays are named {name!r}: give "
                             f"them different names")
        group.append(node)
    return found


def _describe_kind(values: np.ndarray) -> str:
    return "bool" if values.dtype == bool else (
        "int" if np.issubdtype(values.dtype, np.integer) else "float")


def _checked(name: str, node: MutableData, value: Any) -> np.ndarray:
    """New values for ``node``: validated as ``as_data`` does, then the same shape and kind."""
    values = as_data(value, name=name).value
    if values.shape != node.shape:
        raise ModelError(f"set_data: {name!r} has shape {node.shape}, but the new values "
                         f"have shape {values.shape}; a model's shapes are fixed (to "
                         f"predict on new rows, write the prediction with the new data and "
                         f"calculate() it)")
    kind = _describe_kind(values)
    if kind != node.kind:
        if node.kind == "float":  # integers and booleans are numbers too
            return values.astype(np.float64)
        raise ModelError(f"set_data: {name!r} holds {node.kind} data (dtype "
                         f"{node.value.dtype}), but the new values have dtype {values.dtype}")
    if kind == "int":
        info = np.iinfo(np.int32)
        old_fits = node.value.size == 0 or (
            node.value.min() >= info.min and node.value.max() <= info.max)
        new_fits = values.size == 0 or (values.min() >= info.min and values.max() <= info.max)
        if old_fits != new_fits:
            raise ModelError(f"set_data: the new values of {name!r} range from "
                             f"{values.min()} to {values.max()}; integer data must stay "
                             f"{'within' if old_fits else 'outside'} the int32 range")
        for size in node.source.index_sizes:
            if values.size and (values.min() < 0 or values.max() >= size):
                raise ModelError(f"set_data: {name!r} indexes an axis of length {size}, but "
                                 f"the new values range from {values.min()} to "
                                 f"{values.max()} (0-based indices from 0 to {size - 1})")
    return values


def checked_values(model: Any, values: dict[str, Any],
                   terms: list[Density]) -> dict[MutableData, np.ndarray]:
    """New values by node for ``model.set_data(**values)``, every one checked first (so
    a bad one changes nothing). ``terms`` are every density of the model."""
    mutable: dict[str, list[MutableData]] = model.mutable_data
    unknown = [n for n in values if n not in mutable]
    if unknown:
        fixed = sorted(set(unknown) & set(model.fixed_data_names))
        if fixed:
            raise ModelError(f"set_data: {fixed} is data of the model but not mutable: make "
                             f"it with ts.as_data(..., mutable=True)")
        raise UnknownNameError(f"set_data: unknown names {sorted(unknown)}; the model's "
                               f"mutable data are {sorted(mutable)}")
    summed = [p for v in (model.discrete.variables if model.discrete else ())
              for p in v.prior.params]
    out: dict[MutableData, np.ndarray] = {}
    for name, value in values.items():
        nodes = mutable[name]
        if any(p is n for p in summed for n in nodes):
            raise ModelError(f"set_data: {name!r} is a parameter of a discrete unknown summed "
                             f"out of the model, whose support is fixed when it is written")
        new = _checked(name, nodes[0], value)
        for term in terms:
            for node in nodes:
                if node is term.value or any(p is node for p in term.params):
                    check_data_values(term, node, new)
        out.update((node, new) for node in nodes)
    return out


def data_names(nodes: Iterable[Array], local_names: dict[int, str],
               observed: Iterable[str]) -> list[str]:
    """Names by which the model's fixed (not mutable) data may be known."""
    names = set(observed)
    for node in nodes:
        if isinstance(node, Data) and not isinstance(node, MutableData):
            names.update(n for n in (node.name, local_names.get(id(node))) if n)
    return sorted(names)

