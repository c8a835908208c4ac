"""The object's outline: its pixels mix object and background, so each takes the object's change by its share
of object (unmixed from the nearby inner pixel that explains it best and the background's local mean).

Why a module: the outline is where a designer looks first, and where a fringe of the old color shows; the
engine's recolor hands its change here for the one-pixel band either side of the mask's edge.
"""

from __future__ import annotations

import numpy as np

OUTLINE_WINDOW = 2  # inner pixels up to this far from an outline pixel may be the object it shows
OUTLINE_MATCH = 2e-3  # squared linear-RGB residual: how closely an inner color must explain an outline pixel


class Outline:
    """The band one pixel either side of a mask's edge, and how each of its pixels takes the object's change.

    Each outline pixel shows `alpha * object + (1 - alpha) * background`, where the background is the local mean
    outside and the object is whichever nearby inner pixel explains it best (an object with stripes has two
    colors at its edge: a red pixel there must follow the red body, not the stripe's average with it). It
    takes `alpha` of that inner pixel's change. Which pixels and how much depend on the picture alone, so
    one `Outline` serves every color of a colorway."""

    def __init__(self, linear: np.ndarray, mask: np.ndarray):
        from scipy import ndimage

        inner, outer = ndimage.binary_erosion(mask), ~ndimage.binary_dilation(mask)
        self.band = ~inner & ~outer
        background = local_mean(linear, outer, self.band)
        ys, xs = np.nonzero(self.band)
        h, w = self.band.shape
        offer = linear[ys, xs] - background
        scores, self.alphas, self.neighbours = [], [], []
        reach = range(-OUTLINE_WINDOW, OUTLINE_WINDOW + 1)
        for dy, dx in ((dy, dx) for dy in reach for dx in reach):
            y, x = np.clip(ys + dy, 0, h - 1), np.clip(xs + dx, 0, w - 1)
            span = linear[y, x] - background
            alpha = np.clip((offer * span).sum(-1) / np.maximum((span * span).sum(-1), 1e-6), 0.0, 1.0)
            residual = ((offer - alpha[:, None] * span) ** 2).sum(-1)
            near = -(dy * dy + dx * dx) / (2 * 1.5**2)  # the local means' Gaussian, as a log weight
            scores.append(np.where(inner[y, x], near - residual / OUTLINE_MATCH, -np.inf))
            self.alphas.append(alpha[:, None])
            self.neighbours.append((y, x))
        scores = np.stack(scores)
        top = scores.max(axis=0)
        self.weights = np.where(np.isfinite(top), np.exp(scores - np.where(np.isfinite(top), top, 0.0)), 0.0)
        self.total = np.maximum(self.weights.sum(0), 1e-12)[:, None]
        index = np.full(mask.shape, -1)  # each neighbour's place among the object's pixels (-1: not one of them)
        index[mask] = np.arange(int(mask.sum()))
        self.among_object = [index[y, x] for y, x in self.neighbours]

    def unmix(self, linear: np.ndarray, edited: np.ndarray) -> np.ndarray:
        """The band's pixels (linear RGB, in `np.nonzero(band)` order) when the object's pixels of `linear` (the
        mask's) become `edited` (in `np.nonzero(mask)` order): each by its share of object."""
        changes = []
        for alpha, (y, x), at in zip(self.alphas, self.neighbours, self.among_object, strict=True):
            change = np.zeros((len(at), 3))
            inside = at >= 0
            change[inside] = edited[at[inside]] - linear[y[inside], x[inside]]
            changes.append(alpha * change)
        change = (self.weights[..., None] * np.stack(changes)).sum(0) / self.total
        return linear[self.band] + change


POINTWISE_SHARE = 1 / 8  # below this share of the picture, local means are summed at the pixels asked for


def local_mean(values: np.ndarray, where: np.ndarray, at: np.ndarray, sigma: float = 1.5) -> np.ndarray:
    """The mean of `values` (H x W x C) over the pixels `where`, near each pixel `at` (both H x W booleans),
    in the order of `np.nonzero(at)`: a normalized convolution with scipy's Gaussian (truncated at 4 sigma,
    mirrored at the picture's border). An outline is a thin ring in a large box: its means are summed at its
    own pixels, not filtered over the whole box."""
    from scipy import ndimage

    if at.sum() > POINTWISE_SHARE * at.size:
        weight = ndimage.gaussian_filter(where.astype(np.float64), sigma)
        sums = np.stack([ndimage.gaussian_filter(values[..., c] * where, sigma) for c in range(values.shape[-1])], -1)
        return (sums / np.maximum(weight, 1e-8)[..., None])[at]
    radius = int(4.0 * sigma + 0.5)
    offsets = np.arange(-radius, radius + 1)
    kernel = np.exp(-0.5 * (offsets / sigma) ** 2)
    kernel = kernel / kernel.sum()
    ys, xs = np.nonzero(at)
    (h, w), weight, sums = at.shape, np.zeros(len(ys)), np.zeros((len(ys), values.shape[-1]))
    for dy, along_y in zip(offsets, kernel, strict=True):
        y = _mirrored(ys + dy, h)
        for dx, along_x in zip(offsets, kernel, strict=True):
            x = _mirrored(xs + dx, w)
            share = along_y * along_x * where[y, x]
            weight += share
            sums += share[:, None] * values[y, x]
    return sums / np.maximum(weight, 1e-8)[:, None]


def _mirrored(index: np.ndarray, size: int) -> np.ndarray:
    """Indices past a border mirrored back in, the edge pixel repeated (scipy's "reflect")."""
    period = 2 * size
    index = np.mod(index, period)
    return np.where(index >= size, period - 1 - index, index)
