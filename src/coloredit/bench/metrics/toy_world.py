"""The toy ablation's scores as benchmark metrics, named as its report reads them: against the oracle render where
the sample has one, else (a source the model generated) against the target through the albedo meter.

Why their own metrics: the ablation's numbers (docs/ablation.md) are these, measured before COLORBENCH had
oracles; the same definitions keep its history comparable. They need what only toy samples carry: the room
behind the object (`plate`), the detector's object (`detected_mask`) and the method's feather.
"""

from __future__ import annotations

import numpy as np

from ...colors import delta_e00, rgb_to_lab
from ...measure import appearance, delta_e_object, hue_spread, interior
from ...toy.edit_sets import lab_of, read_region
from ...toy.evaluate import background_identical, object_iou
from ...toy.meter import shared_meter
from .base import MeanMetric

NAN = float("nan")


class DeltaE(MeanMetric):
    """ΔE00 of the object's mean color to the oracle's; without an oracle, the meter's reading to the target."""

    name, higher_is_better = "delta_e", False

    def value(self, edited, mask, target_rgb, oracle=None, detected_mask=None, **_):
        if oracle is not None:
            return delta_e_object(edited, mask, oracle)
        return float(delta_e00(shared_meter().read(edited, read_region(mask, detected_mask)), lab_of(target_rgb)))


class Appearance(MeanMetric):
    """Median per-pixel ΔE00 to the oracle over the object (none without an oracle)."""

    name, higher_is_better = "appearance", False

    def value(self, edited, mask, oracle=None, **_):
        return NAN if oracle is None else appearance(edited, oracle, mask)


class SpreadExcess(MeanMetric):
    """The edited object's hue spread above the oracle's; without one, above the source's, where the source and
    the target both have a hue (the edit is not tagged achromatic)."""

    name, higher_is_better = "spread_excess", False

    def value(self, edited, source, mask, tags=(), oracle=None, detected_mask=None, **_):
        if oracle is not None:
            return hue_spread(edited, mask) - hue_spread(oracle, mask)
        if "achromatic" in tags:
            return NAN
        region = read_region(mask, detected_mask)
        return hue_spread(edited, region) - hue_spread(source, region)


class ObjectIoU(MeanMetric):
    """IoU of the object the edit shows with the oracle's (over the room behind it); without an oracle, of the
    mask with the object the detector finds (the mask's own quality)."""

    name, higher_is_better = "iou", True

    def value(self, edited, mask, oracle=None, plate=None, detected_mask=None, **_):
        if oracle is not None:
            return NAN if plate is None else object_iou(edited, oracle, mask, plate)
        if detected_mask is None:
            return 0.0
        return float((detected_mask & mask).sum() / (detected_mask | mask).sum())


class ShadingKept(MeanMetric):
    """Without an oracle: correlation of the object's CIELAB lightness with the source's, per pixel."""

    name, higher_is_better = "shading_kept", True

    def value(self, edited, source, mask, oracle=None, detected_mask=None, **_):
        if oracle is not None:
            return NAN
        core = interior(read_region(mask, detected_mask))
        if core.sum() <= 2:
            return NAN
        lightness = [rgb_to_lab(np.asarray(x, dtype=np.float64)[core] / 255.0)[:, 0] for x in (source, edited)]
        return float(np.corrcoef(*lightness)[0, 1])


class BackgroundIdentical(MeanMetric):
    """1 when every pixel outside the feathered mask is the source's byte for byte."""

    name, higher_is_better = "background_identical", True

    def value(self, edited, source, mask, feather=0.0, **_):
        return float(background_identical(edited, source, mask, feather))


def ablation_metrics() -> list[MeanMetric]:
    return [DeltaE(), Appearance(), SpreadExcess(), ObjectIoU(), ShadingKept(), BackgroundIdentical()]
