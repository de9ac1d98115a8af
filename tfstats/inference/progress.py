"""The progress of a compiled loop run in chunks (``mcmc``, ``vi``): a tqdm bar, the count
of steps done, and Ctrl-C, which ends the loop with a warning and keeps what it reached."""

from __future__ import annotations

import warnings
from types import TracebackType
from typing import Any

from tfstats.errors import user_stacklevel

__all__ = ["ChunkProgress"]


class ChunkProgress:
    """A context around a chunked loop. ``update(n, **postfix)`` after each chunk; on
    Ctrl-C the loop stops, ``interrupted`` is set and a warning says what is kept.

    Examples
    --------
    >>> with ChunkProgress(False, 10, "demo", "steps", "the steps so far") as run:
    ...     run.update(4)
    >>> run.done, run.interrupted
    (4, False)
    """

    def __init__(self, progress: bool, total: int, desc: str, unit: str, kept: str,
                 bar_unit: str = "it") -> None:
        self.total, self.desc, self.unit, self.kept = total, desc, unit, kept
        self.done = 0
        self.interrupted = False
        self.bar: Any = None
        if progress:
            from tqdm.auto import tqdm

            self.bar = tqdm(total=total, desc=desc, unit=bar_unit, leave=True,
                            dynamic_ncols=True)

    def __enter__(self) -> ChunkProgress:
        return self

    def update(self, n: int, **postfix: Any) -> None:
        self.done += n
        if self.bar is not None:
            self.bar.update(n)
            if postfix:
                self.bar.set_postfix(refresh=False, **postfix)

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 traceback: TracebackType | None) -> bool:
        if self.bar is not None:
            self.bar.close()
        if kind is not KeyboardInterrupt:
            return False
        self.interrupted = True
        warnings.warn(f"{self.desc} interrupted after {self.done} of {self.total} "
                      f"{self.unit}: returning {self.kept}", stacklevel=user_stacklevel())
        return True
