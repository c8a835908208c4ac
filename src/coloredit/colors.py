"""Color specs, hue/HSV math and color names: the only place hue arithmetic lives."""

from __future__ import annotations

import re

import numpy as np
from PIL import ImageColor

from .errors import ColorEditError

RGB = tuple[int, int, int]

# Nominal hues (degrees) of the chromatic color words the models know best; shared by the toy world.
NAMED_HUES: dict[str, float] = {
    "red": 0.0,
    "orange": 28.0,
    "yellow": 55.0,
    "green": 120.0,
    "cyan": 185.0,
    "blue": 225.0,
    "purple": 272.0,
    "pink": 320.0,
}
ACHROMATIC = ("black", "white", "gray")

# Words treated as color words in prompts: basic names, their variants and every CSS color name.
COLOR_WORDS: frozenset[str] = frozenset(
    set(NAMED_HUES)
    | set(ACHROMATIC)
    | {"grey", "brown", "violet", "magenta", "turquoise", "teal", "golden", "silver", "beige", "maroon"}
    | set(ImageColor.colormap)
)


def parse_color(spec: str) -> RGB:
    """RGB of a CSS color name, `#rrggbb`/`#rgb`, or `r,g,b` (0-255); ColorEditError otherwise."""
    text = spec.strip().lower()
    triple = re.fullmatch(r"\(?\s*(\d{1,3})\s*,\s*(\d{1,3})\s*,\s*(\d{1,3})\s*\)?", text)
    if triple:
        values = tuple(int(v) for v in triple.groups())
        if max(values) > 255:
            raise ColorEditError(f"color {spec!r}: r,g,b values must be 0-255")
        return values  # type: ignore[return-value]
    if re.fullmatch(r"#[0-9a-f]{3}|#[0-9a-f]{6}", text) or text.replace(" ", "") in ImageColor.colormap:
        r, g, b = ImageColor.getrgb(text.replace(" ", ""))[:3]
        return (r, g, b)
    raise ColorEditError(f"unknown color {spec!r}: give a CSS color name, #rrggbb or r,g,b")


def rgb_to_hsv(rgb: np.ndarray) -> np.ndarray:
    """HSV of RGB values in [0, 1] (last axis), hue in degrees [0, 360), S and V in [0, 1]."""
    rgb = np.asarray(rgb, dtype=np.float64)
    r, g, b = rgb[..., 0], rgb[..., 1], rgb[..., 2]
    value = rgb.max(axis=-1)
    chroma = value - rgb.min(axis=-1)
    safe = np.where(chroma > 0, chroma, 1.0)
    hue = np.where(value == r, ((g - b) / safe) % 6.0, np.where(value == g, (b - r) / safe + 2.0, (r - g) / safe + 4.0))
    hue = np.where(chroma > 0, hue * 60.0, 0.0) % 360.0
    saturation = np.where(value > 0, chroma / np.where(value > 0, value, 1.0), 0.0)
    return np.stack([hue, saturation, value], axis=-1)


def hsv_to_rgb(hsv: np.ndarray) -> np.ndarray:
    """Inverse of `rgb_to_hsv`: RGB in [0, 1]."""
    hsv = np.asarray(hsv, dtype=np.float64)
    h, s, v = hsv[..., 0] % 360.0 / 60.0, hsv[..., 1], hsv[..., 2]
    k = lambda n: (n + h) % 6.0  # noqa: E731
    f = lambda n: v - v * s * np.clip(np.minimum(k(n), 4.0 - k(n)), 0.0, 1.0)  # noqa: E731
    return np.stack([f(5.0), f(3.0), f(1.0)], axis=-1)


def hue_distance(a: np.ndarray | float, b: np.ndarray | float) -> np.ndarray:
    """Circular distance between hues in degrees, in [0, 180]."""
    d = np.abs(np.asarray(a, dtype=np.float64) - np.asarray(b, dtype=np.float64)) % 360.0
    return np.minimum(d, 360.0 - d)


def rgb_hue(rgb: RGB) -> float:
    return float(rgb_to_hsv(np.array(rgb, dtype=np.float64) / 255.0)[0])


def nearest_color_name(rgb: RGB) -> str:
    """The basic color word closest to an RGB color (achromatic by saturation/value, else by hue)."""
    hue, saturation, value = rgb_to_hsv(np.array(rgb, dtype=np.float64) / 255.0)
    if value < 0.2:
        return "black"
    if saturation < 0.2:
        return "white" if value > 0.85 else "gray"
    return min(NAMED_HUES, key=lambda name: float(hue_distance(hue, NAMED_HUES[name])))


def mean_hue(hsv: np.ndarray, weights: np.ndarray | None = None) -> float:
    """Saturation-weighted circular mean hue (degrees) of HSV pixels, optionally weighted further."""
    w = hsv[..., 1] if weights is None else hsv[..., 1] * weights
    angle = np.deg2rad(hsv[..., 0])
    return float(np.rad2deg(np.arctan2((w * np.sin(angle)).sum(), (w * np.cos(angle)).sum())) % 360.0)


def _is_color_word(word: str) -> bool:
    return word.lower().strip(".,;:!?") in COLOR_WORDS


def remove_color_words(prompt: str) -> str:
    """The prompt without color words ("a red car" -> "a car")."""
    return " ".join(w for w in prompt.split() if not _is_color_word(w))


def with_color_word(prompt: str, color_name: str) -> str:
    """The prompt with its color words replaced by `color_name`, or the name put before its last word."""
    words = prompt.split()
    hits = [i for i, w in enumerate(words) if _is_color_word(w)]
    if hits:
        words = [w for i, w in enumerate(words) if i not in hits[1:]]
        words[hits[0]] = color_name
        return " ".join(words)
    if not words:
        return color_name
    return " ".join([*words[:-1], color_name, words[-1]])


_D65 = np.array([0.95047, 1.0, 1.08883])
_RGB_TO_XYZ = np.array(
    [[0.4124564, 0.3575761, 0.1804375], [0.2126729, 0.7151522, 0.0721750], [0.0193339, 0.1191920, 0.9503041]]
)


def rgb_to_lab(rgb: np.ndarray) -> np.ndarray:
    """CIELAB (D65) of sRGB values in [0, 1] (last axis)."""
    rgb = np.asarray(rgb, dtype=np.float64)
    linear = np.where(rgb <= 0.04045, rgb / 12.92, ((rgb + 0.055) / 1.055) ** 2.4)
    xyz = linear @ _RGB_TO_XYZ.T / _D65
    f = np.where(xyz > (6 / 29) ** 3, np.cbrt(xyz), xyz / (3 * (6 / 29) ** 2) + 4 / 29)
    return np.stack([116 * f[..., 1] - 16, 500 * (f[..., 0] - f[..., 1]), 200 * (f[..., 1] - f[..., 2])], axis=-1)


def lab_to_rgb(lab: np.ndarray) -> np.ndarray:
    """Inverse of `rgb_to_lab`, clipped to [0, 1]."""
    lab = np.asarray(lab, dtype=np.float64)
    fy = (lab[..., 0] + 16) / 116
    f = np.stack([fy + lab[..., 1] / 500, fy, fy - lab[..., 2] / 200], axis=-1)
    xyz = np.where(f > 6 / 29, f**3, 3 * (6 / 29) ** 2 * (f - 4 / 29)) * _D65
    linear = xyz @ np.linalg.inv(_RGB_TO_XYZ).T
    rgb = np.where(linear <= 0.0031308, 12.92 * linear, 1.055 * np.clip(linear, 0, None) ** (1 / 2.4) - 0.055)
    return np.clip(rgb, 0.0, 1.0)


def lock_chroma(image: np.ndarray, weights: np.ndarray, reference_ab: np.ndarray) -> np.ndarray:
    """Move the weighted region's mean CIELAB chroma (a*, b*) to `reference_ab`, keeping every pixel's
    lightness and its chroma deviation from the region's mean (texture); uint8 in, uint8 out."""
    lab = rgb_to_lab(image / 255.0)
    w = weights[..., None]
    mean_ab = (lab[..., 1:] * w).sum(axis=(0, 1)) / max(float(weights.sum()), 1e-8)
    lab[..., 1:] += w * (np.asarray(reference_ab) - mean_ab)
    return (lab_to_rgb(lab) * 255).round().astype(np.uint8)
