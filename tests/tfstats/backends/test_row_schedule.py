"""The row-block schedule both backends' sweeps follow: every row summed exactly once."""

from __future__ import annotations

import numpy as np
import pytest

from tfstats.backends.row_schedule import row_block_schedule


@pytest.mark.parametrize("n", [1, 7, 256, 4099, 10_000])
@pytest.mark.parametrize("block_rows", [1, 3, 256])
@pytest.mark.parametrize("parts", [1, 2, 3, 4, 40])
def test_every_row_is_summed_once(n: int, block_rows: int, parts: int) -> None:
    stride, used, outside = row_block_schedule(n, block_rows, parts)
    assert 1 <= used <= max(1, min(parts, n // block_rows))
    counts = np.zeros(n, int)
    for k in range(stride):
        for p in range(used):
            start = (k + p * stride) * block_rows
            counts[start:start + block_rows] += 1
    for start, size in outside:
        counts[start:start + size] += 1
    assert np.all(counts == 1)
    assert len(outside) <= used  # at most parts - 1 leftover blocks and the short one
