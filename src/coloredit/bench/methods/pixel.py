"""The pixel-space baselines, which need no model: every color number is put beside the simplest edit that
could reach it (a CIELAB mean shift, Reinhard's transfer, a hue slider) and beside the exact engine alone."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from ...colors import lab_to_rgb, prompt_color, rgb_to_lab
from ..manifest import Sample

EXACT_LIGHTS = {"exact": "none", "exact-color": "color", "exact-light": "auto"}  # the engine, by scene_light


def pixel_edit(
    kind: str,
    image: np.ndarray,
    mask: np.ndarray,
    target_rgb: tuple[int, int, int],
    reference: np.ndarray | None = None,
    reference_mask: np.ndarray | None = None,
    hint_rgb: tuple[int, int, int] | None = None,
) -> np.ndarray:
    """The image with the masked object recolored by baseline `kind`: to the hex `target_rgb`, or, when a
    `reference` image is given, to its object (over `reference_mask`, else its salient object)."""
    from ...exact import base_color, pixel_hue, pixel_mean_shift, pixel_reinhard, recolor
    from ...light import scene_light
    from ...masks import salient_object

    if reference is not None and reference_mask is None:
        reference_mask = salient_object(reference)
    if reference is None:
        mean, std = rgb_to_lab(np.array(target_rgb, dtype=np.float64) / 255.0), None
    else:
        lab = rgb_to_lab(reference[reference_mask] / 255.0)
        mean, std = lab.mean(axis=0), lab.std(axis=0)
    if kind == "mean":
        return pixel_mean_shift(image, mask, mean)
    if kind == "ab":
        return pixel_mean_shift(image, mask, mean, keep_lightness=True)
    if kind == "reinhard":
        return pixel_reinhard(image, mask, mean, rgb_to_lab(image[mask] / 255.0).std(axis=0) if std is None else std)
    if kind == "hue":
        return pixel_hue(image, mask, tuple(int(v) for v in (lab_to_rgb(mean) * 255).round()))
    if kind in EXACT_LIGHTS:
        light = EXACT_LIGHTS[kind]
        seen_in = None if reference is None else scene_light(reference, reference_mask, mode=light)
        target = target_rgb if reference is None else base_color(reference, reference_mask, scene_light=seen_in)
        return recolor(image, mask, target, hint_rgb=hint_rgb, scene_light=scene_light(image, mask, hint_rgb, light))
    raise ValueError(f"unknown pixel baseline {kind!r}")


@dataclass
class PixelMethod:
    """A pixel baseline as a benchmark method: the pipeline is not used, the source is edited as given."""

    name: str
    description: str
    kind: str

    def edit(self, pipe, sample: Sample, root: Path, overrides: dict | None = None) -> Image.Image:
        image = np.asarray(Image.open(sample.path(root, "source")).convert("RGB"))
        mask = np.asarray(Image.open(sample.path(root, "mask")).convert("L")) > 127
        reference = reference_mask = None
        if sample.target_kind == "reference":
            reference = np.asarray(Image.open(sample.path(root, "reference")).convert("RGB"))
            if sample.reference_mask:
                reference_mask = np.asarray(Image.open(sample.path(root, "reference_mask")).convert("L")) > 127
        hint = prompt_color(sample.source_prompt)
        return Image.fromarray(pixel_edit(self.kind, image, mask, sample.target_rgb, reference, reference_mask, hint))


PIXEL_METHODS = (
    PixelMethod("pixel-lab-mean", "baseline: shift the object's CIELAB mean to the target's", "mean"),
    PixelMethod("pixel-reinhard", "baseline: Reinhard transfer, CIELAB mean and spread to the target's", "reinhard"),
    PixelMethod("pixel-hsv-hue", "baseline: the object's HSV hue set to the target's, S and V kept", "hue"),
    PixelMethod("exact", "the exact-color engine alone, no diffusion", "exact"),
    PixelMethod("exact-color", "the engine alone, the light's color estimated (scene_light=color)", "exact-color"),
    PixelMethod("exact-light", "the engine alone, the light's color and level read (scene_light=auto)", "exact-light"),
)
