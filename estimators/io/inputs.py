"""Streaming inputs: CSV and Parquet files read in chunks, for data larger than memory.

``csv_input`` and ``parquet_input`` describe a file (or a list / glob of files) and how to
batch it; they read nothing until an estimator fits or predicts with them. The deep-net
estimators (:mod:`estimators.neural`) accept them in place of ``X``:

- ``fit`` infers the column kinds, normalisation statistics and vocabularies from a bounded
  sample (``sample_size`` rows, the first ones or a uniform sample over one pass), then
  trains from a ``tf.data.Dataset`` built with ``Dataset.from_generator`` over the chunks
  (``pandas.read_csv(chunksize=...)`` or ``pyarrow.parquet.ParquetFile.iter_batches``). Rows
  are shuffled through a buffer of ``shuffle_buffer`` rows that mixes consecutive chunks.
- ``predict`` reads the chunks in order and returns one prediction per row.

At no time is more than about ``chunk_size + shuffle_buffer`` rows held in memory.

Examples
--------
>>> import pandas as pd, tempfile, os
>>> from estimators.io.inputs import csv_input
>>> path = os.path.join(tempfile.mkdtemp(), "d.csv")
>>> pd.DataFrame({"x": range(10), "y": [0, 1] * 5}).to_csv(path, index=False)
>>> stream = csv_input(path, label="y", batch_size=4, chunk_size=3)
>>> sum(len(c) for c in stream.chunks())
10
>>> stream.sample(4)["x"].tolist()
[0, 1, 2, 3]
"""

from __future__ import annotations

import glob
import os
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from estimators.io.errors import record_stream_error

__all__ = [
    "StreamInput",
    "csv_input",
    "parquet_input",
    "is_stream",
    "is_tf_dataset",
    "shuffled_tables",
    "fixed_pipeline",
]

Table = dict[str, np.ndarray]


def is_tf_dataset(obj: Any) -> bool:
    """Whether ``obj`` is a ``tf.data.Dataset`` (without importing TensorFlow needlessly)."""
    if not type(obj).__module__.startswith("tensorflow"):
        return False
    import tensorflow as tf

    return isinstance(obj, tf.data.Dataset)


def is_stream(obj: Any) -> bool:
    """Whether ``obj`` is a streaming input: a :class:`StreamInput` or a ``tf.data.Dataset``."""
    return isinstance(obj, StreamInput) or is_tf_dataset(obj)


def _expand_paths(paths: str | os.PathLike | Sequence[str | os.PathLike]) -> tuple[str, ...]:
    items = [paths] if isinstance(paths, str | os.PathLike) else list(paths)
    out: list[str] = []
    for item in items:
        text = os.path.expanduser(str(item))
        if any(ch in text for ch in "*?["):
            matched = sorted(glob.glob(text))
            if not matched:
                raise FileNotFoundError(f"no file matches {text!r}")
            out.extend(matched)
        else:
            if not Path(text).exists():
                raise FileNotFoundError(f"no such file: {text!r}")
            out.append(text)
    if not out:
        raise ValueError("no input files given")
    return tuple(out)


@dataclass(frozen=True)
class StreamInput:
    """A chunked, shuffled, batched view of CSV or Parquet files.

    Build it with :func:`csv_input` or :func:`parquet_input`.

    Attributes
    ----------
    paths : tuple of str
    format : {"csv", "parquet"}
    label : str or list of str or None
        Target column(s); None for prediction-only input.
    batch_size : int or None
        Rows per mini-batch; None means the estimator's ``batch_size``.
    shuffle_buffer : int
        Rows kept in the shuffle buffer (0: no shuffling).
    epochs : int or None
        Passes over the files in ``fit``; None means the estimator's ``epochs``.
    chunk_size : int
        Rows read from disk at a time.
    columns : tuple of str or None
        Feature columns; None means every column except the label.
    sample_size : int
        Rows used to learn column kinds, normalisation and vocabularies.
    sample : {"head", "uniform"}
        ``"head"``: the first ``sample_size`` rows (fast); ``"uniform"``: a uniform random
        sample drawn in one extra pass over the files.
    seed : int or None
        Seed of the shuffling and of the uniform sample.
    read_options : dict
        Extra keyword arguments for ``pandas.read_csv`` (e.g. ``sep``, ``dtype``).
    """

    paths: tuple[str, ...]
    format: Literal["csv", "parquet"]
    label: str | tuple[str, ...] | None = None
    batch_size: int | None = None
    shuffle_buffer: int = 10_000
    epochs: int | None = None
    chunk_size: int = 100_000
    columns: tuple[str, ...] | None = None
    sample_size: int = 100_000
    sample_method: Literal["head", "uniform"] = "head"
    seed: int | None = None
    read_options: dict[str, Any] = field(default_factory=dict)

    # -- reading -------------------------------------------------------------------------
    @property
    def label_columns(self) -> list[str]:
        """The label column(s) as a list (empty when there is no label)."""
        if self.label is None:
            return []
        return [self.label] if isinstance(self.label, str) else list(self.label)

    def _usecols(self) -> list[str] | None:
        if self.columns is None:
            return None
        return list(self.columns) + [c for c in self.label_columns if c not in self.columns]

    def chunks(self, shard: tuple[int, int] | None = None) -> Iterator[pd.DataFrame]:
        """Yield the data as DataFrames of at most ``chunk_size`` rows, in file order.

        Parameters
        ----------
        shard : (count, index), optional
            Only this reader's share, for one of ``count`` workers: every ``count``-th file
            from file ``index`` when there are at least ``count`` files, else every
            ``count``-th row from row ``index`` (each reader then reads every file).
        """
        if shard is not None:
            count, index = (int(v) for v in shard)
            if count < 1 or not 0 <= index < count:
                raise ValueError(f"shard must be (count, index) with 0 <= index < count, "
                                 f"got {shard!r}")
            if count > 1:
                yield from self._sharded_chunks(count, index)
                return
        usecols = self._usecols()
        for path in self.paths:
            if self.format == "csv":
                reader = pd.read_csv(
                    path, chunksize=self.chunk_size, usecols=usecols, **self.read_options
                )
                with reader:
                    yield from reader
            else:
                import pyarrow.parquet as pq

                pf = pq.ParquetFile(path)
                for batch in pf.iter_batches(batch_size=self.chunk_size, columns=usecols):
                    yield batch.to_pandas()

    def _sharded_chunks(self, count: int, index: int) -> Iterator[pd.DataFrame]:
        if len(self.paths) >= count:
            yield from replace(self, paths=self.paths[index::count]).chunks()
            return
        seen = 0
        for chunk in self.chunks():
            keep = (np.arange(seen, seen + len(chunk)) % count) == index
            seen += len(chunk)
            if keep.any():
                yield chunk[keep]

    def feature_columns(self, frame: pd.DataFrame,
                        fitted: Any = None) -> list[str]:
        """Feature columns of a chunk: ``fitted`` (a fitted estimator's
        ``feature_names_in_``, to predict from), else ``columns``, else every column but
        the label."""
        if fitted is not None:
            missing = [name for name in fitted if name not in frame.columns]
            if missing:
                raise ValueError(f"missing feature columns {missing} in {self.paths[0]!r}; "
                                 f"its columns are {list(frame.columns)}")
            return list(fitted)
        if self.columns is not None:
            missing = [c for c in self.columns if c not in frame.columns]
            if missing:
                raise ValueError(f"columns {missing} are not in {self.paths[0]!r}")
            return list(self.columns)
        return [c for c in frame.columns if c not in self.label_columns]

    def sample(self, n: int | None = None) -> pd.DataFrame:
        """A bounded sample of the rows (``sample_method`` decides which).

        Parameters
        ----------
        n : int, optional
            Number of rows; default ``sample_size``.
        """
        n = self.sample_size if n is None else int(n)
        if self.sample_method == "uniform":
            return _uniform_sample(self.chunks(), n, np.random.default_rng(self.seed))
        parts, total = [], 0
        for chunk in self.chunks():
            parts.append(chunk.iloc[: n - total])
            total += len(parts[-1])
            if total >= n:
                break
        if not parts:
            raise ValueError(f"{self.paths[0]!r} holds no rows")
        return pd.concat(parts, ignore_index=True)

    # -- batching ------------------------------------------------------------------------
    def tables(
        self,
        encode: Callable[[pd.DataFrame], Table],
        *,
        rows: int,
        shuffle: bool,
        seed: int | None = None,
        shard: tuple[int, int] | None = None,
    ) -> Iterator[Table]:
        """Encode each chunk and yield tables (dicts of equal-length arrays) of ``rows`` rows.

        ``shard``: this reader's share only (see :meth:`chunks`).
        """
        chunks = (encode(chunk) for chunk in self.chunks(shard))
        rng = np.random.default_rng(seed)
        buffer = self.shuffle_buffer if shuffle else 0
        yield from shuffled_tables(chunks, rows=rows, buffer=buffer, rng=rng if shuffle else None)

    def to_dataset(
        self,
        encode: Callable[[pd.DataFrame], Table],
        structure: Callable[[dict[str, Any]], Any],
        *,
        rows: int,
        shuffle: bool,
        shard: tuple[int, int] | None = None,
    ) -> Any:
        """A ``tf.data.Dataset`` over the files.

        Parameters
        ----------
        encode : callable
            Chunk (DataFrame) -> flat dict of arrays with the same first dimension.
        structure : callable
            Flat dict (of arrays, or of ``tf.TensorSpec``) -> the element structure Keras
            expects, e.g. ``(features, y)``.
        rows : int
            Rows per element.
        shuffle : bool
            Shuffle through the buffer (a new order each time the dataset is iterated).
        shard : (count, index), optional
            Read only this worker's share of the files or rows (see :meth:`chunks`).
        """
        import tensorflow as tf

        probe = encode(self.sample(min(self.sample_size, 64)))
        spec = {
            k: tf.TensorSpec((None, *v.shape[1:]), tf.string if v.dtype == object else v.dtype)
            for k, v in probe.items()
        }
        calls = [0]

        def generate() -> Iterator[Any]:
            calls[0] += 1
            seed = None if self.seed is None else [self.seed, calls[0]]
            try:
                for table in self.tables(encode, rows=rows, shuffle=shuffle, seed=seed,
                                         shard=shard):
                    yield structure(table)
            except Exception as error:  # tf.data wraps it: see estimators.io.errors
                record_stream_error(error)
                raise

        ds = tf.data.Dataset.from_generator(generate, output_signature=structure(spec))
        return fixed_pipeline(ds)

    def with_options(self, **changes: Any) -> StreamInput:
        """A copy with some fields changed (e.g. ``label=None`` for prediction)."""
        return replace(self, **changes)


def shuffled_tables(
    tables: Iterator[Table], *, rows: int, buffer: int, rng: np.random.Generator | None
) -> Iterator[Table]:
    """Re-cut a stream of tables into tables of ``rows`` rows, shuffled through a buffer.

    Each incoming table is appended to a pool; when ``rng`` is given the pool is permuted and
    everything beyond ``buffer`` rows is emitted in whole batches, so rows mix across chunks
    within a window of ``buffer`` rows. Without ``rng`` the order is kept.

    Examples
    --------
    >>> import numpy as np
    >>> parts = iter([{"a": np.arange(5)}, {"a": np.arange(5, 8)}])
    >>> [t["a"].tolist() for t in shuffled_tables(parts, rows=3, buffer=0, rng=None)]
    [[0, 1, 2], [3, 4, 5], [6, 7]]
    """
    pool: Table | None = None
    keep = buffer if rng is not None else 0
    for table in tables:
        if pool is None:
            pool = table
        else:
            pool = {k: np.concatenate([pool[k], table[k]]) for k in table}
        n = len(next(iter(pool.values())))
        if rng is not None:
            perm = rng.permutation(n)
            pool = {k: v[perm] for k, v in pool.items()}
        n_out = max(0, (n - keep) // rows * rows)
        for start in range(0, n_out, rows):
            yield {k: v[start : start + rows] for k, v in pool.items()}
        pool = {k: v[n_out:] for k, v in pool.items()}
    if pool is None:
        return
    n = len(next(iter(pool.values())))
    if rng is not None:
        perm = rng.permutation(n)
        pool = {k: v[perm] for k, v in pool.items()}
    for start in range(0, n, rows):
        yield {k: v[start : start + rows] for k, v in pool.items()}


def _uniform_sample(
    chunks: Iterator[pd.DataFrame], n: int, rng: np.random.Generator
) -> pd.DataFrame:
    """Uniform sample of ``n`` rows without replacement, in one pass (random keys, keep the
    ``n`` smallest), holding at most ``n + chunk_size`` rows."""
    kept: pd.DataFrame | None = None
    keys = np.empty(0)
    for chunk in chunks:
        chunk = chunk.reset_index(drop=True)
        pool = chunk if kept is None else pd.concat([kept, chunk], ignore_index=True)
        keys = np.concatenate([keys, rng.random(len(chunk))])
        if len(pool) > n:
            best = np.argpartition(keys, n)[:n]
            pool, keys = pool.iloc[best].reset_index(drop=True), keys[best]
        kept = pool
    if kept is None:
        raise ValueError("the input holds no rows")
    return kept.iloc[np.argsort(keys, kind="stable")].reset_index(drop=True)


def _make(
    paths: Any, fmt: Literal["csv", "parquet"], label: str | Sequence[str] | None,
    batch_size: int | None, shuffle_buffer: int, epochs: int | None, chunk_size: int,
    columns: Sequence[str] | None, sample_size: int, sample: str, seed: int | None,
    read_options: dict[str, Any],
) -> StreamInput:
    for name, value in [("chunk_size", chunk_size), ("sample_size", sample_size)]:
        if int(value) < 1:
            raise ValueError(f"{name} must be a positive integer, got {value!r}")
    if batch_size is not None and int(batch_size) < 1:
        raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}")
    if epochs is not None and int(epochs) < 1:
        raise ValueError(f"epochs must be a positive integer or None, got {epochs!r}")
    if int(shuffle_buffer) < 0:
        raise ValueError(f"shuffle_buffer must be >= 0, got {shuffle_buffer!r}")
    if sample not in ("head", "uniform"):
        raise ValueError(f"sample must be 'head' or 'uniform', got {sample!r}")
    lab = label if label is None or isinstance(label, str) else tuple(label)
    return StreamInput(
        paths=_expand_paths(paths), format=fmt, label=lab,
        batch_size=None if batch_size is None else int(batch_size),
        shuffle_buffer=int(shuffle_buffer), epochs=None if epochs is None else int(epochs),
        chunk_size=int(chunk_size), columns=None if columns is None else tuple(columns),
        sample_size=int(sample_size), sample_method=sample,  # type: ignore[arg-type]
        seed=seed, read_options=dict(read_options),
    )


def csv_input(
    paths: str | os.PathLike | Sequence[str | os.PathLike],
    *,
    label: str | Sequence[str] | None = None,
    batch_size: int | None = None,
    shuffle_buffer: int = 10_000,
    epochs: int | None = None,
    chunk_size: int = 100_000,
    columns: Sequence[str] | None = None,
    sample_size: int = 100_000,
    sample: Literal["head", "uniform"] = "head",
    seed: int | None = None,
    **read_csv_kwargs: Any,
) -> StreamInput:
    """Stream one or more CSV files (paths, a list, or glob patterns) in chunks.

    Parameters
    ----------
    paths : path, list of paths, or glob pattern
    label : str or list of str, optional
        Target column(s). Leave None for prediction-only input.
    batch_size : int, optional
        Rows per mini-batch; default the estimator's ``batch_size``.
    shuffle_buffer : int, default=10_000
        Rows in the shuffle buffer (0 keeps the file order).
    epochs : int, optional
        Passes over the data in ``fit``; default the estimator's ``epochs``.
    chunk_size : int, default=100_000
        Rows read at a time (``pandas.read_csv(chunksize=...)``).
    columns : list of str, optional
        Feature columns; default all but the label.
    sample_size : int, default=100_000
        Rows used to learn the preprocessing.
    sample : {"head", "uniform"}, default="head"
        Which rows make the sample; ``"uniform"`` costs one extra pass over the files.
    seed : int, optional
        Seed of shuffling and sampling.
    **read_csv_kwargs
        Passed to ``pandas.read_csv`` (``sep``, ``dtype``, ``na_values``, ...).

    Returns
    -------
    StreamInput

    Examples
    --------
    >>> import pandas as pd, tempfile, os
    >>> path = os.path.join(tempfile.mkdtemp(), "d.csv")
    >>> pd.DataFrame({"x": [1.0, 2.0], "y": [0, 1]}).to_csv(path, index=False)
    >>> csv_input(path, label="y", chunk_size=1).label
    'y'
    """
    return _make(paths, "csv", label, batch_size, shuffle_buffer, epochs, chunk_size, columns,
                 sample_size, sample, seed, read_csv_kwargs)


def parquet_input(
    paths: str | os.PathLike | Sequence[str | os.PathLike],
    *,
    label: str | Sequence[str] | None = None,
    batch_size: int | None = None,
    shuffle_buffer: int = 10_000,
    epochs: int | None = None,
    chunk_size: int = 100_000,
    columns: Sequence[str] | None = None,
    sample_size: int = 100_000,
    sample: Literal["head", "uniform"] = "head",
    seed: int | None = None,
) -> StreamInput:
    """Stream one or more Parquet files in record batches (``ParquetFile.iter_batches``).

    Parameters are those of :func:`csv_input` (without the ``read_csv`` options).

    Returns
    -------
    StreamInput

    Examples
    --------
    >>> import pandas as pd, tempfile, os
    >>> path = os.path.join(tempfile.mkdtemp(), "d.parquet")
    >>> pd.DataFrame({"x": [1.0, 2.0, 3.0], "y": [0, 1, 0]}).to_parquet(path)
    >>> [len(c) for c in parquet_input(path, label="y", chunk_size=2).chunks()]
    [2, 1]
    """
    return _make(paths, "parquet", label, batch_size, shuffle_buffer, epochs, chunk_size,
                 columns, sample_size, sample, seed, {})


def fixed_pipeline(ds: Any) -> Any:
    """``ds`` with a prefetch of two elements and tf.data's autotuning off.

    The pipelines here are sequential with a fixed prefetch, so autotuning has nothing to
    tune; its background thread also made deleting the iterator (the end of every ``fit``)
    wait up to seconds for its next wake-up.
    """
    import tensorflow as tf

    options = tf.data.Options()
    options.autotune.enabled = False
    return ds.prefetch(2).with_options(options)
