"""Errors raised while a stream is read inside ``tf.data``, surfaced as themselves.

A chunk that fails its checks (a missing value, a mistyped column) raises a ``ValueError``
or ``TypeError`` naming the column, but inside ``Dataset.from_generator`` TensorFlow turns
it into an ``InvalidArgumentError`` with its own traceback around the message. The
generator records the error with :func:`record_stream_error`; code that iterates the
dataset runs under :func:`stream_errors_raised`, which raises the recorded error in place
of TensorFlow's.

Examples
--------
>>> try:
...     with stream_errors_raised():
...         try:
...             raise ValueError("column 'age' has missing values")
...         except ValueError as error:
...             record_stream_error(error)
...         raise RuntimeError("InvalidArgumentError: ... column 'age' ...")
... except ValueError as error:
...     print(error)
column 'age' has missing values
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator

__all__ = ["record_stream_error", "stream_errors_raised"]

_lock = threading.Lock()
_recorded: list[BaseException] = []  # newest last; tf.data reads on its own threads


def record_stream_error(error: BaseException) -> None:
    """Remember an error raised while a chunk was read (call it, then re-raise)."""
    if isinstance(error, ValueError | TypeError):
        with _lock:
            _recorded[:] = [error]


@contextlib.contextmanager
def stream_errors_raised() -> Iterator[None]:
    """Run code that iterates a stream's dataset; when it fails after a chunk raised a
    ``ValueError`` or ``TypeError``, raise that error (chained to TensorFlow's)."""
    with _lock:
        _recorded.clear()
    try:
        yield
    except Exception as error:
        with _lock:
            recorded = _recorded[0] if _recorded else None
            _recorded.clear()
        if recorded is None or recorded is error:
            raise
        raise recorded.with_traceback(None) from error
