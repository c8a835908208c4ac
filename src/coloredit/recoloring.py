"""Recoloring: the object's base color swapped for a target's, everything else of its pixels kept.

Why a module: `exact.py` reads an object's pixels as `shade * albedo + specular` (its `Decomposition`); this is
the edit made with that reading, the light's color and level, bounce, highlights and second colors kept, a
metal's reflections tinted, the outline unmixed (`outline.py`). One `Recoloring` is prepared per object and
serves every color of a colorway.
"""

from __future__ import annotations

from functools import cached_property

import numpy as np

from .colors import LINEAR_OF_BYTE, LinearOf, chunks
from .config import MATERIALS
from .exact import DARK_LIT, LUMA, Decomposition, SceneLight, decompose, object_box, smooth_in, to_linear, to_srgb_uint8
from .outline import Outline

OUTLINE_REACH = 8  # pixels past the mask that recolor reads: the outline band (1) + its local means' window (7)


def recolor(
    image: np.ndarray,
    mask: np.ndarray,
    target_rgb: tuple[int, int, int],
    rendered: np.ndarray | None = None,
    hint_rgb: tuple[int, int, int] | None = None,
    source: Decomposition | None = None,
    scene_light: SceneLight | None = None,
    material: str = "auto",
) -> np.ndarray:
    """The image with the masked object's base color set to `target_rgb`, seen under the scene's light
    (`scene_light`, a `light.SceneLight`: `light.estimate(image, mask)`; when None, white of level 1, the lit
    color taken as the base color, as `EditConfig.scene_light` defaults): its colored shading, highlights
    and second colors kept. A dielectric's white highlights stay in the light's color; a metal's
    reflections take the new tint (`material`: auto, dielectric or metal). Where the source is too dark to
    read its shading, `rendered` (the diffusion model's re-rendering, same size) gives it. Pixels that mix
    object and background along the outline (one pixel either side of the mask's edge) change by their share
    of object; every other pixel outside the mask is returned unchanged. `source`, the object's `decompose`
    (with `hint_rgb`), saves computing it again. Many colors of one object: `Recoloring`."""
    return pasted(image, Recoloring(image, mask, source, hint_rgb, scene_light, material).patch(target_rgb, rendered))


def pasted(image: np.ndarray, patch: tuple[tuple[int, int], np.ndarray] | None) -> np.ndarray:
    """A copy of the image with `Recoloring.patch`'s pixels written in at their place (None: nothing changed)."""
    out = np.array(image, copy=True)
    if patch is not None:
        (left, top), pixels = patch
        out[top : top + len(pixels), left : left + pixels.shape[1]] = pixels
    return out


RELIABLE_CHANNEL = (0.05, 0.15)  # a channel of the lit color below the first share of its largest shows no light
# color of its own, above the second it shows it fully


def _colored_shade(pixels: np.ndarray, shade: np.ndarray, specular: np.ndarray, albedo: np.ndarray) -> np.ndarray:
    """Per pixel and channel, the light on the object relative to its lit part: the scalar shade times how
    the light's color departs from the lit part's there (bounce from a colored wall, a shadow lit by the
    sky). Read in the channels the object reflects well; in those it hardly reflects (the green of a red
    object) the departure is noise, and the scalar shade stands alone. For some of the object's pixels (8-bit
    sRGB) and their `decompose` shade and specular, its lit `albedo`: computed a slice at a time, not kept."""
    share = albedo / max(float(albedo.max()), 1e-8)
    reliable = np.clip((share - RELIABLE_CHANNEL[0]) / (RELIABLE_CHANNEL[1] - RELIABLE_CHANNEL[0]), 0.0, 1.0)
    body = np.clip(LINEAR_OF_BYTE[pixels] - specular[:, None], 0.0, None)
    expected = np.maximum(shade[:, None] * albedo, 1e-6)
    departure = np.log(np.clip(body / expected, 0.2, 5.0))
    return shade[:, None] * np.exp(reliable * departure)


class Recoloring:
    """One object's recolor, prepared once for all its colors (`recolor` explains the edit): what every color
    shares, the object's box and its pixels, and its outline's unmixing, is computed here; `patch` then costs
    a few operations per pixel. Only the object's box (plus OUTLINE_REACH pixels) is read and kept (a copy, so
    that a photo's crop need not outlive its recolor), so the cost follows the object, not the photo."""

    def __init__(
        self,
        image: np.ndarray,
        mask: np.ndarray,
        source: Decomposition | None = None,
        hint_rgb: tuple[int, int, int] | None = None,
        scene_light: SceneLight | None = None,
        material: str = "auto",
    ):
        if material not in MATERIALS:
            raise ValueError(f"material must be one of {', '.join(MATERIALS)}, not {material!r}")
        image, mask = np.asarray(image), np.asarray(mask, dtype=bool)
        self.empty = not mask.any()
        if self.empty:
            return
        self.scene_light = scene_light if scene_light is not None else SceneLight.white()
        self.metal = material == "metal" or (material == "auto" and self.scene_light.metal > 0.5)
        self.box = object_box(mask, OUTLINE_REACH)
        self.mask, self.box_pixels = mask[self.box].copy(), image[self.box].copy()
        self.source = source if source is not None else decompose(self.box_pixels, self.mask, hint_rgb)
        self.pixels = self.box_pixels[self.mask]  # 8-bit: linear light is looked up a slice at a time
        self.outline = Outline(LinearOf(self.box_pixels), self.mask)

    @cached_property
    def smoothed_shade(self) -> np.ndarray:
        """The source's shade smoothed over the object, for the colors that brighten a dark one: once per object."""
        return smooth_in(self.source.shade, self.mask)

    def patch(
        self, target_rgb: tuple[int, int, int], rendered: np.ndarray | None = None
    ) -> tuple[tuple[int, int], np.ndarray] | None:
        """((x, y), pixels): what the recolor to `target_rgb` changes, the object's box, and where it lies in the
        image (`pasted` writes it in; None for an empty mask); `rendered`: the model's re-rendering, the image's
        size. A colorway held in memory at the object's size, not the photo's."""
        if self.empty:
            return None
        source, mask = self.source, self.mask
        target_lit = to_linear(np.array(target_rgb, dtype=np.float64)) * self.scene_light.k  # in this light
        shade, specular = source.shade, source.specular
        # A dark source's shade is mostly noise, and brightening it amplifies that noise: smooth it by how
        # much the target's lightness amplifies it, and below DARK_LIT take the re-rendered shading instead.
        amplification = (target_lit @ LUMA) / max(source.lit_luminance, 1e-6)
        smoothing = float(np.clip((amplification - 2.0) / 4.0, 0.0, 1.0))
        if smoothing > 0:
            shade = (1 - smoothing) * shade + smoothing * self.smoothed_shade
        trust = float(np.clip((source.lit_luminance - DARK_LIT[0]) / (DARK_LIT[1] - DARK_LIT[0]), 0.0, 1.0))
        if rendered is not None and trust < 1:
            render = decompose(np.asarray(rendered)[self.box], mask)
            shade = trust * shade + (1 - trust) * smooth_in(render.shade, mask)
            specular = trust * specular + (1 - trust) * render.specular
        change = shade / np.maximum(source.shade, 1e-6)
        # no diffuse color on a metal: every reflection is the room times the tint, highlights included
        highlight = target_lit / max(source.lit_luminance, 1e-6) if self.metal else np.ones(3)
        # a metal's pixels are all the room times its tint (reflections of colored walls are no second color)
        fit = np.ones_like(source.fit) if self.metal else source.fit

        def edited(part: slice | np.ndarray) -> np.ndarray:  # the object's pixels `part`, recolored (linear)
            colored = _colored_shade(self.pixels[part], source.shade[part], source.specular[part], source.albedo)
            recolored = colored * change[part, None] * target_lit + specular[part, None] * highlight
            return fit[part, None] * recolored + (1 - fit[part, None]) * LINEAR_OF_BYTE[self.pixels[part]]

        pixels = np.empty_like(self.pixels)
        for part in chunks(len(pixels)):  # a few pixel rows' worth at a time: a photo's temporaries stay small
            pixels[part] = to_srgb_uint8(edited(part))
        box = self.box_pixels.copy()  # the object's pixels, then its outline's, are written into it
        box[mask] = pixels
        box[self.outline.band] = to_srgb_uint8(self.outline.unmix(edited(self.outline.reads)))
        return (self.box[1].start, self.box[0].start), box
