"""COLORBENCH metrics: each a small class with `update(...)`/`compute()`, its math in a plain function."""

from __future__ import annotations

from .base import MeanMetric
from .color import DeltaE00Object, ExcessHueSpread, L1HSVObject, L1HueObject, OracleAppearance, OracleDeltaE00
from .oracle import (
    BackgroundKept,
    Blotchy,
    ExposureMatchedDeltaE00,
    HighlightDeltaE00,
    OracleP95,
    OracleWithin,
)
from .structure import SSIM, BackgroundPSNR, BackgroundSSIM, CannySSIM


def pixel_metrics() -> list[MeanMetric]:
    """The metrics that need no model weights."""
    return [
        L1HueObject(),
        L1HSVObject(),
        DeltaE00Object(),
        OracleDeltaE00(),
        ExposureMatchedDeltaE00(),
        OracleAppearance(),
        OracleP95(),
        *(OracleWithin(tolerance) for tolerance in (1.0, 2.0, 3.0)),
        HighlightDeltaE00(),
        ExcessHueSpread(),
        Blotchy(),
        BackgroundKept(),
        SSIM(),
        BackgroundPSNR(),
        BackgroundSSIM(),
        CannySSIM(),
    ]


def model_metrics(dino: str | None = None, clip: str | None = None, lpips: str | None = None) -> list[MeanMetric]:
    """DS, CLIP and LPIPS_bg for the models given (local paths or hub ids); each loads once."""
    from .models import BackgroundLPIPS, CLIPScore, StructureDistance

    metrics: list[MeanMetric] = []
    try:
        if dino:
            metrics.append(StructureDistance(dino))
        if clip:
            metrics.append(CLIPScore(clip))
        if lpips:
            metrics.append(BackgroundLPIPS(lpips))
    except (OSError, ValueError) as error:
        from ...errors import ColorEditError

        raise ColorEditError(f"cannot load a metric model: {str(error).splitlines()[0]}") from None
    return metrics


__all__ = ["MeanMetric", "model_metrics", "pixel_metrics"]
