"""The data nodes of ``minibatch``: a group of inputs whose rows are drawn together, and a
data array holding a batch of its full rows. In memory (``minibatch.py``) or fed by a
stream (``streams.py``)."""

from __future__ import annotations

import numpy as np

from tfstats.arrays import Data

__all__ = ["MinibatchGroup", "MinibatchData"]


class MinibatchGroup:
    """Inputs whose rows are drawn together: ``n_rows`` in all, ``batch_size`` per step."""

    def __init__(self, n_rows: int, batch_size: int, seed: int | None) -> None:
        self.n_rows, self.batch_size, self.seed = n_rows, batch_size, seed

    @property
    def scale(self) -> float:
        return self.n_rows / self.batch_size

    def __repr__(self) -> str:
        return f"<minibatch of {self.batch_size} rows out of {self.n_rows}>"


class MinibatchData(Data):
    """A data array whose rows are a random batch of ``full`` (drawn at every VI step)."""

    __slots__ = ("full", "group")

    def __init__(self, full: np.ndarray, group: MinibatchGroup, name: str | None) -> None:
        super().__init__(full[:group.batch_size], name=name)
        self.full = full
        self.group = group
