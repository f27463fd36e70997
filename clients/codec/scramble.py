"""Chaotic sub-block scrambling (after Xian et al. 2020): spiral scan inside sub-blocks, keyed block order.

The image is cut into b x b sub-blocks (b = 2 up to 511 pixels on the short side, doubling at 512, 1024, ...),
each sub-block is read along one of 8 spiral scans (start corner x direction, chosen per block by the second
group key) and written back row-major, and the sub-blocks are reordered by sorting the first group key's
chaotic sequence. The whole step is one pixel permutation, computed once per (key, shape, channel), kept on the
key object (never in a module-level cache) and applied with a single fancy-indexing gather.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from clients.codec.chaos import digit_bytes, logistic_lanes
from clients.codec.keys import CodecKey


def block_side(height: int, width: int, fixed: int = 0) -> int:
    """Sub-block side: ``fixed`` when non-zero, else 2 below 512 pixels on the short side, doubling above."""
    if fixed:
        return fixed
    short = max(1, min(height, width))
    return 2 ** max(1, int(np.floor(np.log2(short))) - 7)


@lru_cache(maxsize=16)
def _spirals(side: int) -> np.ndarray:
    """The 8 spiral scans of a side x side block as flat index arrays, shape (8, side*side)."""
    grid = np.arange(side * side).reshape(side, side)
    order: list[int] = []
    g = grid
    while g.size:
        order.extend(g[0].tolist())
        g = np.rot90(g[1:])  # peel the top row, turn the rest so its next edge is on top: clockwise spiral
    base = np.array(order)
    variants = []
    for rot in range(4):
        for flip in (False, True):
            g = np.rot90(grid, rot)
            g = g[:, ::-1] if flip else g
            variants.append(g.reshape(-1)[base])
    return np.stack(variants)


def scramble_permutation(key: CodecKey, height: int, width: int, channel: int = 0) -> np.ndarray:
    """Flat gather index ``perm`` so that ``scrambled.flat = plain.flat[perm]`` for one channel plane.

    ``height`` and ``width`` must be multiples of :func:`block_side` (see :func:`clients.codec.cipher.to_planes`).
    """
    return key.memo(("scramble/permutation", height, width, channel),
                    lambda: _derive_permutation(key, height, width, channel))


def _derive_permutation(key: CodecKey, height: int, width: int, channel: int) -> np.ndarray:
    side = block_side(height, width, key.block_side)
    by, bx = height // side, width // side
    nblocks = by * bx
    # Flat index of every pixel, grouped as (block, pixel-within-block in row-major order).
    idx = np.arange(height * width).reshape(by, side, bx, side).transpose(0, 2, 1, 3).reshape(nblocks, side * side)
    spiral_choice = digit_bytes(key, f"scramble/spiral/{channel}", nblocks) % 8
    within = np.take_along_axis(idx, _spirals(side)[spiral_choice], axis=1)
    block_order = np.argsort(logistic_lanes(key, f"scramble/blocks/{channel}", nblocks), kind="stable")
    blocks = within[block_order]
    # Put block k back at grid position k (row-major) to form the scrambled image.
    return blocks.reshape(by, bx, side, side).transpose(0, 2, 1, 3).reshape(-1)


def scramble(planes: np.ndarray, key: CodecKey) -> np.ndarray:
    """Scramble an array of channel planes, shape (C, H, W); returns a new array of the same shape/dtype."""
    c, h, w = planes.shape
    out = np.empty_like(planes)
    for ch in range(c):
        out[ch] = planes[ch].reshape(-1)[scramble_permutation(key, h, w, ch)].reshape(h, w)
    return out


def descramble(planes: np.ndarray, key: CodecKey) -> np.ndarray:
    """Inverse of :func:`scramble` (scatter through the same permutation)."""
    c, h, w = planes.shape
    out = np.empty_like(planes)
    for ch in range(c):
        flat = np.empty(h * w, dtype=planes.dtype)
        flat[scramble_permutation(key, h, w, ch)] = planes[ch].reshape(-1)
        out[ch] = flat.reshape(h, w)
    return out
