"""Labels for the axes of a model's arrays, ArviZ style: ``coords`` maps a dimension name to
its labels, ``dims`` maps an array's name to the dimension names of its axes.

Labels come from ``ts.model(..., coords=, dims=)``, from a pandas Categorical (or Index)
given as ``dim=`` of an unknown, and from a pandas Categorical used as an index array
(``alpha[df.county]`` labels the axis of ``alpha`` it indexes). They name summary rows
(``alpha[AITKIN]``), data-frame columns, ArviZ coordinates and diagnostic warnings.

The names of observed data (for the pointwise log-likelihood) follow one rule: the name of
an array given as ``observed=`` (``ts.as_data(y, name="radon")``), else the caller's
variable name for the object given as ``observed=``, else a pandas Series' name, else
``"y"``; repeated names get ``_1``, ``_2``, ... appended.
"""

from __future__ import annotations

import itertools
import sys
import weakref
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from tfstats.errors import ModelError

if TYPE_CHECKING:  # arrays imports labels (index_codes): annotations only here
    from tfstats.arrays import Array

__all__ = [
    "arviz_dims", "axis_labels", "dim_size", "element_labels", "index_codes", "name_observed",
    "observed_name", "remember_dim", "resolve", "unique_names",
]



class _ByArray:
    """A dict keyed by arrays' identity that forgets an array once it is gone (arrays
    compare lazily, so a WeakKeyDictionary cannot hold them)."""

    def __init__(self) -> None:
        self._items: dict[int, tuple[weakref.ref, Any]] = {}

    def get(self, array: Array, default: Any = None) -> Any:
        item = self._items.get(id(array))
        return item[1] if item is not None and item[0]() is array else default

    def setdefault(self, array: Array, value: Any) -> Any:
        if self.get(array) is None:
            key = id(array)
            self._items[key] = (weakref.ref(array, lambda _: self._items.pop(key, None)),
                                value)
        return self.get(array)

    def __setitem__(self, array: Array, value: Any) -> None:
        self._items.pop(id(array), None)
        self.setdefault(array, value)


# labels remembered on arrays while a model is written: array -> {axis: (dim name, labels)}
_REMEMBERED = _ByArray()
_OBSERVED = _ByArray()


# --- labels from pandas ---------------------------------------------------------------------

def axis_labels(obj: Any, index: bool = False) -> tuple[str | None, list] | None:
    """(dimension name, labels) of a pandas Categorical, categorical Series or Index (only
    categorical ones when ``index``), or None for anything else."""
    pd = sys.modules.get("pandas")
    if pd is None:
        return None
    if isinstance(obj, pd.Categorical):
        return None, list(obj.categories)
    if isinstance(obj, pd.Series | pd.CategoricalIndex) and isinstance(
            obj.dtype, pd.CategoricalDtype):
        return _dim_name(obj.name), list(obj.cat.categories if isinstance(obj, pd.Series)
                                         else obj.categories)
    if not index and isinstance(obj, pd.Index) and not isinstance(obj, pd.RangeIndex):
        return _dim_name(obj.name), list(obj)
    return None


def _dim_name(name: Any) -> str | None:
    return None if name is None else str(name)


def dim_size(dim: Any) -> Any:
    """``dim`` with labelled entries (pandas Categorical / Index) replaced by their length."""
    found = axis_labels(dim)
    if found is not None:
        return len(found[1])
    if isinstance(dim, tuple | list):
        return tuple(dim_size(d) if axis_labels(d) is not None else d for d in dim)
    return dim


def remember_dim(array: Array, dim: Any) -> None:
    """Remember the labels that ``dim=`` gave the axes of the new unknown ``array``."""
    entries = [dim] if axis_labels(dim) is not None else (
        list(dim) if isinstance(dim, tuple | list) else [])
    for axis, entry in enumerate(entries):
        found = axis_labels(entry)
        if found is not None:
            _remember(array, axis, *found)


def _remember(array: Array, axis: int, dim: str | None, labels: list) -> None:
    if axis < array.ndim and len(labels) == array.shape[axis]:
        _REMEMBERED.setdefault(array, {}).setdefault(axis, (dim, labels))


def index_codes(array: Array, axis: int, item: Any) -> Any:
    """A pandas Categorical index becomes its integer codes, and its categories label
    ``axis`` of ``array`` (when they number its length)."""
    found = axis_labels(item, index=True)
    if found is None:
        return item
    codes = np.asarray(item.cat.codes if hasattr(item, "cat") else item.codes)
    if (codes < 0).any():
        raise ModelError(f"the categorical index {found[0] or ''} has missing values")
    _remember(array, axis, *found)
    return codes


# --- names of observed data -----------------------------------------------------------------

def name_observed(data: Array, given: Any, given_name: str | None = None) -> None:
    """Remember the name of observed data ``data`` made from ``given`` (see the module);
    ``given_name`` is the name of ``given`` when it is an array of the model."""
    if given_name and given_name != "observed":
        name = given_name
    else:
        name = _caller_name(given) or _dim_name(getattr(given, "name", None))
    if name:
        _OBSERVED[data] = name


def observed_name(data: Array) -> str:
    return _OBSERVED.get(data, "y")


def _caller_name(value: Any) -> str | None:
    """The name the first frame outside tfstats gives ``value``."""
    frame = sys._getframe(1)
    try:
        while frame is not None and frame.f_globals.get("__name__", "").startswith("tfstats"):
            frame = frame.f_back
        if frame is None:
            return None
        for scope in (frame.f_locals, frame.f_globals):
            for key, item in scope.items():
                if item is value and not key.startswith("_"):
                    return key
        return None
    finally:
        del frame


def unique_names(names: Sequence[str]) -> list[str]:
    """``names`` with repeats numbered ``name_1``, ``name_2``..."""
    return [n if names.count(n) == 1 else f"{n}_{names[:i].count(n)}"
            for i, n in enumerate(names)]


# --- a model's coords and dims --------------------------------------------------------------

def resolve(arrays: dict[str, Array], coords: Any, dims: Any,
            observed: dict[str, tuple[int, ...]]) -> tuple[dict[str, list], dict[str, list]]:
    """Check ``coords`` and ``dims`` given to ``model()`` against the model's named
    ``arrays`` (unknowns and targets) and ``observed`` data shapes, adding the labels
    remembered from ``dim=`` and categorical indices."""
    coords = _check_coords(coords)
    shapes = {n: a.shape for n, a in arrays.items()} | dict(observed)
    dims = _check_dims(dims, shapes)
    for name, array in arrays.items():
        for axis, (dim, labels) in sorted(_REMEMBERED.get(array, {}).items()):
            entry = dims.setdefault(name, [None] * array.ndim)
            if entry[axis] is not None:
                continue  # given explicitly
            dim = dim or f"{name}_dim_{axis}"
            if dim in coords and list(coords[dim]) != labels:
                dim = f"{name}_dim_{axis}"
            coords.setdefault(dim, labels)
            entry[axis] = dim
    _check_sizes(dims, shapes, coords)
    return coords, dims


def _check_coords(coords: Any) -> dict[str, list]:
    if coords is None:
        return {}
    if not isinstance(coords, dict):
        raise ModelError(f"coords must be a dict of dimension name -> labels, got "
                         f"{type(coords).__name__}")
    out = {}
    for dim, labels in coords.items():
        found = axis_labels(labels)
        values = found[1] if found is not None else list(np.asarray(labels).tolist())
        if len(set(map(str, values))) != len(values):
            raise ModelError(f"coords[{dim!r}] has repeated labels")
        out[str(dim)] = values
    return out


def _check_dims(dims: Any, shapes: dict[str, tuple[int, ...]]) -> dict[str, list]:
    if dims is None:
        return {}
    if not isinstance(dims, dict):
        raise ModelError(f"dims must be a dict of array name -> dimension names, got "
                         f"{type(dims).__name__}")
    out = {}
    for name, entry in dims.items():
        if name not in shapes:
            raise ModelError(f"dims: {name!r} is not an array of the model; valid names are "
                             f"{sorted(shapes)}")
        entry = [entry] if isinstance(entry, str) else list(entry)
        if len(entry) > len(shapes[name]):
            raise ModelError(f"dims[{name!r}] names {len(entry)} dimensions but {name!r} has "
                             f"shape {shapes[name]}")
        out[name] = entry + [None] * (len(shapes[name]) - len(entry))
    return out


def _check_sizes(dims: dict[str, list], shapes: dict[str, tuple[int, ...]],
                 coords: dict[str, list]) -> None:
    sizes: dict[str, tuple[int, str]] = {}
    for name, entry in dims.items():
        for axis, dim in enumerate(entry):
            if dim is None:
                continue
            n = shapes[name][axis]
            if dim in coords and len(coords[dim]) != n:
                raise ModelError(f"coords[{dim!r}] has {len(coords[dim])} labels but axis "
                                 f"{axis} of {name!r} has length {n}")
            if dim in sizes and sizes[dim][0] != n:
                raise ModelError(f"dimension {dim!r} has length {sizes[dim][0]} in "
                                 f"{sizes[dim][1]!r} but {n} in {name!r}")
            sizes.setdefault(dim, (n, name))


# --- element labels -------------------------------------------------------------------------

def element_labels(name: str, shape: tuple[int, ...], dims: dict[str, list] | None = None,
                   coords: dict[str, list] | None = None) -> list[str]:
    """One label per scalar of array ``name``: ``alpha[AITKIN]``, ``beta[a, x]``, or
    integer positions (``theta[0]``) where an axis has no labels.

    Examples
    --------
    >>> element_labels("beta", (2, 2), {"beta": ["g", None]}, {"g": ["a", "b"]})
    ['beta[a, 0]', 'beta[a, 1]', 'beta[b, 0]', 'beta[b, 1]']
    """
    if not shape:
        return [name]
    entry = (dims or {}).get(name) or [None] * len(shape)
    coords = coords or {}
    axes = [[str(v) for v in coords[dim]] if dim is not None and dim in coords
            else [str(i) for i in range(n)] for dim, n in zip(entry, shape, strict=False)]
    return [f"{name}[{', '.join(parts)}]" for parts in itertools.product(*axes)]


def arviz_dims(name: str, ndim: int, dims: dict[str, list]) -> list[str]:
    """ArviZ dimension names for the axes of ``name`` (``name_dim_k`` where unlabelled)."""
    entry = dims.get(name) or [None] * ndim
    return [d if d is not None else f"{name}_dim_{k}" for k, d in enumerate(entry[:ndim])]
