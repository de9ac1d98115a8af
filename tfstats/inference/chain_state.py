"""ChainState: where MCMC chains are, kept with their draws to continue or save them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["ChainState"]


@dataclass
class ChainState:
    """Where the chains are: state, adaptation, seed and iterations done."""

    x: np.ndarray
    adaptation: dict[str, np.ndarray]
    seed: Any
    iteration: int
    schedule: dict[str, np.ndarray]

    def __getstate__(self) -> dict[str, Any]:
        return dict(self.__dict__, seed=np.asarray(self.seed))  # backend-neutral
