"""The object's outline: its pixels mix object and background, so each takes the object's change by its share
of object (unmixed from the nearby inner pixel that explains it best and the background's local mean).

Why a module: the outline is where a designer looks first, and where a fringe of the old color shows; the
engine's recolor hands its change here for the one-pixel band either side of the mask's edge, and the mask
refinement (`edges.py`) reads here which of those pixels are mostly object.
"""

from __future__ import annotations

import numpy as np

from .colors import LinearOf
from .morphology import dilated, eroded

OUTLINE_WINDOW = 2  # inner pixels up to this far from an outline pixel may be the object it shows
OUTLINE_MATCH = 2e-3  # squared linear-RGB residual: how closely an inner color must explain an outline pixel
RIM_SHADE = (0.25, 1.25)  # an edge pixel's object part, as a shade of the inner pixel beside it (a ball's rim)
SEPARABLE = 0.02  # sin^2 of the angle between object and background colors below which a mix is a shade


class Outline:
    """The band one pixel either side of a mask's edge, and how each of its pixels takes the object's change.

    Each outline pixel shows `alpha * object + (1 - alpha) * background`, where the background is the local mean
    outside and the object is whichever nearby inner pixel explains it best (an object with stripes has two
    colors at its edge: a red pixel there must follow the red body, not the stripe's average with it). It
    takes `alpha` of that inner pixel's change. Which pixels and how much depend on the picture alone, so
    one `Outline` serves every color of a colorway."""

    def __init__(self, linear: np.ndarray | LinearOf, mask: np.ndarray):
        """`linear`: the picture's linear RGB, or a `colors.LinearOf` its bytes (only the band's reach is read)."""
        inner, outer = eroded(mask), ~dilated(mask)
        self.band = ~inner & ~outer
        self.background = background = local_mean(linear, outer, self.band)
        ys, xs = np.nonzero(self.band)
        h, w = self.band.shape
        # the picture's colors at the band and at each neighbour: all that `shares` and `unmix` read of it
        self.band_colors = linear[ys, xs]
        offer = self.band_colors - background
        # each neighbour's place among the object's pixels (-1: not one of them)
        index = np.full(mask.shape, -1, dtype=np.int32)
        index[mask] = np.arange(int(mask.sum()))
        scores, self.alphas, self.inner_at, self.neighbour_colors, self.among_object = [], [], [], [], []
        reach = range(-OUTLINE_WINDOW, OUTLINE_WINDOW + 1)
        for dy, dx in ((dy, dx) for dy in reach for dx in reach):
            y, x = np.clip(ys + dy, 0, h - 1), np.clip(xs + dx, 0, w - 1)
            self.neighbour_colors.append(linear[y, x])
            span = self.neighbour_colors[-1] - background
            alpha = np.clip((offer * span).sum(-1) / np.maximum((span * span).sum(-1), 1e-6), 0.0, 1.0)
            residual = ((offer - alpha[:, None] * span) ** 2).sum(-1)
            near = -(dy * dy + dx * dx) / (2 * 1.5**2)  # the local means' Gaussian, as a log weight
            scores.append(np.where(inner[y, x], near - residual / OUTLINE_MATCH, -np.inf))
            self.inner_at.append(inner[y, x])
            self.alphas.append(alpha[:, None])
            self.among_object.append(index[y, x])
        # the object's pixels `unmix` reads (sorted, in `np.nonzero(mask)` order), and each neighbour's place
        # among them
        neighbours = np.concatenate(self.among_object)
        self.reads = np.unique(neighbours[neighbours >= 0])
        places = np.where(neighbours >= 0, np.searchsorted(self.reads, neighbours), -1)
        self.among_object = np.split(places, len(self.among_object))
        scores = np.stack(scores)
        top = scores.max(axis=0)
        self.weights = np.where(np.isfinite(top), np.exp(scores - np.where(np.isfinite(top), top, 0.0)), 0.0)
        self.total = np.maximum(self.weights.sum(0), 1e-12)[:, None]

    def shares(self) -> np.ndarray:
        """Each band pixel's share of object `v` (in `np.nonzero(band)` order), read as `v * s * inner + (1 - v) *
        background` for the nearby inner pixel and model that fit best: `s` lets the object be darker at its
        edge than inside (a ball's rim), within `RIM_SHADE`, so a shadow (the background darkened, `s` near 0)
        is not read as object; it is read only where inner and background colors differ in chromaticity
        (`SEPARABLE`), else `s = 1`, and then only where the two differ by more than the fit leaves out. NaN
        where no fit is within `OUTLINE_MATCH`."""
        offer, background = self.band_colors - self.background, self.background
        shares, best = np.full(len(offer), np.nan), np.full(len(offer), OUTLINE_MATCH)
        bb = (background * background).sum(-1)
        for color, inside, alpha in zip(self.neighbour_colors, self.inner_at, self.alphas, strict=True):
            # offer = u * color - v * background, least squares
            cc, cb = (color * color).sum(-1), (color * background).sum(-1)
            oc, ob = (offer * color).sum(-1), (offer * background).sum(-1)
            det = cc * bb - cb * cb
            separable = det > SEPARABLE * cc * bb
            det = np.where(separable, det, 1.0)
            u, v = (oc * bb - cb * ob) / det, (cb * oc - cc * ob) / det
            residual = ((offer - u[:, None] * color + v[:, None] * background) ** 2).sum(-1)
            fits = inside & separable & (v > 0) & (v <= 1) & (u >= RIM_SHADE[0] * v) & (u <= RIM_SHADE[1] * v)
            span = color - background  # the unshaded mix (s = 1, `alpha`), which needs no chromaticity apart
            contrast, plain = (span * span).sum(-1), ((offer - alpha * span) ** 2).sum(-1)
            for share, error, valid in ((v, residual, fits), (alpha[:, 0], plain, inside & (contrast > plain))):
                better = valid & (error < best)
                shares[better], best[better] = share[better], error[better]
        return shares

    def unmix(self, edited: np.ndarray) -> np.ndarray:
        """The band's pixels (linear RGB, in `np.nonzero(band)` order) when the object's pixels of the picture the
        outline was read from (the mask's) become `edited`: those at `reads`, in that order. Each changes by its
        share of object."""
        changes = []
        for alpha, colors, at in zip(self.alphas, self.neighbour_colors, self.among_object, strict=True):
            change = np.zeros((len(at), 3))
            inside = at >= 0
            change[inside] = edited[at[inside]] - colors[inside]
            changes.append(alpha * change)
        change = (self.weights[..., None] * np.stack(changes)).sum(0) / self.total
        return self.band_colors + change


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
