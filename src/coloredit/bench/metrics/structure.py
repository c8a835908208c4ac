"""Pixel structure and background metrics: SSIM, background PSNR/SSIM, Canny-SSIM."""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from .base import MeanMetric


def _gray(image: np.ndarray) -> np.ndarray:
    image = np.asarray(image, dtype=np.float64)
    return image if image.ndim == 2 else image @ np.array([0.299, 0.587, 0.114])


def ssim_map(a: np.ndarray, b: np.ndarray, data_range: float = 255.0, sigma: float = 1.5) -> np.ndarray:
    """Per-pixel SSIM of two single-channel images with a Gaussian window (Wang et al. 2004): the
    convention of scikit-image's `gaussian_weights=True, use_sample_covariance=False` and torchmetrics."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    blur = lambda x: ndimage.gaussian_filter(x, sigma, truncate=3.5, mode="reflect")  # noqa: E731
    mu_a, mu_b = blur(a), blur(b)
    var_a, var_b, cov = blur(a * a) - mu_a**2, blur(b * b) - mu_b**2, blur(a * b) - mu_a * mu_b
    c1, c2 = (0.01 * data_range) ** 2, (0.03 * data_range) ** 2
    return ((2 * mu_a * mu_b + c1) * (2 * cov + c2)) / ((mu_a**2 + mu_b**2 + c1) * (var_a + var_b + c2))


def ssim(a: np.ndarray, b: np.ndarray, weights: np.ndarray | None = None, data_range: float = 255.0) -> float:
    """Mean SSIM over color channels (or gray), optionally weighted per pixel (e.g. the background).
    Border pixels within the window radius are left out, as scikit-image does."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    maps = (
        [ssim_map(a, b, data_range)]
        if a.ndim == 2
        else [ssim_map(a[..., c], b[..., c], data_range) for c in range(a.shape[-1])]
    )
    valid = np.zeros(a.shape[:2], dtype=bool)
    pad = 5  # (window 11 - 1) / 2, scikit-image's crop
    valid[pad:-pad, pad:-pad] = True
    w = valid.astype(np.float64) if weights is None else valid * np.asarray(weights, dtype=np.float64)
    if w.sum() == 0:
        return float("nan")
    return float(np.mean([(m * w).sum() / w.sum() for m in maps]))


def psnr(a: np.ndarray, b: np.ndarray, weights: np.ndarray | None = None, data_range: float = 255.0) -> float:
    """PSNR (dB), optionally over weighted pixels only; inf for identical images."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    w = np.ones(a.shape[:2]) if weights is None else np.asarray(weights, dtype=np.float64)
    if w.sum() == 0:
        return float("nan")
    squared = ((a - b) ** 2).reshape(*a.shape[:2], -1).mean(axis=-1)
    mse = float((squared * w).sum() / w.sum())
    return float("inf") if mse == 0 else float(10 * np.log10(data_range**2 / mse))


def canny_edges(image: np.ndarray, sigma: float = 1.0) -> np.ndarray:
    from skimage.feature import canny

    return canny(_gray(image) / 255.0, sigma=sigma)


class SSIM(MeanMetric):
    name = "SSIM"

    def value(self, source, edited, **_):
        return ssim(source, edited)


class BackgroundSSIM(MeanMetric):
    name = "SSIM_bg"

    def value(self, source, edited, mask, **_):
        return ssim(source, edited, weights=~mask)


class BackgroundPSNR(MeanMetric):
    """Background PSNR; identical backgrounds count as 100 dB so that they can be averaged."""

    name = "PSNR_bg"

    def value(self, source, edited, mask, **_):
        return min(psnr(source, edited, weights=~mask), 100.0)


class CannySSIM(MeanMetric):
    """SSIM between the Canny edge maps of source and edit: does the edit keep the structure's lines."""

    name = "Canny_SSIM"

    def value(self, source, edited, **_):
        return ssim(canny_edges(source).astype(np.float64), canny_edges(edited).astype(np.float64), data_range=1.0)
