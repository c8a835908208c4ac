"""Color accuracy inside the object as benchmark metrics: L1Hue_obj and L1HSV_obj (method.md's definitions);
CIEDE2000 of the object's mean color to the target; and, where an oracle edit exists (the renderers draw one),
per-pixel appearance and hue spread against it. The measurements themselves are `coloredit.measure`'s.
"""

from __future__ import annotations

from ...measure import appearance, delta_e_object, hue_spread, l1_hsv, l1_hue
from .base import MeanMetric


class L1HueObject(MeanMetric):
    name, higher_is_better = "L1Hue_obj", False

    def value(self, edited, mask, target_rgb, **_):
        return l1_hue(edited, mask, target_rgb)


class L1HSVObject(MeanMetric):
    name, higher_is_better = "L1HSV_obj", False

    def value(self, edited, mask, target_rgb, **_):
        return l1_hsv(edited, mask, target_rgb)


class DeltaE00Object(MeanMetric):
    """CIEDE2000 of the object's mean color to the target color (on real data, the reference's)."""

    name, higher_is_better = "dE00_obj", False

    def value(self, edited, mask, target_rgb, **_):
        return delta_e_object(edited, mask, target_rgb)


class OracleDeltaE00(MeanMetric):
    """CIEDE2000 of the object's mean color to the oracle edit's (samples with an oracle only)."""

    name, higher_is_better = "dE00_oracle", False

    def value(self, edited, mask, oracle=None, **_):
        return float("nan") if oracle is None else delta_e_object(edited, mask, oracle)


class OracleAppearance(MeanMetric):
    """Median per-pixel CIEDE2000 to the oracle edit inside the object."""

    name, higher_is_better = "appearance_oracle", False

    def value(self, edited, mask, oracle=None, **_):
        return float("nan") if oracle is None else appearance(edited, oracle, mask)


class ExcessHueSpread(MeanMetric):
    """The edited object's hue spread above the oracle's (degrees; > 15 reads as blotchy)."""

    name, higher_is_better = "hue_spread_excess", False

    def value(self, edited, mask, oracle=None, **_):
        return float("nan") if oracle is None else hue_spread(edited, mask) - hue_spread(oracle, mask)
