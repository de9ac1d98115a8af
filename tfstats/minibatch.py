"""minibatch(): data that take a fresh random batch of rows at every VI step.

As PyMC's ``Minibatch``: each input becomes a data array of ``batch_size`` rows, and every
density term over minibatched data is multiplied by ``N / batch_size``, so that the log
density (and the ELBO) of a batch estimates the full-data one without bias. The rows are
drawn (uniformly, with replacement) inside ``vi``'s compiled loop from the whole arrays,
which are passed to it as arguments. Outside ``vi`` a minibatched array holds its first
``batch_size`` rows; ``mcmc`` and ``opt`` refuse such models, since a random batch would
make their target random.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from tfstats.arrays import Array, ModelError
from tfstats.data import as_data
from tfstats.graph import Evaluator, topological
from tfstats.minibatch_data import MinibatchData, MinibatchGroup
from tfstats.streams import is_stream_source, stream_minibatch

__all__ = ["minibatch", "MinibatchGroup", "MinibatchData", "term_scales",
           "check_no_minibatch", "batch_of", "full_data_tensors"]


def minibatch(*data: Any, batch_size: int, seed: int | None = None,
              columns: Sequence[Any] | None = None, n_rows: int | None = None) -> Any:
    """Random batches of rows of ``data`` for minibatch variational inference.

    Parameters
    ----------
    *data : array-like, pandas.Series, pandas.DataFrame, or one stream
        One input per argument, all with the same number of rows; the same rows of each
        are drawn at each step, so they stay aligned. Or a single stream: a CSV or Parquet
        path (or a list of them; Parquet when every name ends in ``.parquet``), an
        ``estimators.io.csv_input`` / ``parquet_input``, or a ``tf.data.Dataset`` of
        dicts of columns or of ``(features dict, label)`` pairs (the label is then the
        column ``"label"``), the columns scalars or 1-D batches; it is read in chunks of
        100,000 rows at every pass, never held whole, and the rows of each chunk are
        shuffled.
    batch_size : int
        Rows per step, at most the number of rows.
    seed : int, optional
        In memory, the rows drawn follow ``vi``'s ``seed``; for a stream, the seed of
        its shuffling.
    columns : list, optional
        For a stream (required): one entry per data array, a column name (a 1-D array)
        or a list of names (a 2-D array, one column each).
    n_rows : int, optional
        For a stream: its number of rows, if known (otherwise counted in one pass;
        Parquet files give it from their metadata).

    Returns
    -------
    Array or tuple of Array
        One data array of ``batch_size`` rows per input (a single array for one input).
        A likelihood over them is scaled by ``N / batch_size``.

    Examples
    --------
    >>> import numpy as np, tfstats as ts
    >>> x = np.linspace(0, 1, 1000)
    >>> y = 2 * x + np.random.default_rng(1).normal(0, 0.1, 1000)
    >>> x_b, y_b = ts.minibatch(x, y, batch_size=100)
    >>> x_b.shape
    (100,)
    """
    if not data:
        raise ValueError("minibatch() needs at least one data input")
    if isinstance(batch_size, bool) or not isinstance(batch_size, int | np.integer) \
            or batch_size < 1:
        raise ValueError(f"batch_size must be a positive int, got {batch_size!r}")
    if len(data) == 1 and is_stream_source(data[0]):
        return stream_minibatch(data[0], int(batch_size), columns, seed, n_rows)
    if columns is not None or n_rows is not None:
        raise ValueError("columns= and n_rows= are for a stream (files or a tf.data.Dataset)")
    arrays = []
    for i, value in enumerate(data):
        if isinstance(value, Array):
            raise ModelError(f"minibatch(): input {i} is already a tfstats array; pass the "
                             f"numpy array or pandas object itself")
        full = as_data(value, name=getattr(value, "name", None) or f"minibatch input {i}")
        if full.ndim == 0:
            raise ModelError(f"minibatch(): input {i} is a scalar; it needs rows")
        arrays.append(full)
    rows = {a.shape[0] for a in arrays}
    if len(rows) > 1:
        shapes = ", ".join(str(a.shape) for a in arrays)
        raise ModelError(f"minibatch(): the inputs have different numbers of rows ({shapes});"
                         f" their rows must align")
    n_rows = rows.pop()
    if batch_size > n_rows:
        raise ValueError(f"batch_size={batch_size} is larger than the data ({n_rows} rows)")
    group = MinibatchGroup(n_rows, int(batch_size), seed)
    out = tuple(MinibatchData(a.value, group, a.name) for a in arrays)
    return out[0] if len(out) == 1 else out


# --- model support -------------------------------------------------------------------------

def _groups_of(arrays: list[Array]) -> list[MinibatchGroup]:
    groups: list[MinibatchGroup] = []
    for node in topological(arrays):
        if isinstance(node, MinibatchData) and node.group not in groups:
            groups.append(node.group)
    return groups


def term_scales(terms: list[Any]) -> list[float]:
    """``N / batch_size`` for each density term over minibatched data, 1 otherwise. A term
    over two minibatch groups raises: their rows would not correspond."""
    scales = []
    for term in terms:
        groups = _groups_of(term.arrays())
        if len(groups) > 1:
            raise ModelError(f"a {term.family.name} density uses data from {len(groups)} "
                             f"different minibatch() calls ({groups}): pass inputs whose rows "
                             f"belong together to one minibatch() call")
        scales.append(groups[0].scale if groups else 1.0)
    return scales


def check_no_minibatch(model: Any, what: str) -> None:
    """Refuse ``what`` (mcmc, opt) on a model with minibatched data."""
    if any(isinstance(n, MinibatchData) for n in model.data_nodes):
        raise ModelError(f"{what} cannot fit a model with minibatch() data: a random batch "
                         f"changes the target at every step. Use ts.vi, or pass the full "
                         f"data arrays")


def full_data_tensors(model: Any) -> tuple:
    """The data arguments of ``vi``: minibatched inputs whole, the others as usual."""
    if not any(isinstance(n, MinibatchData) for n in model.data_nodes):
        return model.data_tensors()
    B = model.backend
    key = ("full", B.name, model.precision)
    if key not in model._data_tensors:
        ev = Evaluator(B, model.float_dtype, {})
        model._data_tensors[key] = tuple(  # a stream's batches come per call
            ev._constant(n.value if getattr(n, "full", None) is None else n.full)
            for n in model.data_nodes)
    return model._data_tensors[key]


def batch_of(model: Any, full: tuple, seed: Any, step: Any) -> tuple:
    """Inside the loop: the data with each in-memory minibatch group's rows drawn afresh,
    and each stream's batch for this ``step`` of the compiled call."""
    nodes = model.data_nodes
    streamed = [n.full is None if isinstance(n, MinibatchData) else False for n in nodes]
    full = tuple(t[step] if s else t for t, s in zip(full, streamed, strict=True))
    groups = [g for g in _unique(n.group for n, s in zip(nodes, streamed, strict=True)
                                 if isinstance(n, MinibatchData) and not s)]
    if not groups:
        return tuple(full)
    B = model.backend
    seeds = B.split_seed(seed, max(len(groups), 2))
    rows = {}
    for k, group in enumerate(groups):
        u = B.tfd.Uniform(B.convert(0.0, B.float_dtype("double")),
                          B.convert(float(group.n_rows), B.float_dtype("double")))
        index = B.cast(B.np.floor(u.sample(group.batch_size, seed=seeds[k])), B.int_dtype())
        rows[id(group)] = B.np.minimum(index, group.n_rows - 1)
    return tuple(B.gather(t, rows[id(n.group)], axis=0) if id(getattr(n, "group", None))
                 in rows else t for n, t in zip(nodes, full, strict=True))


def _unique(items: Any) -> list:
    out: list = []
    for item in items:
        if all(item is not o for o in out):
            out.append(item)
    return out
