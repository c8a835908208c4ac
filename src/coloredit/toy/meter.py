"""An albedo meter: which base color the toy renderer would have drawn an object with, read from its pixels.

Edits of generated images have no oracle render, so their color is read instead: a ridge regression from the
object's pixel statistics (linear-RGB quantiles per channel) to the renderer's base color, fitted on renders
of seeds no other set uses. It is learned from the renderer's ground truth, apart from `exact.lit_albedo`
(the hand-made estimate the edit itself uses), and its own error on held-out renders is part of every
report that uses it.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from tqdm import tqdm

from ..colors import delta_e00, linear_to_srgb, rgb_to_lab
from ..exact import to_linear
from ..measure import interior
from .render import Scene, render

METER_SEED = 95_000_000  # renders the meter is fitted on; no other set draws from this range
HELD_OUT_SEED = 96_000_000  # renders its error is measured on
QUANTILES = (5, 10, 25, 50, 75, 90, 95)
RIDGE = 1e-4


def features(image: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Per-channel linear-RGB quantiles of the object's interior, and a constant."""
    pixels = to_linear(np.asarray(image)[interior(np.asarray(mask, dtype=bool))])
    return np.append(np.percentile(pixels, QUANTILES, axis=0).ravel(), 1.0)


@dataclass(frozen=True)
class AlbedoMeter:
    weights: np.ndarray  # features x 3: linear RGB

    def read(self, image: np.ndarray, mask: np.ndarray) -> np.ndarray:
        """The object's base color as CIELAB."""
        linear = np.clip(features(image, mask) @ self.weights, 0.0, 1.0)
        return rgb_to_lab(linear_to_srgb(linear))


def _single_color_renders(seed: int, count: int, style: str, desc: str) -> Iterator[Scene]:
    """Renders `seed`, ... of `style` whose first object has one color (every material, background and
    photo defect)."""
    for s in tqdm(range(seed, seed + count), desc=desc, mininterval=5):
        yield render(s, style=style, pattern=None)


def fit_meter(count: int = 1500, seed: int = METER_SEED, style: str = "v2") -> AlbedoMeter:
    """Fit on `count` renders' first objects."""
    rows, targets = [], []
    for scene in _single_color_renders(seed, count, style, "albedo meter"):
        rows.append(features(scene.image, scene.mask))
        targets.append(to_linear(np.array(scene.spec.objects[0].color, dtype=np.uint8)))
    x, y = np.array(rows), np.array(targets)
    return AlbedoMeter(np.linalg.solve(x.T @ x + RIDGE * np.eye(x.shape[1]), x.T @ y))


@lru_cache(maxsize=1)
def shared_meter() -> AlbedoMeter:
    """The meter the reports use, fitted once a process (~1 min)."""
    return fit_meter()


def held_out_error(meter: AlbedoMeter, count: int = 200, style: str = "v2") -> tuple[float, float]:
    """(median, p90) ΔE00 of the meter's reading against the base color of held-out renders."""
    errors = [
        delta_e00(meter.read(scene.image, scene.mask), rgb_to_lab(np.array(scene.spec.objects[0].color) / 255.0))
        for scene in _single_color_renders(HELD_OUT_SEED, count, style, "albedo meter's error")
    ]
    return float(np.median(errors)), float(np.percentile(errors, 90))
