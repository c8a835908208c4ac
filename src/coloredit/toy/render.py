"""A deterministic renderer of the toy world (v2): one to three objects of any color on textured rooms.

Every render is drawn from a `SceneSpec` (the whole description, sampled from a seed), rendered at 4x and
box-downsampled, and returns exact per-object masks; `recolor(spec, i, rgb)` gives the same scene with one
object's base color changed, which rendered is the oracle of an edit. Two styles: `"v2"`, the training
style (shaded objects, glossy highlights, textured wall and floor, contact shadows, photo degradations), and
`"toon"`, kept out of training entirely for out-of-distribution evaluation (flat cel shading, black outlines,
hard highlights, backdrops and proportions of its own).
"""

from __future__ import annotations

import io
from dataclasses import replace

import numpy as np
from PIL import Image

from ..colors import BASIC_COLORS, COLOR_TERMS, lab_to_rgb, linear_to_srgb, rgb_to_lab, srgb_to_linear
from .scene import PATTERNS, RGB, SHAPES, SIZE, STYLES, SUPERSAMPLE, ObjectSpec, Scene, SceneSpec

# -- sampling ------------------------------------------------------------------------------------------


def sample_color(rng: np.random.Generator) -> RGB:
    """A base color: half the time near a color term (so every word is well represented), else anywhere in
    the sRGB gamut, achromatic, dark and light tones included."""
    kind = rng.random()
    if kind < 0.5:
        names = list(BASIC_COLORS) * 2 + list(COLOR_TERMS)  # the basic terms twice as often
        lab = rgb_to_lab(np.array(COLOR_TERMS[names[rng.integers(len(names))]]) / 255.0)
        lab = lab + rng.normal(0, [4.0, 5.0, 5.0])
    elif kind < 0.62:  # achromatic: black to white
        lab = np.array([rng.uniform(5, 98), *rng.normal(0, 2.0, 2)])
    else:
        rgb = rng.uniform(0, 1, 3)
        return tuple(int(v) for v in (rgb * 255).round())  # type: ignore[return-value]
    return tuple(int(v) for v in (lab_to_rgb(lab) * 255).round())  # type: ignore[return-value]


def _muted(rng: np.random.Generator, lightness: tuple[float, float], chroma: float) -> RGB:
    lab = np.array([rng.uniform(*lightness), *rng.normal(0, chroma, 2)])
    return tuple(int(v) for v in (lab_to_rgb(lab) * 255).round())  # type: ignore[return-value]


def sample_scene(
    seed: int,
    style: str = "v2",
    shape: str | None = None,
    color: RGB | str | None = None,
    objects: int | None = None,
    size: int = SIZE,
    **overrides,
) -> SceneSpec:
    """Draw a scene description from `seed`; `shape`, `color` (RGB or a color term) and any other
    `ObjectSpec` field fix the first object, `objects` the number of objects (1-3), and `SceneSpec` fields
    (e.g. `jpeg=0`) the scene."""
    if style not in STYLES:
        raise ValueError(f"unknown style {style!r}; choose from {STYLES}")
    rng = np.random.default_rng(seed)
    count = objects or int(rng.choice([1, 2, 3], p=[0.5, 0.35, 0.15]))
    toon = style == "toon"
    # proportions: the toon style draws bigger single objects and tighter groups
    radius_range = {1: (0.24, 0.38) if toon else (0.2, 0.32), 2: (0.15, 0.22), 3: (0.12, 0.17)}[count]
    slots = np.sort(rng.permutation(np.linspace(0.5 - 0.28 * (count - 1) / 2, 0.5 + 0.28 * (count - 1) / 2, count)))
    specs = []
    for i in range(count):
        radius = rng.uniform(*radius_range)
        cx = float(slots[i] + rng.uniform(-0.05, 0.05)) if count > 1 else 0.5 + rng.uniform(-0.12, 0.12)
        cy = 0.5 + rng.uniform(-0.1, 0.14) if count == 1 else 0.58 + rng.uniform(-0.12, 0.12)
        pattern = rng.choice(PATTERNS) if rng.random() < 0.25 else None
        pattern_color = (255, 255, 255) if rng.random() < 0.4 else (20, 20, 20) if rng.random() < 0.4 else None
        specs.append(
            ObjectSpec(
                shape=str(SHAPES[rng.integers(len(SHAPES))]),
                color=sample_color(rng),
                cx=float(cx),
                cy=float(cy),
                radius=float(radius),
                angle=float(rng.uniform(0, 2 * np.pi)),
                glossy=bool(rng.random() < 0.4),
                pattern=None if pattern is None else str(pattern),
                pattern_color=pattern_color or sample_color(rng),
                pattern_angle=float(rng.uniform(0, np.pi)),
            )
        )
    first = {}
    if shape is not None:
        if shape not in SHAPES:
            raise ValueError(f"unknown shape {shape!r}; choose from {SHAPES}")
        first["shape"] = shape
    if color is not None:
        first["color"] = COLOR_TERMS[color] if isinstance(color, str) else tuple(int(v) for v in color)
    scene_overrides = {k: overrides.pop(k) for k in list(overrides) if k in SceneSpec.__dataclass_fields__}
    specs[0] = replace(specs[0], **first, **overrides)
    degraded = rng.random() < 0.3
    spec = SceneSpec(
        objects=tuple(specs),
        style=style,
        size=size,
        wall=_muted(rng, (35, 95), 6.0 if not toon else 14.0),
        floor=_muted(rng, (20, 80), 6.0 if not toon else 14.0),
        horizon=float(rng.uniform(0.5, 0.75)) if rng.random() < 0.8 else 1.0,
        texture=str(rng.choice(["plain", "noise", "tiles", "wood"])),
        light=(float(rng.uniform(-0.8, -0.2)), float(rng.uniform(-0.8, -0.4))),
        noise=float(rng.uniform(0.01, 0.035)) if degraded and rng.random() < 0.6 else 0.01,
        crush=float(rng.uniform(0.03, 0.1)) if degraded and rng.random() < 0.5 else 0.0,
        jpeg=int(rng.integers(55, 92)) if degraded and rng.random() < 0.6 else 0,
        seed=int(rng.integers(2**31)),
    )
    return replace(spec, **scene_overrides)


def recolor(spec: SceneSpec, index: int, color: RGB) -> SceneSpec:
    """The same scene with object `index`'s base color changed: rendered, the oracle of an edit."""
    objects = list(spec.objects)
    objects[index] = replace(objects[index], color=tuple(int(v) for v in color))
    return replace(spec, objects=tuple(objects))


def render(seed: int, shape: str | None = None, color: RGB | str | None = None, style: str = "v2", **kwargs) -> Scene:
    """Render the scene `sample_scene(seed, ...)` describes."""
    return draw(sample_scene(seed, style=style, shape=shape, color=color, **kwargs))


# -- drawing -------------------------------------------------------------------------------------------


def _polygon(xs: np.ndarray, ys: np.ndarray, points: np.ndarray) -> np.ndarray:
    """Even-odd point-in-polygon test on pixel grids."""
    inside = np.zeros(xs.shape, dtype=bool)
    for (x0, y0), (x1, y1) in zip(points, np.roll(points, -1, axis=0), strict=True):
        crosses = (y0 > ys) != (y1 > ys)
        x_at = (x1 - x0) * (ys - y0) / np.where(y1 == y0, 1e-12, y1 - y0) + x0
        inside ^= crosses & (xs < x_at)
    return inside


def _regular(xs, ys, cx, cy, radii, angle):
    corners = len(radii)
    theta = angle + np.arange(corners) * 2 * np.pi / corners - np.pi / 2
    return _polygon(xs, ys, np.stack([cx + radii * np.cos(theta), cy + radii * np.sin(theta)], axis=1))


def silhouette(o: ObjectSpec, xs: np.ndarray, ys: np.ndarray, stretch: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    """(mask, shade) of an object: its coverage and a shading factor (1 = the lit albedo; about 0.45-1.05).
    Flat shapes rotate by `angle`; cube, cylinder, cone and cup stand upright."""
    u, v = (xs - o.cx) / (o.radius * stretch), (ys - o.cy) / o.radius  # object coordinates, about -1..1
    flat = 0.92 - 0.12 * (-0.5 * u - 0.6 * v)

    def side(across):  # a lit cylindrical side, `across` from -1 (left edge) to 1 (right edge)
        return 0.45 + 0.6 * np.clip(np.cos((across + 0.35) * 1.2), 0, 1)

    if o.shape == "ball":
        d2 = u**2 + v**2
        nz = np.sqrt(np.clip(1 - d2, 0, 1))
        return d2 <= 1, 0.45 + 0.6 * np.clip(0.8 * (0.5 * u + 0.6 * v) * -1 + 0.6 * nz, 0, 1)
    if o.shape == "ring":
        d = np.sqrt(u**2 + v**2)
        return (d <= 1) & (d >= 0.55), flat + 0.08 * np.cos((d - 0.775) / 0.225 * np.pi / 2)
    if o.shape in ("square", "triangle", "star", "heart"):
        c, s = np.cos(o.angle), np.sin(o.angle)
        ru, rv = c * u + s * v, -s * u + c * v
        if o.shape == "heart":
            hu, hv = ru * 1.25, -rv * 1.25 + 0.25
            return (hu**2 + hv**2 - 1) ** 3 - hu**2 * hv**3 <= 0, flat
        corners, radius = {"square": (4, 0.95 * np.sqrt(2) * 0.75), "triangle": (3, 1.1), "star": (10, 1.15)}[o.shape]
        theta = np.arange(corners) * 2 * np.pi / corners - np.pi / 2
        radii = np.where(np.arange(corners) % 2 == 0, radius, 0.5) if o.shape == "star" else np.full(corners, radius)
        return _polygon(ru, rv, np.stack([radii * np.cos(theta), radii * np.sin(theta)], axis=1)), flat
    if o.shape == "cube":  # an isometric cube: top face lit, left face mid, right face dark
        hexagon = np.stack(
            [np.cos(np.arange(6) * np.pi / 3 - np.pi / 2), np.sin(np.arange(6) * np.pi / 3 - np.pi / 2)], 1
        )
        shade = np.where(v < -0.577 * np.abs(u), 1.03, np.where(u < 0, 0.8, 0.55))
        return _polygon(u, v, hexagon), shade
    if o.shape == "cylinder":
        top = (u / 0.7) ** 2 + ((v + 0.75) / 0.22) ** 2 <= 1
        bottom = (u / 0.7) ** 2 + ((v - 0.75) / 0.22) ** 2 <= 1
        body = (np.abs(u) <= 0.7) & (np.abs(v) <= 0.75)
        return body | top | bottom, np.where(top, 1.03, side(u / 0.7))
    if o.shape == "cone":
        width = 0.75 * (v + 0.95) / 1.65
        body = (v >= -0.95) & (v <= 0.7) & (np.abs(u) <= width)
        base = (u / 0.75) ** 2 + ((v - 0.7) / 0.2) ** 2 <= 1
        across = np.clip(u / np.maximum(width, 0.05), -1, 1)
        return body | base, side(across)
    if o.shape == "cup":
        body = (np.abs(u) <= 0.55) & (v >= -0.7) & (v <= 0.75)
        rim = (u / 0.55) ** 2 + ((v + 0.7) / 0.18) ** 2 <= 1
        inner = (u / 0.45) ** 2 + ((v + 0.7) / 0.12) ** 2 <= 1
        d = np.sqrt((u - 0.6) ** 2 + v**2)
        handle = (d <= 0.4) & (d >= 0.22) & (u > 0.5)
        shade = np.where(inner, 0.5, np.where(handle, 0.75, side(u / 0.55)))
        return body | rim | handle, shade
    raise ValueError(f"unknown shape {o.shape!r}; choose from {SHAPES}")


def _pattern(o: ObjectSpec, xs: np.ndarray, ys: np.ndarray) -> np.ndarray:
    """Where the object shows its second color, in object coordinates turned by `pattern_angle`."""
    u, v = (xs - o.cx) / o.radius, (ys - o.cy) / o.radius
    across = np.cos(o.pattern_angle) * u + np.sin(o.pattern_angle) * v
    if o.pattern == "stripes":
        return np.sin(across * 2.5 * np.pi) > 0.35
    if o.pattern == "band":
        return np.abs(across) < 0.22
    if o.pattern == "spot":  # a logo-like disc; on a ring, on its body
        cy = 0.775 if o.shape == "ring" else 0.0
        return u**2 + (v - cy) ** 2 <= (0.2 if o.shape == "ring" else 0.38) ** 2
    return np.zeros(xs.shape, dtype=bool)


def _smooth_noise(rng: np.random.Generator, n: int, cells: int) -> np.ndarray:
    """Value noise in [-1, 1]: a random grid of `cells` per side, bilinearly upsampled to n x n."""
    grid = rng.uniform(-1, 1, (cells + 1, cells + 1))
    t = np.linspace(0, cells, n, endpoint=False)
    i, f = t.astype(int), t - t.astype(int)
    rows = grid[i] * (1 - f)[:, None] + grid[i + 1] * f[:, None]
    return rows[:, i] * (1 - f)[None] + rows[:, i + 1] * f[None]


def _background(spec: SceneSpec, xs: np.ndarray, ys: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """The room in linear RGB: wall and floor with a texture (v2), or a backdrop (toon)."""
    n = xs.shape[0]
    wall, floor = srgb_to_linear(np.array(spec.wall) / 255.0), srgb_to_linear(np.array(spec.floor) / 255.0)
    if spec.style == "toon":  # a flat backdrop with a soft vignette, or a bold blotchy print
        vignette = 1.0 - 0.35 * ((xs - 0.5) ** 2 + (ys - 0.45) ** 2)
        room = wall * vignette[..., None]
        if spec.texture in ("noise", "wood"):
            blotches = _smooth_noise(rng, n, 3) > 0.1
            room = np.where(blotches[..., None], floor * vignette[..., None], room)
        return room
    on_floor = ys > spec.horizon
    room = np.where(on_floor[..., None], floor, wall) * (1.0 - 0.15 * ys)[..., None]
    if spec.texture == "noise":
        room = room * (1 + 0.12 * _smooth_noise(rng, n, 12))[..., None]
    elif spec.texture == "tiles":
        period = 0.125 if rng.random() < 0.5 else 0.1
        lines = (np.minimum(xs % period, ys % period) < 0.012) & on_floor
        room = room * np.where(lines, 0.7, 1.0)[..., None]
    elif spec.texture == "wood":
        grain = np.sin((ys * 22 + 2.5 * _smooth_noise(rng, n, 5)) * np.pi)
        room = room * (1 + 0.1 * grain * np.where(on_floor, 1.0, 0.5))[..., None]
    return room


def _blur(image: np.ndarray, sigma: float) -> np.ndarray:
    from scipy.ndimage import gaussian_filter

    return gaussian_filter(image, sigma)


def _box_down(array: np.ndarray, factor: int) -> np.ndarray:
    h, w = array.shape[:2]
    return array.reshape(h // factor, factor, w // factor, factor, *array.shape[2:]).mean(axis=(1, 3))


def draw(spec: SceneSpec) -> Scene:
    """Render a scene description; deterministic, and the same texture and noise for the same `spec.seed`."""
    from scipy.ndimage import binary_erosion

    rng = np.random.default_rng(spec.seed)
    toon = spec.style == "toon"
    n = spec.size * SUPERSAMPLE
    ys, xs = (np.mgrid[0:n, 0:n] + 0.5) / n
    picture = _background(spec, xs, ys, rng)
    stretch = 1.25 if toon else 1.0
    lx, _ = spec.light
    shadow = np.zeros((n, n))
    for o in spec.objects:  # contact shadows on the floor, away from the light
        base_y = o.cy + 0.85 * o.radius
        shadow = np.maximum(
            shadow,
            ((xs - o.cx + 0.25 * lx * o.radius) / (1.1 * o.radius * stretch)) ** 2
            + ((ys - base_y) / (0.28 * o.radius)) ** 2
            <= 1,
        )
    if not toon:
        shadow = _blur(shadow.astype(np.float64), 0.015 * n)
    picture = picture * (1.0 - 0.55 * shadow)[..., None]

    visible: list[np.ndarray] = []
    patterns: list[np.ndarray] = []
    for index in np.argsort([o.cy for o in spec.objects], kind="stable"):  # far objects first
        o = spec.objects[index]
        inside, shade = silhouette(o, xs, ys, stretch)
        second = _pattern(o, xs, ys) & inside if o.pattern else np.zeros_like(inside)
        albedo = np.where(
            second[..., None],
            srgb_to_linear(np.array(o.pattern_color) / 255.0),
            srgb_to_linear(np.array(o.color) / 255.0),
        )
        if toon:
            shade = np.where(shade > 0.8, 1.0, np.where(shade > 0.6, 0.75, 0.55))
        color = albedo * shade[..., None]
        if o.glossy:
            hx, hy = o.cx + 0.45 * lx * o.radius * stretch, o.cy - 0.4 * o.radius
            spot = np.exp(-((xs - hx) ** 2 + (ys - hy) ** 2) / (0.2 * o.radius) ** 2)
            spot = (spot > 0.45).astype(np.float64) if toon else spot
            color = color * (1 - 0.85 * spot[..., None]) + 0.95 * spot[..., None]
        if toon:
            inside_core = binary_erosion(inside, iterations=3)
            color = np.where((inside & ~inside_core)[..., None], 0.0, color)
        picture = np.where(inside[..., None], color, picture)
        for k in range(len(visible)):
            visible[k] &= ~inside
            patterns[k] &= ~inside
        visible.append(inside)
        patterns.append(second)
    order = list(np.argsort([o.cy for o in spec.objects], kind="stable"))
    small = _box_down(linear_to_srgb(picture), SUPERSAMPLE)
    if spec.crush:
        small = np.clip((small - spec.crush) / (1 - spec.crush), 0, 1)
    small = small + rng.normal(0, spec.noise, small.shape)
    image = (np.clip(small, 0, 1) * 255).round().astype(np.uint8)
    if spec.jpeg:
        buffer = io.BytesIO()
        Image.fromarray(image).save(buffer, format="JPEG", quality=spec.jpeg)
        image = np.asarray(Image.open(buffer).convert("RGB"))
    masks = [_box_down(visible[order.index(i)].astype(np.float64), SUPERSAMPLE) > 0.5 for i in range(len(order))]
    seconds = [_box_down(patterns[order.index(i)].astype(np.float64), SUPERSAMPLE) > 0.5 for i in range(len(order))]
    return Scene(image=image, masks=masks, spec=spec, pattern_masks=seconds)
