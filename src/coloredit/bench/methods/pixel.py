"""The pixel-space baselines (`coloredit.baselines`) as benchmark methods: the pipeline is not used."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from ...baselines import pixel_edit
from ...colors import prompt_color
from ...config import preset
from ..manifest import Sample
from .base import Edited


@dataclass
class PixelMethod:
    """A pixel baseline as a benchmark method: the pipeline is not used, the source is edited as given."""

    name: str
    description: str
    kind: str

    def feather(self, overrides: dict | None = None) -> float:
        """Judged past the default's feather, as the method they stand beside (they change the mask only)."""
        return preset().feather

    def edit(self, pipe, sample: Sample, root: Path, overrides: dict | None = None) -> Edited:
        image = np.asarray(Image.open(sample.path(root, "source")).convert("RGB"))
        mask = np.asarray(Image.open(sample.path(root, "mask")).convert("L")) > 127
        reference = reference_mask = None
        if sample.target_kind == "reference":
            reference = np.asarray(Image.open(sample.path(root, "reference")).convert("RGB"))
            if sample.reference_mask:
                reference_mask = np.asarray(Image.open(sample.path(root, "reference_mask")).convert("L")) > 127
        hint = prompt_color(sample.source_prompt)
        edited = pixel_edit(self.kind, image, mask, sample.target_rgb, reference, reference_mask, hint)
        return Edited(Image.fromarray(edited))


PIXEL_METHODS = (
    PixelMethod("pixel-lab-mean", "baseline: shift the object's CIELAB mean to the target's", "mean"),
    PixelMethod("pixel-reinhard", "baseline: Reinhard transfer, CIELAB mean and spread to the target's", "reinhard"),
    PixelMethod("pixel-ab-shift", "baseline: shift the object's CIELAB a*b* mean to the target's, L* kept", "ab"),
    PixelMethod("pixel-hsv-hue", "baseline: the object's HSV hue set to the target's, S and V kept", "hue"),
    PixelMethod("exact", "the exact-color engine alone, no diffusion", "exact"),
    PixelMethod("exact-color", "the engine alone, the light's color estimated (scene_light=color)", "exact-color"),
    PixelMethod("exact-light", "the engine alone, the light's color and level read (scene_light=auto)", "exact-light"),
)
