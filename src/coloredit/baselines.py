"""The pixel-space baselines, which need no model: every color number is put beside the simplest edit that
could reach it (a CIELAB mean shift, Reinhard's transfer, a hue slider) and beside the exact engine alone.
The benchmark's pixel methods and the toy world's ablation both run them.
"""

from __future__ import annotations

import numpy as np

from .colors import hsv_to_rgb, lab_to_rgb, rgb_to_hsv, rgb_to_lab

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
    from .exact import base_color
    from .light import scene_light
    from .masks import salient_object
    from .recoloring import recolor

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


def pixel_mean_shift(image: np.ndarray, mask: np.ndarray, target_lab: np.ndarray, keep_lightness: bool = False):
    """Baseline: shift the object's pixels in CIELAB so their mean is `target_lab` (a*b* only if
    `keep_lightness`)."""
    image, mask = np.asarray(image), np.asarray(mask, dtype=bool)
    lab = rgb_to_lab(image[mask] / 255.0)
    shift = np.asarray(target_lab, dtype=np.float64) - lab.mean(axis=0)
    if keep_lightness:
        shift[0] = 0.0
    out = image.copy()
    out[mask] = (lab_to_rgb(lab + shift) * 255).round().astype(np.uint8)
    return out


def pixel_reinhard(image: np.ndarray, mask: np.ndarray, target_mean: np.ndarray, target_std: np.ndarray):
    """Baseline: Reinhard et al. (2001) color transfer in CIELAB: the object's per-channel mean and std
    matched to the target's."""
    image, mask = np.asarray(image), np.asarray(mask, dtype=bool)
    lab = rgb_to_lab(image[mask] / 255.0)
    scaled = (lab - lab.mean(axis=0)) / np.maximum(lab.std(axis=0), 1e-6) * np.asarray(target_std) + target_mean
    out = image.copy()
    out[mask] = (lab_to_rgb(scaled) * 255).round().astype(np.uint8)
    return out


def pixel_hue(image: np.ndarray, mask: np.ndarray, target_rgb: tuple[int, int, int]):
    """Baseline: the object's HSV hue set to the target's, its saturation and value kept (what a photo
    editor's hue slider does)."""
    image, mask = np.asarray(image), np.asarray(mask, dtype=bool)
    hsv = rgb_to_hsv(image[mask] / 255.0)
    hsv[:, 0] = rgb_to_hsv(np.array(target_rgb, dtype=np.float64) / 255.0)[0]
    out = image.copy()
    out[mask] = (hsv_to_rgb(hsv) * 255).round().astype(np.uint8)
    return out
