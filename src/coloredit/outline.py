"""The object's outline: its pixels mix object and background, so each takes the object's change by its share
of object (unmixed from the nearby inner pixel that explains it best and the background's local mean).

Why a module: the outline is where a designer looks first, and where a fringe of the old color shows; the
engine's recolor hands its change here for the one-pixel band either side of the mask's edge.
"""

from __future__ import annotations

import numpy as np


def unmix_outline(linear: np.ndarray, edited: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Change the outline band's pixels of `edited` (linear RGB, the object's pixels changed; in place) by their
    share of object, and return the band (one pixel either side of the mask's edge)."""
    from scipy import ndimage

    inner, outer = ndimage.binary_erosion(mask), ~ndimage.binary_dilation(mask)
    band = ~inner & ~outer
    edited[band] = linear[band] + outline_change(linear, edited - linear, inner, outer, band)
    return band


OUTLINE_WINDOW = 2  # inner pixels up to this far from an outline pixel may be the object it shows
OUTLINE_MATCH = 2e-3  # squared linear-RGB residual: how closely an inner color must explain an outline pixel


def outline_change(
    linear: np.ndarray, change: np.ndarray, inner: np.ndarray, outer: np.ndarray, band: np.ndarray
) -> np.ndarray:
    """The change of each outline pixel (`band`): it shows `alpha * object + (1 - alpha) * background`, where
    the background is the local mean outside and the object is whichever nearby inner pixel explains it best
    (an object with stripes has two colors at its edge: a red pixel there must follow the red body, not the
    stripe's average with it). It takes `alpha` of that inner pixel's change."""
    background = local_mean(linear, outer)[band]
    ys, xs = np.nonzero(band)
    h, w = band.shape
    offer = linear[ys, xs] - background
    scores, changes = [], []
    reach = range(-OUTLINE_WINDOW, OUTLINE_WINDOW + 1)
    for dy, dx in ((dy, dx) for dy in reach for dx in reach):
        y, x = np.clip(ys + dy, 0, h - 1), np.clip(xs + dx, 0, w - 1)
        span = linear[y, x] - background
        alpha = np.clip((offer * span).sum(-1) / np.maximum((span * span).sum(-1), 1e-6), 0.0, 1.0)
        residual = ((offer - alpha[:, None] * span) ** 2).sum(-1)
        near = -(dy * dy + dx * dx) / (2 * 1.5**2)  # the local means' Gaussian, as a log weight
        scores.append(np.where(inner[y, x], near - residual / OUTLINE_MATCH, -np.inf))
        changes.append(alpha[:, None] * change[y, x])
    scores = np.stack(scores)
    top = scores.max(axis=0)
    weights = np.where(np.isfinite(top), np.exp(scores - np.where(np.isfinite(top), top, 0.0)), 0.0)
    return (weights[..., None] * np.stack(changes)).sum(0) / np.maximum(weights.sum(0), 1e-12)[:, None]


def local_mean(values: np.ndarray, where: np.ndarray, sigma: float = 1.5) -> np.ndarray:
    """The mean of `values` (H x W x C) over the pixels `where`, near each pixel (normalized convolution)."""
    from scipy import ndimage

    weight = ndimage.gaussian_filter(where.astype(np.float64), sigma)
    sums = np.stack([ndimage.gaussian_filter(values[..., c] * where, sigma) for c in range(values.shape[-1])], -1)
    return sums / np.maximum(weight, 1e-8)[..., None]
