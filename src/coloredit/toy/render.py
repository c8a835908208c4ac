"""A deterministic renderer of the toy world: one colored object on a low-saturation background.

Rendered at 4x and box-downsampled (anti-aliased edges); returns the image, the exact object mask and the
object's nominal color, so edits can be scored against ground truth. Any hue can be drawn, which makes
colors that no word names testable.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..colors import NAMED_HUES, hsv_to_rgb

SHAPES = ("ball", "square", "triangle", "star", "ring")
COLORS = tuple(NAMED_HUES)
SUPERSAMPLE = 4


@dataclass
class Scene:
    image: np.ndarray  # H x W x 3 uint8
    mask: np.ndarray  # H x W bool: pixels more than half covered by the object
    shape: str
    hue: float  # the object's hue in degrees, before shading
    color: str | None  # the nominal color word, None for a hue between the names

    @property
    def caption(self) -> str:
        return f"a {self.color} {self.shape}" if self.color else f"a {self.shape}"


def _polygon(xs: np.ndarray, ys: np.ndarray, points: np.ndarray) -> np.ndarray:
    """Even-odd point-in-polygon test on pixel grids."""
    inside = np.zeros(xs.shape, dtype=bool)
    for (x0, y0), (x1, y1) in zip(points, np.roll(points, -1, axis=0), strict=True):
        crosses = (y0 > ys) != (y1 > ys)
        x_at = (x1 - x0) * (ys - y0) / np.where(y1 == y0, 1e-12, y1 - y0) + x0
        inside ^= crosses & (xs < x_at)
    return inside


def shape_mask(shape: str, xs: np.ndarray, ys: np.ndarray, cx: float, cy: float, r: float, angle: float):
    """Boolean mask of a shape centred at (cx, cy) with size r (fractions of the side), rotated by angle."""
    dx, dy = xs - cx, ys - cy
    if shape == "ball":
        return dx**2 + dy**2 <= r**2
    if shape == "ring":
        d2 = dx**2 + dy**2
        return (d2 <= r**2) & (d2 >= (0.55 * r) ** 2)
    corners = {"square": 4, "triangle": 3, "star": 10}[shape]
    radii = np.full(corners, r * (0.95 if shape == "square" else 1.1))
    if shape == "star":
        radii = np.where(np.arange(10) % 2 == 0, r * 1.15, r * 0.5)
    theta = angle + np.arange(corners) * 2 * np.pi / corners - np.pi / 2
    points = np.stack([cx + radii * np.cos(theta), cy + radii * np.sin(theta)], axis=1)
    return _polygon(xs, ys, points)


def _box_down(array: np.ndarray, factor: int) -> np.ndarray:
    h, w = array.shape[:2]
    return array.reshape(h // factor, factor, w // factor, factor, *array.shape[2:]).mean(axis=(1, 3))


def render(
    seed: int, shape: str | None = None, color: str | None = None, hue: float | None = None, size: int = 32
) -> Scene:
    """Render one scene. Without `shape`/`color`/`hue` they are drawn from the seed; a named color gets
    +-6 degrees of hue jitter, an explicit `hue` is drawn as given (and named only if it is a nominal hue)."""
    rng = np.random.default_rng(seed)
    shape = shape or SHAPES[rng.integers(len(SHAPES))]
    if shape not in SHAPES:
        raise ValueError(f"unknown shape {shape!r}; choose from {SHAPES}")
    if hue is None:
        color = color or COLORS[rng.integers(len(COLORS))]
        hue = (NAMED_HUES[color] + rng.uniform(-6, 6)) % 360
    else:
        color = next((name for name, h in NAMED_HUES.items() if h == hue), None)
    saturation, value = rng.uniform(0.75, 1.0), rng.uniform(0.8, 1.0)

    n = size * SUPERSAMPLE
    ys, xs = (np.mgrid[0:n, 0:n] + 0.5) / n
    # background: low saturation, plain or two-tone wall/floor
    bg_hue, bg_sat = rng.uniform(0, 360), rng.uniform(0.0, 0.12)
    wall_value = rng.uniform(0.45, 0.95)
    values = np.full((n, n), wall_value)
    if rng.random() < 0.5:
        horizon = rng.uniform(0.55, 0.75)
        values = np.where(
            ys > horizon, np.clip(wall_value + rng.choice([-1, 1]) * rng.uniform(0.12, 0.3), 0.2, 1), values
        )
    values = values * (1.0 - 0.08 * ys)
    background = hsv_to_rgb(np.stack([np.full((n, n), bg_hue), np.full((n, n), bg_sat), values], axis=-1))

    cx, cy = 0.5 + rng.uniform(-0.12, 0.12, size=2)
    r, angle = rng.uniform(0.22, 0.34), rng.uniform(0, 2 * np.pi)
    inside = shape_mask(shape, xs, ys, cx, cy, r, angle)
    # soft drop shadow
    shadow = shape_mask(shape, xs, ys, cx + 0.04, cy + 0.05, r, angle).astype(np.float64)
    for axis in (0, 1):
        shadow = sum(np.roll(shadow, k, axis=axis) for k in range(-6, 7)) / 13.0
    background = background * (1.0 - 0.35 * shadow[..., None])

    # shading: sphere lighting for the ball, a light gradient elsewhere; faint stripes as texture
    light = np.array([-0.5, -0.6])
    if shape == "ball":
        nx, ny = (xs - cx) / r, (ys - cy) / r
        nz = np.sqrt(np.clip(1 - nx**2 - ny**2, 0, 1))
        lambert = np.clip(-(nx * light[0] + ny * light[1]) * 0.8 + nz * 0.6, 0, 1)
        shade = 0.55 + 0.45 * lambert
    else:
        shade = 0.92 - 0.25 * ((xs - cx) * light[0] + (ys - cy) * light[1]) / r * 0.5
    stripe_angle = rng.uniform(0, np.pi)
    shade = shade + 0.04 * np.sin((xs * np.cos(stripe_angle) + ys * np.sin(stripe_angle)) * 2 * np.pi * 6)
    obj_value = np.clip(value * shade, 0, 1)
    obj_sat = np.full((n, n), saturation)
    if shape == "ball":  # specular highlight
        spot = np.exp(-(((xs - cx + 0.35 * r) ** 2 + (ys - cy + 0.4 * r) ** 2) / (0.18 * r) ** 2))
        obj_sat, obj_value = obj_sat * (1 - 0.6 * spot), np.clip(obj_value + 0.3 * spot, 0, 1)
    obj = hsv_to_rgb(np.stack([np.full((n, n), hue), obj_sat, obj_value], axis=-1))

    picture = np.where(inside[..., None], obj, background)
    small = _box_down(picture, SUPERSAMPLE) + rng.normal(0, 0.01, (size, size, 3))
    coverage = _box_down(inside.astype(np.float64), SUPERSAMPLE)
    image = (np.clip(small, 0, 1) * 255).round().astype(np.uint8)
    return Scene(image=image, mask=coverage > 0.5, shape=shape, hue=float(hue), color=color)
