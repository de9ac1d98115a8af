"""ChainState: where MCMC chains are, kept with their draws to continue or save them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["ChainState", "backend_seed"]


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


def backend_seed(backend: Any, seed: Any) -> Any:
    """``seed`` (the chains' seed, or one per chain) as ``backend`` keeps seeds.

    A seed saved as numpy comes back in the saving backend's dtype: TensorFlow's int32
    pairs, JAX's uint32 keys. Draws made on one backend and continued on the other get
    the same 64 bits read in the other's dtype (any 64 bits are a key of either), so the
    chains go on with a random stream of their own instead of failing in JAX's key check.

    Examples
    --------
    >>> import numpy as np
    >>> from tfstats.backends import get_backend
    >>> B = get_backend()
    >>> saved = np.array([7, 0], dtype=np.uint32)  # as JAX keeps a key
    >>> np.asarray(B.to_numpy(backend_seed(B, saved))).dtype == B.seed_dtype
    True
    """
    if not isinstance(seed, np.ndarray):
        return seed
    dtype = np.dtype(backend.seed_dtype)
    if seed.dtype != dtype and seed.dtype.itemsize == dtype.itemsize:
        seed = np.ascontiguousarray(seed).view(dtype)
    return backend.convert(seed)
