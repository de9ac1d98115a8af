"""Which blocks of rows a pass over row blocks sums in its loop and which outside it, the
same on both backends (``jax_blocks.row_block_sum``, ``tf_blocks.row_block_sweep``).

``n`` rows make ``n // block_rows`` full blocks. With ``parts`` shares, iteration ``k`` of
the loop sums blocks ``k, k + stride, ..., k + (parts - 1) * stride``: independent work
that XLA:CPU can run on several cores at once. The full blocks the shares leave over and
the shorter last block are summed outside the loop.

Examples
--------
>>> row_block_schedule(n=10, block_rows=2, parts=2)  # 5 blocks: 0-1 and 2-3 in the loop
(2, 2, [(8, 2)])
>>> row_block_schedule(n=9, block_rows=4, parts=3)  # 2 blocks: no more shares than blocks
(1, 2, [(8, 1)])
"""

from __future__ import annotations

__all__ = ["row_block_schedule"]


def row_block_schedule(n: int, block_rows: int,
                       parts: int) -> tuple[int, int, list[tuple[int, int]]]:
    """``(stride, parts, outside)``: the loop's iterations, the shares each sums (at most
    one per full block), and ``(start, size)`` of the blocks summed outside the loop."""
    full = n // block_rows
    parts = max(1, min(parts, full))
    stride = full // parts
    outside = [(k * block_rows, block_rows) for k in range(stride * parts, full)]
    if full * block_rows < n:
        outside.append((full * block_rows, n - full * block_rows))
    return stride, parts, outside
