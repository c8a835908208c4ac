"""Agreement with a rendered oracle edit, per pixel: what color-QA tools report (the 95th percentile, the
share within a tolerance), exposure apart from chroma, highlights, blotches, and the background kept.

All statistics run over the object's interior (`color.interior`), like the appearance metric; each is NaN
for samples without an oracle.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from ...colors import delta_e00, linear_to_srgb, rgb_to_lab, srgb_to_linear
from ...measure import hue_spread, interior
from .base import MeanMetric

LUMA = np.array([0.2126, 0.7152, 0.0722])  # linear sRGB to relative luminance
BLOTCHY = 15.0  # hue spread above the oracle's, degrees, that reads as blotchy
HIGHLIGHT = 2.0  # a highlight pixel: at least this times the object's median luminance in the oracle
BACKGROUND_MARGIN = 4  # background pixels: this far (px) or farther from the mask, past any feather


def pixel_errors(edited: np.ndarray, oracle: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """CIEDE2000 of every interior pixel of the edit to the oracle's."""
    inner = interior(mask)
    lab = [rgb_to_lab(np.asarray(x, dtype=np.float64)[inner] / 255.0) for x in (edited, oracle)]
    return delta_e00(*lab)


def exposure_matched(edited: np.ndarray, oracle: np.ndarray, mask: np.ndarray) -> float:
    """CIEDE2000 of the object's mean color to the oracle's after scaling the edit's linear light so its mean
    luminance is the oracle's: the chroma and hue error, without the exposure (lightness) error."""
    inner = interior(mask)
    linear = [srgb_to_linear(np.asarray(x, dtype=np.float64)[inner] / 255.0) for x in (edited, oracle)]
    luminance = [max(float((x @ LUMA).mean()), 1e-6) for x in linear]
    scaled = linear[0] * (luminance[1] / luminance[0])
    means = [rgb_to_lab(linear_to_srgb(x)).mean(axis=0) for x in (scaled, linear[1])]
    return float(delta_e00(*means))


def highlight_error(edited: np.ndarray, oracle: np.ndarray, mask: np.ndarray) -> float:
    """Median CIEDE2000 over the oracle's highlight pixels (NaN when the oracle has none): kept highlights
    stay white, or, on a metal, take the tint."""
    inner = interior(mask)
    luminance = srgb_to_linear(np.asarray(oracle, dtype=np.float64)[inner] / 255.0) @ LUMA
    bright = luminance >= HIGHLIGHT * max(float(np.median(luminance)), 1e-6)
    if bright.sum() < 3:
        return float("nan")
    return float(np.median(pixel_errors(edited, oracle, mask)[bright]))


def background_kept(source: np.ndarray, edited: np.ndarray, mask: np.ndarray) -> float:
    """Share of the pixels `BACKGROUND_MARGIN` px or farther from the mask that stay within CIEDE2000 1 of the
    source."""
    far = ~ndimage.binary_dilation(mask, iterations=BACKGROUND_MARGIN)
    if not far.any():
        return float("nan")
    lab = [rgb_to_lab(np.asarray(x, dtype=np.float64)[far] / 255.0) for x in (source, edited)]
    return float((delta_e00(*lab) <= 1.0).mean())


class OracleP95(MeanMetric):
    """95th percentile of the per-pixel CIEDE2000 to the oracle (what color-QA tools report)."""

    name, higher_is_better = "p95_oracle", False

    def value(self, edited, mask, oracle=None, **_):
        return float("nan") if oracle is None else float(np.percentile(pixel_errors(edited, oracle, mask), 95))


class OracleWithin(MeanMetric):
    """Share of the object's pixels within `tolerance` CIEDE2000 of the oracle's."""

    higher_is_better = True

    def __init__(self, tolerance: float) -> None:
        super().__init__()
        self.tolerance = tolerance
        self.name = f"within{tolerance:g}_oracle"

    def value(self, edited, mask, oracle=None, **_):
        return float("nan") if oracle is None else float((pixel_errors(edited, oracle, mask) <= self.tolerance).mean())


class ExposureMatchedDeltaE00(MeanMetric):
    """Mean-color CIEDE2000 to the oracle after matching the edit's mean luminance to the oracle's."""

    name, higher_is_better = "dE00_oracle_exposure_matched", False

    def value(self, edited, mask, oracle=None, **_):
        return float("nan") if oracle is None else exposure_matched(edited, oracle, mask)


class HighlightDeltaE00(MeanMetric):
    """Median CIEDE2000 to the oracle over its highlights: were they kept."""

    name, higher_is_better = "highlight_dE00_oracle", False

    def value(self, edited, mask, oracle=None, **_):
        return float("nan") if oracle is None else highlight_error(edited, oracle, mask)


class Blotchy(MeanMetric):
    """1 when the edit's hue spread exceeds the oracle's by more than `BLOTCHY` degrees: the mean is the share
    of blotchy edits."""

    name, higher_is_better = "blotchy", False

    def value(self, edited, mask, oracle=None, **_):
        if oracle is None:
            return float("nan")
        return float(hue_spread(edited, mask) - hue_spread(oracle, mask) > BLOTCHY)


class BackgroundKept(MeanMetric):
    """Share of the background (beyond the feather) left within CIEDE2000 1 of the source."""

    name, higher_is_better = "background_kept", True

    def value(self, source, edited, mask, **_):
        return background_kept(source, edited, mask)
