"""Minibatches from a stream: CSV or Parquet files, or a ``tf.data.Dataset``, read in chunks.

``minibatch(source, batch_size=..., columns=...)`` with a stream builds one data array per
entry of ``columns``. ``vi`` reads the stream chunk by chunk on the host (100,000 rows at
a time: ``pandas.read_csv(chunksize=...)``, ``pyarrow`` record batches, or a
``StreamInput``'s own chunks), shuffles the rows of each chunk (with the rows the last
one left over), and passes the batches of each compiled call as one argument of at most
about a million values; so the files may be larger than memory. The number of rows ``N``
(for the ``N / batch_size`` scaling) is counted in one pass unless given. The readers are
written here rather than taken from ``estimators.io.inputs``: importing the ``estimators``
package loads Keras, which a model fit does not need.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import numpy as np
import pandas as pd

from tfstats.arrays import ModelError
from tfstats.data import as_data
from tfstats.minibatch_data import MinibatchData, MinibatchGroup

__all__ = ["is_stream_source", "stream_minibatch", "StreamGroup", "StreamData",
           "chunk_feeder"]

_CHUNK_ROWS = 100_000
Chunks = Callable[[list[str] | None], Iterator[pd.DataFrame]]  # wanted columns -> chunks


def is_stream_source(source: Any) -> bool:
    """A path, a list of paths, a ``StreamInput`` or a ``tf.data.Dataset``."""
    if isinstance(source, str | os.PathLike):
        return True
    if isinstance(source, list | tuple) and source and all(
            isinstance(s, str | os.PathLike) for s in source):
        return True
    name = type(source).__name__
    module = type(source).__module__
    return name == "StreamInput" or module.startswith("tensorflow")


class StreamGroup(MinibatchGroup):
    """A minibatch group fed from chunks of a stream."""

    def __init__(self, chunks: Chunks, columns: list[Any],
                 n_rows: int, batch_size: int, seed: int | None, where: str) -> None:
        super().__init__(n_rows, batch_size, seed)
        self.chunks, self.columns, self.where = chunks, columns, where

    def __getstate__(self) -> dict:
        return {**self.__dict__, "chunks": None}  # a reader is not data: drop it

    def check(self, frame: pd.DataFrame) -> None:
        """Raise if a chunk lacks a column of ``columns``."""
        missing = [c for c in self.wanted if c not in frame.columns]
        if missing:
            raise ModelError(f"the stream {self.where} has no column(s) {missing}: its columns "
                             f"are {list(frame.columns)}")

    def select(self, frame: pd.DataFrame) -> list[np.ndarray]:
        """The arrays of each ``columns`` entry from a chunk, checked."""
        self.check(frame)
        return [as_data(frame[entry] if isinstance(entry, str) else frame[list(entry)],
                        name=str(entry)).value for entry in self.columns]

    def batches(self, seed: int | None) -> Iterator[list[np.ndarray]]:
        """Endless shuffled batches of exactly ``batch_size`` rows, epoch after epoch.

        Each chunk's columns are copied into one float matrix (with the rows the chunk
        before left over), whose rows are shuffled and cut into batches (views), so a
        chunk is held about twice at most (the pages freed go back to the system)."""
        rng = np.random.default_rng(seed)
        size = self.batch_size
        layout = [c for entry in self.columns for c in _names(entry)]  # the pool's columns
        edges = np.cumsum([0] + [len(_names(entry)) for entry in self.columns])
        left = np.zeros((0, len(layout)))
        while True:
            for chunk in self.chunks(self.wanted):  # (the pages of the last chunk returned)
                self.check(chunk)
                pool = np.empty((len(left) + len(chunk), len(layout)))
                pool[:len(left)] = left
                for j, name in enumerate(layout):  # column by column: no copy of the chunk
                    pool[len(left):, j] = as_data(chunk[name], name=name).value
                del chunk, left
                pool = pool[rng.permutation(len(pool))]  # (5 times faster than in place)
                full = len(pool) // size * size
                left = pool[full:].copy()
                for start in range(0, full, size):
                    rows = pool[start:start + size]
                    yield [rows[:, first] if isinstance(entry, str) else rows[:, first:last]
                           for entry, first, last in zip(self.columns, edges[:-1], edges[1:],
                                                         strict=True)]
                pool = rows = None  # free this chunk before reading the next
                _release_freed_memory()

    @property
    def wanted(self) -> list[str]:
        """Every column name that ``columns`` uses, once."""
        return list(dict.fromkeys(c for entry in self.columns for c in _names(entry)))


def _release_freed_memory() -> None:
    """Give the heap pages freed by the last chunk back to the system (glibc keeps them,
    so the resident size would creep up by a chunk's worth per allocation pattern)."""
    if _TRIM is not None:
        _TRIM(0)


def _malloc_trim() -> Callable[[int], int] | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        import ctypes

        return ctypes.CDLL("libc.so.6").malloc_trim
    except (OSError, AttributeError):  # not glibc (musl), or no libc.so.6
        return None


_TRIM = _malloc_trim()


class StreamData(MinibatchData):
    """A data array fed by a stream: the batches of a compiled call arrive as one
    (steps, batch_size, ...) argument."""

    __slots__ = ("position",)

    def __init__(self, first: np.ndarray, group: StreamGroup, position: int,
                 name: str | None) -> None:
        super().__init__(first, group, name)
        self.full = None
        self.position = position


def _names(entry: Any) -> list[str]:
    return [entry] if isinstance(entry, str) else list(entry)


def _reader(source: Any) -> tuple[Chunks, str, int | None]:
    """``(chunks, description, rows if known cheaply)`` for a stream source; ``chunks(wanted)``
    reads only the columns ``wanted`` where the format allows (all for ``None``)."""
    if type(source).__name__ == "StreamInput":
        return (lambda wanted=None: source.chunks()), repr(list(source.paths)), None
    if type(source).__module__.startswith("tensorflow"):
        from tfstats.dataset_frames import dataset_frames

        frames = dataset_frames(source, _CHUNK_ROWS)  # its structure: a clear error now
        return (lambda wanted=None: frames()), "tf.data.Dataset", None
    paths = [str(p) for p in ([source] if isinstance(source, str | os.PathLike) else source)]
    missing = [p for p in paths if not os.path.exists(p)]
    if missing:
        raise FileNotFoundError(f"minibatch(): no such file(s): {missing}")
    if not all(p.endswith((".parquet", ".pq")) for p in paths):
        return (lambda wanted=None: _csv_chunks(paths, wanted)), repr(paths), None
    import pyarrow.parquet as pq

    rows = sum(pq.ParquetFile(p).metadata.num_rows for p in paths)
    return (lambda wanted=None: _parquet_chunks(paths, wanted)), repr(paths), rows


def _csv_chunks(paths: list[str], wanted: list[str] | None) -> Iterator[pd.DataFrame]:
    usecols = None if wanted is None else set(wanted).__contains__  # missing: named later
    for path in paths:
        with pd.read_csv(path, chunksize=_CHUNK_ROWS, usecols=usecols) as reader:
            yield from reader


def _parquet_chunks(paths: list[str], wanted: list[str] | None) -> Iterator[pd.DataFrame]:
    import pyarrow.parquet as pq

    for path in paths:
        file = pq.ParquetFile(path)
        columns = None if wanted is None else [c for c in wanted if c in file.schema_arrow.names]
        for batch in file.iter_batches(batch_size=_CHUNK_ROWS, columns=columns):
            yield batch.to_pandas()


def stream_minibatch(source: Any, batch_size: int, columns: Sequence[Any] | None,
                     seed: int | None, n_rows: int | None) -> Any:
    """The data arrays of ``minibatch`` over a stream (see ``tfstats.minibatch``)."""
    if not columns:
        raise ValueError("minibatch() of a stream needs columns=[...]: one column name (a 1-D "
                         "array) or list of names (a 2-D array) per data array wanted")
    chunks, where, known = _reader(source)
    first_chunk = next(iter(chunks()), None)
    if first_chunk is None or not len(first_chunk):
        raise ModelError(f"the stream {where} holds no rows")
    group = StreamGroup(chunks, list(columns), 0, int(batch_size), seed, where)
    group.select(first_chunk)  # the columns exist: a clear error now
    rows = n_rows if n_rows is not None else known
    if rows is None:
        rows = sum(len(chunk) for chunk in chunks(group.wanted))
    if batch_size > rows:
        raise ValueError(f"batch_size={batch_size} is larger than the data ({rows} rows)")
    group.n_rows = int(rows)
    first = next(group.batches(seed))
    out = tuple(StreamData(values.copy(), group, k, str(entry))  # not a view of a chunk
                for k, (values, entry) in enumerate(zip(first, columns, strict=True)))
    return out[0] if len(out) == 1 else out


def chunk_feeder(model: Any, full: tuple, steps: int, seed: int | None) -> Callable[[], tuple]:
    """``() -> data arguments`` of the next compiled call: each stream's next ``steps``
    batches stacked, the other data as they are."""
    nodes = model.data_nodes
    groups: list[StreamGroup] = []
    for node in nodes:
        if isinstance(node, StreamData) and all(node.group is not g for g in groups):
            groups.append(node.group)
    if not groups:
        return lambda: full
    B = model.backend
    iterators = {id(g): g.batches(None if seed is None else seed + k)
                 for k, g in enumerate(groups)}

    def feed() -> tuple:
        stacked = {}
        for group in groups:  # each batch copied as it comes: its chunk can be freed
            out: list[np.ndarray] = []
            for i in range(steps):
                batch = next(iterators[id(group)])
                out = out or [np.empty((steps,) + b.shape) for b in batch]
                for k, values in enumerate(batch):
                    out[k][i] = values
                del batch, values  # no view of a chunk while the next is read
            stacked[id(group)] = out
        return tuple(B.convert(stacked[id(n.group)][n.position], model.float_dtype)
                     if isinstance(n, StreamData) else t for n, t in zip(nodes, full,
                                                                         strict=True))

    return feed
