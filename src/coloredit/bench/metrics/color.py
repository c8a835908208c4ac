"""Color accuracy inside the object: L1Hue_obj and L1HSV_obj (method.md's definitions)."""

from __future__ import annotations

import numpy as np

from ...colors import hue_distance, rgb_to_hsv
from .base import MeanMetric


def l1_hue(edited: np.ndarray, mask: np.ndarray, target_rgb: tuple[int, int, int]) -> float:
    """Mean over object pixels of the circular hue distance (degrees, 0-180) to the target's hue."""
    if not mask.any():
        return float("nan")
    hue = rgb_to_hsv(np.asarray(edited, dtype=np.float64)[mask] / 255.0)[:, 0]
    target = rgb_to_hsv(np.array(target_rgb, dtype=np.float64) / 255.0)[0]
    return float(hue_distance(hue, target).mean())


def l1_hsv(edited: np.ndarray, mask: np.ndarray, target_rgb: tuple[int, int, int]) -> float:
    """Mean over object pixels of the HSV L1 distance to the target: hue as circular distance / 180,
    S and V in [0, 1], averaged over the three channels."""
    if not mask.any():
        return float("nan")
    hsv = rgb_to_hsv(np.asarray(edited, dtype=np.float64)[mask] / 255.0)
    target = rgb_to_hsv(np.array(target_rgb, dtype=np.float64) / 255.0)
    channels = np.stack(
        [hue_distance(hsv[:, 0], target[0]) / 180.0, np.abs(hsv[:, 1] - target[1]), np.abs(hsv[:, 2] - target[2])],
        axis=-1,
    )
    return float(channels.mean())


class L1HueObject(MeanMetric):
    name, higher_is_better = "L1Hue_obj", False

    def value(self, edited, mask, target_rgb, **_):
        return l1_hue(edited, mask, target_rgb)


class L1HSVObject(MeanMetric):
    name, higher_is_better = "L1HSV_obj", False

    def value(self, edited, mask, target_rgb, **_):
        return l1_hsv(edited, mask, target_rgb)
