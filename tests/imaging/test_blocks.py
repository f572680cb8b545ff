"""Frames cut into blocks."""

import numpy as np

from ccdstudio.imaging.blocks import padded_blocks


def test_blocks_hold_the_frame_in_order_and_pad_the_last_ones_with_nan():
    frame = np.arange(5 * 7, dtype=np.float64).reshape(5, 7)
    blocks = padded_blocks(frame, 2, 3)
    assert blocks.shape == (3, 2, 3, 3) and blocks.dtype == np.float32
    assert np.array_equal(blocks[1, :, 2, :1], frame[2:4, 6:7])  # block row 1, block column 2
    assert np.isnan(blocks[2, 1]).all() and np.isnan(blocks[:, :, 2, 1:]).all()
    assert np.count_nonzero(np.isfinite(blocks)) == frame.size
