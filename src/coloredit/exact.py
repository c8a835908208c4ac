"""Exact color: an object's albedo measured from its pixels (`recoloring.py` then lands it on a target albedo).

Why: a diffusion model re-renders an object in roughly the right color; a designer needs exactly the hex.
Pixels of a lit object follow the dichromatic reflection model (Shafer 1985): in linear RGB each pixel of
the object's main color is `shade * albedo + specular * white`. Splitting the object's pixels that way lets
an edit swap the albedo and keep everything else: shading and texture (`shade`), white highlights
(`specular`), and the pixels of any second color (stripes, a logo), which do not fit the main color and are
left as they are. A white highlight on a black or grey object has the object's own chromaticity; it is told
apart by its shape instead, a small bright bump above the shading around it.

What a color means on a shaded object: the **lit albedo**, the main color where the object is fully lit and
not a highlight, measured as the 90th percentile of shade over the main color's pixels. A hex code sets it;
a reference image's object is measured the same way; so a reference object and a hex of its lit albedo ask
for the same edit.

Where the source is too dark for its shading to be read (a black object: 8-bit quantization and noise leave
`shade` unknown), the diffusion model's re-rendering gives the shading: that is where the model earns its place.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from .colors import (
    LINEAR_OF_BYTE,
    chunks,
    hue_distance,
    linear_to_byte,
    linear_to_lab,
    linear_to_srgb,
    rgb_to_lab,
    srgb_to_linear,
)
from .morphology import blocks

LUMA = np.array([0.2126, 0.7152, 0.0722])  # linear-RGB luminance (Rec. 709)
LIT_PERCENTILE = 90.0  # the shade that counts as "fully lit"
FIT_LAB = (8.0, 16.0)  # CIELAB distance from the main-color model: fits fully below, is a second color above
# ... unless it keeps the model's hue (within SAME_HUE[0] degrees it fits, past [1] not), both chromatic (chroma
# over SAME_HUE_CHROMA), its chroma at most SAME_CHROMA_RATIO[0] x less (a white gloss desaturates: highlight,
# not body) and [1] x more (the same pigment, denser: a tabby's orange patches are not a second color)
SAME_HUE, SAME_HUE_CHROMA, SAME_CHROMA_RATIO = (15.0, 30.0), 15.0, (1.5, 3.0)
# a highlight bump: brighter than HIGHLIGHT_BUMP (achromatic object, chromatic object) x the shading that a
# grey-level opening HIGHLIGHT_SPAN of the object's size (square root of its area) wide leaves
HIGHLIGHT_SPAN, HIGHLIGHT_BUMP = 0.5, (1.6, 3.0)
SECOND_COLOR_CHROMA = 12.0  # on an achromatic object, a pixel this much more chromatic is a second color
LIT_HEADROOM = 1.15  # shade above this x the lit level is white highlight, where highlights are read from shape
DARK_LIT = (0.012, 0.05)  # lit luminance below the first: shading unreadable, above the second: read fully


def to_linear(srgb_uint8: np.ndarray) -> np.ndarray:
    values = np.asarray(srgb_uint8)
    if values.dtype == np.uint8:
        return LINEAR_OF_BYTE[values]
    return srgb_to_linear(np.asarray(values, dtype=np.float64) / 255.0)


def to_srgb_uint8(linear: np.ndarray) -> np.ndarray:
    return linear_to_byte(linear)


@dataclass(frozen=True)
class SceneLight:
    """The light at one object (`light.py` estimates it): `k` per channel (its lit color is its base color
    times `k`), and the odds that it is a metal."""

    k: np.ndarray
    metal: float

    @classmethod
    def white(cls) -> SceneLight:
        """The light of a picture whose lit colors are taken as base colors (`scene_light="none"`)."""
        return cls(np.ones(3), 0.0)


@dataclass
class Decomposition:
    """An object's pixels as `shade * albedo + specular`, with which pixels fit its main color."""

    albedo: np.ndarray  # linear RGB of the lit main color
    shade: np.ndarray  # per pixel, 1 = fully lit
    specular: np.ndarray  # per pixel, added white (linear)
    fit: np.ndarray  # per pixel in [0, 1]: how well it is the main color (0: a second color, kept)

    @property
    def lit_luminance(self) -> float:
        return float(self.albedo @ LUMA)

    def srgb(self) -> tuple[int, int, int]:
        return tuple(int(v) for v in to_srgb_uint8(self.albedo))  # type: ignore[return-value]


def _main_chromaticity(pixels: np.ndarray, hint_rgb: tuple[int, int, int] | None = None) -> np.ndarray:
    """The main color's chromaticity (r, g, b) / (r + g + b): a mode of the 2D histogram of the pixels
    bright enough to have one, so that stripes or a logo do not pull it. Of the modes holding at least a
    fifth of the largest one's pixels, the one nearest `hint_rgb` (the color the prompt names) if given,
    else the largest."""
    total = pixels.sum(axis=1)
    usable = total > 0.02
    if usable.sum() < 3:
        return np.full(3, 1 / 3)
    chroma = pixels[usable] / total[usable, None]
    bins = 20
    index = np.clip((chroma[:, :2] * bins).astype(int), 0, bins - 1)
    counts = np.zeros((bins, bins))
    np.add.at(counts, (index[:, 0], index[:, 1]), 1)
    padded = np.pad(counts, 1)
    smooth = sum(padded[1 + dy : 1 + dy + bins, 1 + dx : 1 + dx + bins] for dy in (-1, 0, 1) for dx in (-1, 0, 1))
    modes = []
    for flat in np.argsort(smooth, axis=None)[::-1]:
        peak = np.array(np.unravel_index(flat, smooth.shape))
        if smooth[tuple(peak)] < 0.2 * smooth.max() or len(modes) == 3:
            break
        if all(np.abs(peak - m).max() > 2 for m in modes):
            modes.append(peak)
    members = [(np.abs(index - m).max(axis=1) <= 1) for m in modes]
    if hint_rgb is not None and len(modes) > 1:
        hint = rgb_to_lab(np.array(hint_rgb) / 255.0)
        hint_chroma = to_linear(np.array(hint_rgb, dtype=np.float64))
        hint_chroma = hint_chroma / max(hint_chroma.sum(), 1e-8)

        def distance(near):
            lab = rgb_to_lab(linear_to_srgb(pixels[usable][near])).mean(axis=0)
            return np.hypot(*(lab[1:] - hint[1:])) + 100 * np.abs(np.median(chroma[near], axis=0) - hint_chroma).sum()

        return np.median(chroma[min(members, key=distance)], axis=0)
    return np.median(chroma[members[0]], axis=0)


def _fit_to_model(pixels: np.ndarray, model: np.ndarray, lab: np.ndarray | None = None) -> np.ndarray:
    """1 where a pixel is its main-color model to within noise (CIELAB distance under FIT_LAB[0]), 0 past
    FIT_LAB[1]: perceptual, so that sensor noise on dark pixels does not read as a second color. A pixel of
    the model's hue and about its chroma fits too, however far: generated and photographed objects drift in
    hue and saturation across their shading (an orange whose lit side turns yellow), which one chromaticity
    cannot follow and which must not be kept as a second color; stripes and logos differ in hue or chroma.
    `lab`, the pixels' own CIELAB (`_lab_of`), saves computing it again for each model."""
    lab = _lab_of(pixels) if lab is None else lab
    lab_model = _lab_of(model)
    distance = np.linalg.norm(lab - lab_model, axis=1)
    fit = np.clip((FIT_LAB[1] - distance) / (FIT_LAB[1] - FIT_LAB[0]), 0.0, 1.0)
    chroma, chroma_model = np.hypot(lab[:, 1], lab[:, 2]), np.hypot(lab_model[:, 1], lab_model[:, 2])
    ratio = np.log(np.maximum(chroma, 1e-6) / np.maximum(chroma_model, 1e-6))
    less, more = np.log(SAME_CHROMA_RATIO)
    alike = (np.minimum(chroma, chroma_model) > SAME_HUE_CHROMA) & (-less < ratio) & (ratio < more)
    hue = hue_distance(
        np.degrees(np.arctan2(lab[:, 2], lab[:, 1])), np.degrees(np.arctan2(lab_model[:, 2], lab_model[:, 1]))
    )
    same_hue = np.clip((SAME_HUE[1] - hue) / (SAME_HUE[1] - SAME_HUE[0]), 0.0, 1.0)
    return np.maximum(fit, np.where(alike, same_hue, 0.0))


def _lab_of(linear: np.ndarray) -> np.ndarray:
    return linear_to_lab(np.clip(linear, 0.0, 1.0))


def object_box(mask: np.ndarray, margin: int) -> tuple[slice, slice]:
    """The mask's bounding box grown by `margin` pixels (clipped to the picture); the mask is not empty."""
    rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    return (
        slice(max(rows[0] - margin, 0), rows[-1] + margin + 1),
        slice(max(cols[0] - margin, 0), cols[-1] + margin + 1),
    )


BAND_PIXELS = 1 << 20  # a filter over an object's box is run on bands of about this many pixels at a time


def filtered_in_bands(
    values: np.ndarray, inside: np.ndarray, reach: int, smooth: Callable[[np.ndarray, np.ndarray], np.ndarray]
) -> np.ndarray:
    """`smooth(plane, inside)[inside]`, where `plane` holds `values` at the pixels `inside` (in `np.nonzero`
    order) and 0 elsewhere, for a filter that reads `reach` rows either side: computed a band of rows at a
    time, each with the rows its filter reads, so the same numbers, without a photo's box-sized planes."""
    starts = np.concatenate([[0], np.cumsum(inside.sum(axis=1))])  # where each row's pixels begin in `values`
    out = np.empty(len(values), dtype=values.dtype)
    rows = max(1, BAND_PIXELS // inside.shape[1])
    for top in range(0, len(inside), rows):
        bottom = min(top + rows, len(inside))
        low, high = max(top - reach, 0), min(bottom + reach, len(inside))
        plane = np.zeros(inside[low:high].shape, dtype=values.dtype)
        plane[inside[low:high]] = values[starts[low] : starts[high]]
        band = smooth(plane, inside[low:high])[top - low : bottom - low]
        out[starts[top] : starts[bottom]] = band[inside[top:bottom]]
    return out


def _smooth_fit(fit: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """The fit as a map, with a 3x3 median inside the object: no speckles. (On the object's box, with a
    margin: the same values as on the whole picture, at the object's cost.)"""
    from scipy import ndimage

    inside = mask[object_box(mask, 2)]
    return filtered_in_bands(fit, inside, 1, lambda plane, _: ndimage.median_filter(plane, size=3))


def smooth_in(values: np.ndarray, mask: np.ndarray, sigma: float = 1.5) -> np.ndarray:
    """Gaussian smoothing of per-pixel values over the object only (normalized convolution)."""
    from scipy import ndimage

    def normalized(plane: np.ndarray, where: np.ndarray) -> np.ndarray:
        weight = ndimage.gaussian_filter(where.astype(np.float64), sigma)
        return ndimage.gaussian_filter(plane, sigma) / np.maximum(weight, 1e-8)

    return filtered_in_bands(values, np.asarray(mask, dtype=bool), int(4.0 * sigma + 0.5), normalized)


WORKING_PIXELS = 1 << 18  # an object of more pixels has its main color fitted on an even sample of this many


def _highlight_bumps(shade: np.ndarray, mask: np.ndarray, main: np.ndarray, bump: float) -> np.ndarray:
    """Per pixel: part of a highlight, a small bright spot standing `bump` times above the shading around it
    (what a grey-level opening of the `main` color's pixels, HIGHLIGHT_SPAN of the object's size, leaves). A
    white highlight on a grey object has the object's own chromaticity, so the chromatic unmixing cannot see
    it; its shape can. `main` holds at least one pixel."""
    from scipy import ndimage

    box = object_box(mask, 0)
    inside = mask[box]
    side = int(HIGHLIGHT_SPAN * np.sqrt(inside.sum())) | 1
    if side < 3:
        return np.zeros(len(shade), dtype=bool)
    # single precision: the opening picks values, it computes none (a photo's object box holds millions). A
    # large box is opened on blocks of `step` x `step` pixels (their least shade), the span in blocks: an
    # opening this wide is as smooth as the blocks are small (a photo's object: a few pixels a block)
    step = int(np.ceil(np.sqrt(inside.size / WORKING_PIXELS)))
    height, width = inside.shape
    padded = (-(-height // step) * step, -(-width // step) * step)  # whole blocks, no padded copy
    plane, where = np.full(padded, np.inf, dtype=np.float32), np.zeros(padded, dtype=bool)
    plane[:height, :width][inside], where[:height, :width][inside] = np.where(main, shade, np.inf), main
    plane, where = blocks(plane, step, np.min), blocks(where, step, np.any)
    span = -(-side // step) | 1
    eroded = ndimage.minimum_filter(plane, size=span, mode="nearest")
    del plane
    eroded[~where] = 0.0
    opened_blocks = ndimage.maximum_filter(eroded, size=span, mode="nearest")
    opened = np.empty(len(shade), dtype=np.float32)  # each pixel its block's, a row of blocks at a time
    done = 0
    for row, values in enumerate(opened_blocks):
        rows = inside[row * step : (row + 1) * step]
        count = int(rows.sum())
        opened[done : done + count] = np.broadcast_to(np.repeat(values, step)[:width], rows.shape)[rows]
        done += count
    # never below the main color's median shade: near-black stripes can fit a dark main color's model, and
    # their zero shade would make every pixel beside them a bump
    return shade > bump * np.maximum(opened, np.median(shade[main]))


def _shade_and_fit(
    pixels: np.ndarray,
    direction: np.ndarray,
    achromatic: bool,
    lab: np.ndarray | None = None,
    which: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per pixel: the shade of `pixel = shade * direction` (by projection), how well the pixel fits that model,
    and whether it counts as the main color (all pixels where fewer than three fit). With `which`, `pixels`
    are distinct colors and `which` says each pixel's (`distinct_colors`). Single precision: 8-bit colors."""
    shade = np.clip(pixels @ direction / (direction @ direction), 0, None)
    fit = np.ones(len(pixels)) if achromatic else _fit_to_model(pixels, shade[:, None] * direction, lab)
    shade, fit = shade.astype(np.float32), fit.astype(np.float32)
    if which is not None:
        shade, fit = shade[which], fit[which]
    main = fit > 0.5
    if main.sum() < 3:
        main = np.ones(len(pixels), dtype=bool)
    return shade, fit, main


class MainColor(NamedTuple):
    """What `_main_direction` found over the pixels it was given: the direction its last fit was made with,
    the direction that fit gave, whether the object is achromatic, the pixels' CIELAB (None if achromatic),
    and that last fit's per-pixel shade, fit and main-color pixels."""

    fitted: np.ndarray
    direction: np.ndarray
    achromatic: bool
    lab: np.ndarray | None
    last: tuple[np.ndarray, np.ndarray, np.ndarray]


def _main_direction(pixels: np.ndarray, hint_rgb: tuple[int, int, int] | None) -> MainColor:
    """The main color's linear RGB at unit luminance, refit from the pixels that fit it."""
    direction = _main_chromaticity(pixels, hint_rgb)
    direction = direction / (direction @ LUMA)  # unit luminance
    achromatic = bool(np.ptp(direction) < 0.15)
    fitted, lab = direction, None if achromatic else _lab_of(pixels)
    for _ in range(3):  # pixel = shade * direction: the shade by projection, the direction from the fitting pixels
        fitted = direction
        last = _shade_and_fit(pixels, fitted, achromatic, lab)
        if achromatic:
            break
        shade, _, main = last
        direction = np.clip(pixels[main].sum(axis=0) / max(shade[main].sum(), 1e-8), 1e-6, None)
        direction = direction / (direction @ LUMA)
    return MainColor(fitted, direction, achromatic, lab, last)


def distinct_colors(srgb_uint8: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(the distinct colors of N x 3 8-bit pixels, in linear light; each pixel's index among them): a large
    photo's object has several times fewer colors than pixels."""
    codes = srgb_uint8[:, 0].astype(np.int32)  # 0xRRGGBB, built in place: a photo's object has millions
    codes <<= 8
    codes |= srgb_uint8[:, 1]
    codes <<= 8
    codes |= srgb_uint8[:, 2]
    distinct = np.unique(codes)
    # each pixel's color found a slice at a time (np.unique's own inverse takes several int64 copies)
    which = np.empty(len(codes), dtype=np.int32)
    for part in chunks(len(codes)):
        which[part] = np.searchsorted(distinct, codes[part])
    channels = np.stack([distinct >> 16, (distinct >> 8) & 255, distinct & 255], axis=-1).astype(np.uint8)
    return to_linear(channels), which


def decompose(image: np.ndarray, mask: np.ndarray, hint_rgb: tuple[int, int, int] | None = None) -> Decomposition:
    """Split the masked pixels of an sRGB image (H x W x 3 uint8) into shade, albedo and specular; `hint_rgb`
    (the color the prompt names) picks the main color where the object has several."""
    mask = np.asarray(mask, dtype=bool)
    object_bytes = np.asarray(image)[mask]
    # the main color is fitted on an even sample of a large object's pixels; each pixel then reads its own
    sample = to_linear(object_bytes[:: -(-len(object_bytes) // WORKING_PIXELS)])
    found = _main_direction(sample, hint_rgb)
    direction, achromatic = found.direction, found.achromatic
    if len(sample) == len(object_bytes):  # every pixel was in the fit: its last round is theirs
        colors, lab, which, (shade, fit, main) = sample, found.lab, None, found.last
    else:  # a pixel's shade and fit are its color's: computed once per color
        colors, which = distinct_colors(object_bytes)
        lab = None if achromatic else _lab_of(colors)
        shade, fit, main = _shade_and_fit(colors, found.fitted, achromatic, lab, which)

    def per_pixel(values: np.ndarray) -> np.ndarray:  # a value per color, as one per pixel
        return values if which is None else values[which]

    specular = np.zeros(len(object_bytes), dtype=np.float32)
    if not achromatic:  # highlights: small bright spots the shade alone misses, unmixed into shade + white
        lit_now = np.percentile(shade[main], LIT_PERCENTILE)
        bright = (fit < 1) & per_pixel(colors @ LUMA > 0.6 * lit_now)
        if bright.any():
            index = np.flatnonzero(bright)
            bright_colors = colors[index] if which is None else colors[which[index]]
            basis = np.stack([direction, np.ones(3)], axis=1)
            coef = np.linalg.lstsq(basis, bright_colors.T, rcond=None)[0].T
            unmixed = np.clip(coef, 0, None)
            bright_lab = lab[index] if which is None else lab[which[index]]  # `lab` is per pixel or per color
            better = _fit_to_model(bright_colors, unmixed[:, :1] * direction + unmixed[:, 1:], bright_lab)
            take = better > fit[bright]
            index = index[take]
            shade[index], specular[index], fit[index] = unmixed[take, 0], unmixed[take, 1], better[take]
            main = fit > 0.5
    bumps = _highlight_bumps(shade, mask, main, HIGHLIGHT_BUMP[0 if achromatic else 1])
    body = main & ~bumps
    lit = max(float(np.percentile(shade[body if body.sum() >= 3 else main], LIT_PERCENTILE)), 1e-6)
    # white above LIT_HEADROOM x the lit level: on an achromatic object all of it is highlight; on a chromatic
    # one, what the unmixing left in the bumps (on a dark object noise hides a highlight's chromaticity)
    glare = np.clip(shade - np.float32(LIT_HEADROOM * lit), 0, None) * (np.float32(1) if achromatic else bumps)
    specular += glare  # in place: a photo's object has millions of pixels
    shade -= glare
    del glare
    if achromatic:  # a second color is far off in lightness, or in chroma
        typical = np.median(shade[main])
        far_in_lightness = np.abs(np.log((shade + 1e-4) / (typical + 1e-4))) > 1.6
        lab, lab_model = (linear_to_lab(np.clip(v, 0.0, 1.0)) for v in (colors, typical * direction))
        colorful = per_pixel(np.hypot(lab[:, 1], lab[:, 2])) - np.hypot(*lab_model[1:]) > SECOND_COLOR_CHROMA
        fit = np.where(far_in_lightness | colorful, 0.0, 1.0)
    fit = _smooth_fit(fit.astype(np.float32, copy=False), mask)
    shade /= np.float32(lit)
    return Decomposition(albedo=direction * lit, shade=shade, specular=specular, fit=fit)


def lit_albedo(
    image: np.ndarray, mask: np.ndarray, hint_rgb: tuple[int, int, int] | None = None
) -> tuple[int, int, int]:
    """The sRGB (0-255) lit color of the masked object: its main color where fully lit, the light included."""
    return decompose(*at_working_size(image, mask), hint_rgb).srgb()


def at_working_size(image: np.ndarray, mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The image and mask on an even grid of every k-th row and column, k the least that leaves the object
    at most about WORKING_PIXELS: where one color is read off an object, a large photo's pixels add nothing."""
    mask = np.asarray(mask, dtype=bool)
    step = int(np.ceil(np.sqrt(mask.sum() / WORKING_PIXELS)))
    return (image, mask) if step <= 1 else (np.asarray(image)[::step, ::step], mask[::step, ::step])


def base_color(
    image: np.ndarray,
    mask: np.ndarray,
    hint_rgb: tuple[int, int, int] | None = None,
    scene_light: SceneLight | None = None,
) -> tuple[int, int, int]:
    """The sRGB (0-255) base color of the masked object: its lit color with the scene's light (`light.py`;
    when None, white of level 1, as `recolor` takes it) divided out. What a hex code of its color means, and
    what a reference image asks for."""
    scene_light = scene_light if scene_light is not None else SceneLight.white()
    lit = decompose(*at_working_size(image, mask), hint_rgb).albedo
    return tuple(int(v) for v in to_srgb_uint8(np.clip(lit / scene_light.k, 0.0, 1.0)))  # type: ignore[return-value]
