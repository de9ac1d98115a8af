"""Small data sets shipped with tfstats (from posteriordb, BSD 3-Clause licence).

- ``kidiq``: 434 children's test scores with their mothers' IQ and high-school status.
- ``radon_mn``: 919 log radon measurements in 85 Minnesota counties (0-based ``county``).
- ``eight_schools``: estimated coaching effects ``y`` and their standard errors ``sigma``.
"""

from __future__ import annotations

from importlib import resources

import pandas as pd

__all__ = ["load", "NAMES"]

NAMES = ("kidiq", "radon_mn", "eight_schools")


def load(name: str) -> pd.DataFrame:
    """Load a bundled data set as a DataFrame.

    Examples
    --------
    >>> from tfstats import datasets
    >>> datasets.load("kidiq").shape
    (434, 3)
    """
    if name not in NAMES:
        raise ValueError(f"unknown data set {name!r}; choose one of {NAMES}")
    with resources.files(__name__).joinpath(f"{name}.csv").open() as handle:
        return pd.read_csv(handle)
