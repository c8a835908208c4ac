"""COLORBENCH metrics: each a small class with `update(...)`/`compute()`, its math in a plain function."""

from __future__ import annotations

from .base import MeanMetric
from .color import L1HSVObject, L1HueObject
from .structure import SSIM, BackgroundPSNR, BackgroundSSIM, CannySSIM


def pixel_metrics() -> list[MeanMetric]:
    """The metrics that need no model weights."""
    return [L1HueObject(), L1HSVObject(), SSIM(), BackgroundPSNR(), BackgroundSSIM(), CannySSIM()]


__all__ = ["MeanMetric", "pixel_metrics"]
