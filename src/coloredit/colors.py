"""Color specs, hue/HSV math and color names: the only place hue arithmetic lives."""

from __future__ import annotations

import re

import numpy as np
from PIL import ImageColor

from .errors import ColorEditError

RGB = tuple[int, int, int]


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


def srgb_to_linear(srgb: np.ndarray) -> np.ndarray:
    """Linear light of sRGB values in [0, 1]."""
    srgb = np.asarray(srgb, dtype=np.float64)
    return np.where(srgb <= 0.04045, srgb / 12.92, ((srgb + 0.055) / 1.055) ** 2.4)


LINEAR_OF_BYTE = srgb_to_linear(np.arange(256) / 255.0)  # the same values, looked up: photos are big


class LinearOf:
    """An 8-bit sRGB image's linear light, looked up where it is read (`linear[where]`): an outline reads a thin
    band of a large object's box, so the box is never converted whole."""

    def __init__(self, image: np.ndarray):
        self.image = np.asarray(image)
        self.shape = self.image.shape

    def __getitem__(self, where) -> np.ndarray:
        return LINEAR_OF_BYTE[self.image[where]]


class LabOf(LinearOf):
    """An 8-bit sRGB image's CIELAB, converted where it is read (`lab[where]`): a large photo's refinement
    reads its band and a few thousand samples, not every pixel of the box."""

    def __getitem__(self, where) -> np.ndarray:
        return rgb_to_lab(self.image[where])


def linear_to_srgb(linear: np.ndarray) -> np.ndarray:
    """sRGB in [0, 1] of linear light (clipped to [0, 1] first)."""
    linear = np.clip(linear, 0.0, 1.0)
    return np.where(linear <= 0.0031308, 12.92 * linear, 1.055 * linear ** (1 / 2.4) - 0.055)


# the linear light at which each sRGB byte from 1 on begins (its 255 * sRGB value reaches byte - 0.5), and, for
# each of BYTE_BUCKETS even steps of linear light, the byte where the step begins and where the next one begins
_BYTE_STARTS = srgb_to_linear((np.arange(1, 256) - 0.5) / 255.0)
BYTE_BUCKETS = 1 << 16  # narrow enough that no step holds two starts (the steepest, at black, holds 0.05)
_BYTE_OF_BUCKET = np.searchsorted(_BYTE_STARTS, np.arange(BYTE_BUCKETS) / BYTE_BUCKETS, side="right")
_NEXT_START = np.append(_BYTE_STARTS, np.inf)[_BYTE_OF_BUCKET]


def linear_to_byte(linear: np.ndarray) -> np.ndarray:
    """8-bit sRGB of linear light (clipped to [0, 1]), the byte `round(255 * linear_to_srgb(x))` gives, by
    lookup: no power function per pixel of a large photo."""
    linear = np.asarray(linear)
    out = np.empty(linear.shape, dtype=np.uint8)
    flat, written = linear.reshape(-1), out.reshape(-1)
    for part in chunks(flat.size):
        x = np.clip(flat[part], 0.0, 1.0)
        bucket = np.minimum((x * BYTE_BUCKETS).astype(np.intp), BYTE_BUCKETS - 1)
        written[part] = _BYTE_OF_BUCKET[bucket] + (x >= _NEXT_START[bucket])
    return out


CHUNK = 1 << 16  # values (or pixels) a large photo's per-pixel work handles at a time


def chunks(count: int, size: int = CHUNK) -> list[slice]:
    """`count` items in slices of `size`: per-pixel work on a large photo, its temporaries a slice's."""
    return [slice(start, min(start + size, count)) for start in range(0, count, size)]


def rgb_to_lab(rgb: np.ndarray) -> np.ndarray:
    """CIELAB (D65) of sRGB values in [0, 1] (last axis); 8-bit values (uint8) are linearized by lookup."""
    rgb = np.asarray(rgb)
    return linear_to_lab(LINEAR_OF_BYTE[rgb] if rgb.dtype == np.uint8 else srgb_to_linear(rgb))


def linear_to_lab(linear: np.ndarray) -> np.ndarray:
    """CIELAB (D65) of linear-light RGB (last axis): no trip through sRGB for values already linear."""
    xyz = np.asarray(linear, dtype=np.float64) @ _RGB_TO_XYZ.T / _D65
    f = np.where(xyz > (6 / 29) ** 3, np.cbrt(xyz), xyz / (3 * (6 / 29) ** 2) + 4 / 29)
    return np.stack([116 * f[..., 1] - 16, 500 * (f[..., 0] - f[..., 1]), 200 * (f[..., 1] - f[..., 2])], axis=-1)


def lightness(srgb_uint8: np.ndarray) -> np.ndarray:
    """CIELAB lightness of 8-bit sRGB pixels (last axis), from their luminance alone: `rgb_to_lab(...)[..., 0]`
    at a third of the cost."""
    luminance = LINEAR_OF_BYTE[srgb_uint8] @ _RGB_TO_XYZ[1]
    return 116 * np.where(luminance > (6 / 29) ** 3, np.cbrt(luminance), luminance / (3 * (6 / 29) ** 2) + 4 / 29) - 16


def lab_to_rgb(lab: np.ndarray) -> np.ndarray:
    """Inverse of `rgb_to_lab`, clipped to [0, 1]."""
    lab = np.asarray(lab, dtype=np.float64)
    fy = (lab[..., 0] + 16) / 116
    f = np.stack([fy + lab[..., 1] / 500, fy, fy - lab[..., 2] / 200], axis=-1)
    xyz = np.where(f > 6 / 29, f**3, 3 * (6 / 29) ** 2 * (f - 4 / 29)) * _D65
    return linear_to_srgb(xyz @ np.linalg.inv(_RGB_TO_XYZ).T)


def delta_e00(lab1: np.ndarray, lab2: np.ndarray) -> np.ndarray:
    """CIEDE2000 color difference between CIELAB colors (last axis), as in Sharma, Wu and Dalal (2005)."""
    lab1, lab2 = np.asarray(lab1, dtype=np.float64), np.asarray(lab2, dtype=np.float64)
    l1, a1, b1 = np.moveaxis(lab1, -1, 0)
    l2, a2, b2 = np.moveaxis(lab2, -1, 0)
    c_mean = (np.hypot(a1, b1) + np.hypot(a2, b2)) / 2
    g = 0.5 * (1 - np.sqrt(c_mean**7 / (c_mean**7 + 25.0**7)))
    a1p, a2p = a1 * (1 + g), a2 * (1 + g)
    c1p, c2p = np.hypot(a1p, b1), np.hypot(a2p, b2)
    h1p, h2p = np.degrees(np.arctan2(b1, a1p)) % 360, np.degrees(np.arctan2(b2, a2p)) % 360
    dl, dc = l2 - l1, c2p - c1p
    dh = h2p - h1p
    dh = np.where(dh > 180, dh - 360, np.where(dh < -180, dh + 360, dh))
    dh = np.where(c1p * c2p == 0, 0.0, dh)
    dhh = 2 * np.sqrt(c1p * c2p) * np.sin(np.radians(dh / 2))
    l_mean, cp_mean = (l1 + l2) / 2, (c1p + c2p) / 2
    h_sum = h1p + h2p
    h_mean = np.where(
        c1p * c2p == 0,
        h_sum,
        np.where(np.abs(h1p - h2p) <= 180, h_sum / 2, np.where(h_sum < 360, (h_sum + 360) / 2, (h_sum - 360) / 2)),
    )
    t = (
        1
        - 0.17 * np.cos(np.radians(h_mean - 30))
        + 0.24 * np.cos(np.radians(2 * h_mean))
        + 0.32 * np.cos(np.radians(3 * h_mean + 6))
        - 0.20 * np.cos(np.radians(4 * h_mean - 63))
    )
    sl = 1 + 0.015 * (l_mean - 50) ** 2 / np.sqrt(20 + (l_mean - 50) ** 2)
    sc, sh = 1 + 0.045 * cp_mean, 1 + 0.015 * cp_mean * t
    rt = (
        -2
        * np.sqrt(cp_mean**7 / (cp_mean**7 + 25.0**7))
        * np.sin(np.radians(60 * np.exp(-(((h_mean - 275) / 25) ** 2))))
    )
    return np.sqrt((dl / sl) ** 2 + (dc / sc) ** 2 + (dhh / sh) ** 2 + rt * (dc / sc) * (dhh / sh))


# The color vocabulary of the toy world's captions and of color naming: nominal sRGB colors, named by the
# nearest in CIEDE2000. BASIC_COLORS are the 12 basic terms every model must know.
BASIC_COLORS: dict[str, RGB] = {
    "red": (200, 30, 35),
    "orange": (240, 130, 20),
    "yellow": (245, 215, 35),
    "green": (40, 160, 50),
    "cyan": (30, 200, 220),
    "blue": (35, 75, 215),
    "purple": (125, 50, 175),
    "pink": (240, 125, 185),
    "brown": (125, 75, 35),
    "black": (22, 22, 22),
    "white": (242, 242, 242),
    "grey": (128, 128, 128),
}
EXTRA_COLORS: dict[str, RGB] = {
    "navy": (25, 35, 105),
    "teal": (0, 125, 125),
    "lime": (165, 225, 45),
    "beige": (225, 205, 165),
    "maroon": (110, 20, 35),
    "gold": (210, 165, 35),
    "olive": (115, 115, 35),
    "magenta": (210, 40, 170),
}
MODIFIED = ("red", "orange", "green", "blue", "purple", "pink", "brown", "grey")


def _modified(rgb: RGB, lighter: bool) -> RGB:
    lab = rgb_to_lab(np.array(rgb) / 255.0)
    lab = np.array([lab[0] + (96 - lab[0]) * 0.55, lab[1] * 0.55, lab[2] * 0.55]) if lighter else lab * [0.55, 0.8, 0.8]
    return tuple(int(v) for v in (lab_to_rgb(lab) * 255).round())  # type: ignore[return-value]


COLOR_TERMS: dict[str, RGB] = {
    **BASIC_COLORS,
    **EXTRA_COLORS,
    **{f"light {name}": _modified(BASIC_COLORS[name], True) for name in MODIFIED},
    **{f"dark {name}": _modified(BASIC_COLORS[name], False) for name in MODIFIED},
}
# Words treated as color words in prompts: the vocabulary's words, common variants and every CSS color name.
COLOR_WORDS: frozenset[str] = frozenset(
    {word for term in COLOR_TERMS for word in term.split()}
    | {"gray", "violet", "turquoise", "golden", "silver"}
    | set(ImageColor.colormap)
)
_TERM_LABS = {
    vocabulary: rgb_to_lab(np.array(list(terms.values())) / 255.0)
    for vocabulary, terms in (("all", COLOR_TERMS), ("basic", BASIC_COLORS))
}


def to_hex(rgb: RGB) -> str:
    return "#{:02x}{:02x}{:02x}".format(*rgb)


def name_color(rgb: RGB | np.ndarray, basic: bool = False) -> str:
    """The color term nearest to an sRGB color (0-255) by CIEDE2000; among the 12 basic terms if `basic`."""
    terms = BASIC_COLORS if basic else COLOR_TERMS
    lab = rgb_to_lab(np.asarray(rgb, dtype=np.float64) / 255.0)
    return list(terms)[int(np.argmin(delta_e00(_TERM_LABS["basic" if basic else "all"], lab)))]


def prompt_color(prompt: str) -> RGB | None:
    """The color a prompt gives its object: its first color term ("a dark red car" -> dark red's RGB), or
    CSS color name; None without one."""
    words = [w.lower().strip(".,;:!?") for w in prompt.split()]
    for i, word in enumerate(words):
        pair = " ".join(words[i : i + 2])
        if pair in COLOR_TERMS:
            return COLOR_TERMS[pair]
        if word in COLOR_TERMS:
            return COLOR_TERMS[word]
        if word in ImageColor.colormap:
            return parse_color(word)
    return None
