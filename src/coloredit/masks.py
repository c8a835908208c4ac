"""Object masks without painting: where the object is when the user did not say.

A reference image given without a mask must not have its background averaged into its color: the object is
found here as what differs from the image's border (the border is background in a product shot or a
render), refined to its largest connected part.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from .colors import rgb_to_lab

BORDER = 2  # pixels of the image's edge taken as background samples
DIFFERENT = 12.0  # CIELAB distance from every background sample above which a pixel is foreground


def salient_object(image: np.ndarray) -> np.ndarray:
    """The object of an H x W x 3 uint8 image: pixels far (CIELAB) from all the border's colors, opened,
    holes filled, the largest connected part; the whole image when nothing stands out."""
    lab = rgb_to_lab(np.asarray(image, dtype=np.float64) / 255.0)
    ring = np.zeros(lab.shape[:2], dtype=bool)
    ring[:BORDER], ring[-BORDER:], ring[:, :BORDER], ring[:, -BORDER:] = True, True, True, True
    samples = lab[ring][:: max(1, ring.sum() // 400)]
    flat = lab.reshape(-1, 3)
    nearest = np.full(len(flat), np.inf)
    for chunk in np.array_split(samples, max(1, len(samples) // 50)):
        nearest = np.minimum(nearest, np.linalg.norm(flat[:, None] - chunk[None], axis=-1).min(axis=1))
    foreground = ndimage.binary_opening(nearest.reshape(lab.shape[:2]) > DIFFERENT)
    parts, count = ndimage.label(foreground)
    if count == 0:
        return np.ones(lab.shape[:2], dtype=bool)
    largest = parts == 1 + int(np.argmax(np.bincount(parts.ravel())[1:]))
    return ndimage.binary_fill_holes(largest)
