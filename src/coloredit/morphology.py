"""One-pixel erosion, dilation and opening of a mask by array shifts: scipy's take 10-15x longer on a photo's
mask, and the mask refinement and every outline make several; and a map reduced to blocks, for work on a
photo-sized map that a coarser grid serves.

Each is scipy's (`ndimage.binary_erosion`, `binary_dilation`, `binary_opening` with their default structure,
the 4-connected cross, and the picture's outside as background), as `tests/test_morphology.py` checks.
"""

from __future__ import annotations

import numpy as np


def eroded(mask: np.ndarray) -> np.ndarray:
    """The pixels of `mask` whose four neighbours are all in it (none on the picture's border)."""
    mask = np.asarray(mask, dtype=bool)
    out = mask.copy()
    out[1:] &= mask[:-1]
    out[:-1] &= mask[1:]
    out[:, 1:] &= mask[:, :-1]
    out[:, :-1] &= mask[:, 1:]
    out[[0, -1]] = False
    out[:, [0, -1]] = False
    return out


def dilated(mask: np.ndarray) -> np.ndarray:
    """`mask` and the pixels with one of their four neighbours in it."""
    mask = np.asarray(mask, dtype=bool)
    out = mask.copy()
    out[1:] |= mask[:-1]
    out[:-1] |= mask[1:]
    out[:, 1:] |= mask[:, :-1]
    out[:, :-1] |= mask[:, 1:]
    return out


def opened(mask: np.ndarray) -> np.ndarray:
    """`mask` less the parts too thin to hold a cross: one-pixel whiskers and specks."""
    return dilated(eroded(mask))


def blocks(plane: np.ndarray, step: int, reduce, pad: object = False) -> np.ndarray:
    """`reduce` (np.all, np.any, np.min) over each `step` x `step` block of a plane, the last ones padded with
    `pad`: a photo-sized map worked on at a coarser grid."""
    if step == 1:
        return plane
    height, width = plane.shape
    padded = plane
    if height % step or width % step:
        padded = np.pad(plane, ((0, -height % step), (0, -width % step)), constant_values=pad)
    return reduce(padded.reshape(len(padded) // step, step, padded.shape[1] // step, step), axis=(1, 3))
