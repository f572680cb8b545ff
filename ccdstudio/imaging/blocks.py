"""Frames cut into blocks, for statistics block by block."""

from __future__ import annotations

import numpy as np


def padded_blocks(array: np.ndarray, block_rows: int, block_cols: int) -> np.ndarray:
    """``array`` (2-D) as float32 blocks of ``block_rows`` x ``block_cols``, indexed ``[row, y, column, x]``;
    the last blocks of a side that is not a multiple are padded with NaN."""
    rows, cols = -(-array.shape[0] // block_rows), -(-array.shape[1] // block_cols)
    padded = np.full((rows * block_rows, cols * block_cols), np.nan, np.float32)
    padded[: array.shape[0], : array.shape[1]] = array
    return padded.reshape(rows, block_rows, cols, block_cols)
