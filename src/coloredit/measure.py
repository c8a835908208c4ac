"""How far an object's color is from a target or from an oracle edit: the numbers every judge here uses
(the benchmark's metrics, the toy world's evaluation, the tests), one floor below all of them.

The object's color is the mean CIELAB of its interior (the mask eroded by one pixel, so that edge pixels
mixed with the background do not count); highlights and second colors count as they are, in the edit and
the oracle alike. L1Hue_obj and L1HSV_obj follow method.md's definitions.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from .colors import delta_e00, hue_distance, rgb_to_hsv, rgb_to_lab

CHROMATIC = 12.0  # CIELAB chroma above which a pixel has a hue worth counting in the hue spread


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


def interior(mask: np.ndarray) -> np.ndarray:
    """The mask without its one-pixel rim (the whole mask when that leaves nothing)."""
    core = ndimage.binary_erosion(mask)
    return core if core.any() else np.asarray(mask, dtype=bool)


def object_lab(image: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Mean CIELAB of the object's interior."""
    return rgb_to_lab(np.asarray(image, dtype=np.float64)[interior(mask)] / 255.0).mean(axis=0)


def delta_e_object(edited: np.ndarray, mask: np.ndarray, target: np.ndarray | tuple[int, int, int]) -> float:
    """CIEDE2000 between the edited object's mean CIELAB and the target: an oracle image (same mask) or an
    sRGB color (0-255). NaN for an empty mask."""
    if not np.asarray(mask).any():
        return float("nan")
    target = np.asarray(target)
    target_lab = object_lab(target, mask) if target.ndim == 3 else rgb_to_lab(target / 255.0)
    return float(delta_e00(object_lab(edited, mask), target_lab))


def appearance(edited: np.ndarray, oracle: np.ndarray, mask: np.ndarray) -> float:
    """Median per-pixel CIEDE2000 to the oracle over the object's interior: shading, highlights and second
    colors, not only the mean."""
    if not np.asarray(mask).any():
        return float("nan")
    inner = interior(mask)
    lab = [rgb_to_lab(np.asarray(x, dtype=np.float64)[inner] / 255.0) for x in (edited, oracle)]
    return float(np.median(delta_e00(*lab)))


def hue_spread(image: np.ndarray, mask: np.ndarray) -> float:
    """Circular standard deviation (degrees) of the CIELAB hue of the object's chromatic pixels: blotchy or
    iridescent objects spread; 0 when fewer than 5% of its pixels are chromatic."""
    lab = rgb_to_lab(np.asarray(image, dtype=np.float64)[interior(mask)] / 255.0)
    chroma = np.hypot(lab[:, 1], lab[:, 2])
    chromatic = chroma > CHROMATIC
    if chromatic.sum() < max(1, 0.05 * len(lab)):
        return 0.0
    angle = np.arctan2(lab[chromatic, 2], lab[chromatic, 1])
    resultant = np.hypot(np.sin(angle).mean(), np.cos(angle).mean())
    return float(np.degrees(np.sqrt(-2 * np.log(max(resultant, 1e-12)))))
