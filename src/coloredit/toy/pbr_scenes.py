"""The path-traced world's scenes as small frozen descriptions (`PbrScene`), sampled from a seed, with the
tags every sample carries; what a color and a light mean here is in `pbr.py` and docs/physics-world.md.

Why a module: the benchmark and the training data sample and tag scenes without rendering them; `pbr.py`
turns a description into a Mitsuba scene.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

from ..errors import ColorEditError
from .render import sample_color

RGB = tuple[int, int, int]
SHAPES = ("sphere", "cube", "cylinder", "torus", "mug", "bottle", "vase")
MATERIALS = ("diffuse", "rough plastic", "smooth plastic", "metal", "coated", "sheen")
PATTERNS = (None, "grain", "wood", "stripes", "dots", "logo")
TWO_TONE = ("stripes", "dots", "logo")  # patterns with a second color, which an edit must keep
STYLES = ("studio", "daylight")  # daylight: the out-of-distribution light and environment nobody tunes on
NEUTRAL_KELVIN = 6504.0  # D65: the light the sRGB white point assumes, rendered as (1, 1, 1)
# what a person would type for each: the noun alone, a material word
NOUNS = {
    "sphere": "ball",
    "cube": "cube",
    "cylinder": "cylinder",
    "torus": "ring",
    "mug": "mug",
    "bottle": "bottle",
    "vase": "vase",
}
MATERIAL_WORDS = {
    "diffuse": "matte",
    "rough plastic": "plastic",
    "smooth plastic": "glossy",
    "metal": "metal",
    "coated": "lacquered",
    "sheen": "fabric",
}


@dataclass(frozen=True)
class PbrObject:
    shape: str
    material: str
    color: RGB  # base color (sRGB bytes): a diffuse/plastic albedo, a metal's specular tint
    pattern: str | None = None
    second_color: RGB | None = None  # the pattern's other color (two-tone patterns only)
    position: tuple[float, float] = (0.0, 0.0)  # on the floor: x, z
    size: float = 1.0  # height of the object's box
    turn: float = 0.0  # degrees about the vertical axis
    roughness: float = 0.2
    texture_seed: int = 0


@dataclass(frozen=True)
class PbrScene:
    objects: tuple[PbrObject, ...]  # the first is the one an edit recolors
    style: str = "studio"
    key_kelvin: float = NEUTRAL_KELVIN
    key_direction: tuple[float, float] = (35.0, 50.0)  # azimuth, elevation in degrees
    fill: float = 0.25  # fill light, relative to the key
    ambient: float = 0.08  # the environment's radiance
    exposure: float = 1.0  # the camera's: 1 renders a white surface facing the key at ~1.0 linear
    wall_color: RGB = (190, 188, 182)
    floor_color: RGB = (150, 146, 140)
    bleed_color: RGB | None = None  # a colored side wall close to the object: bounce light on it
    occluder: bool = False  # a plank between the key and the object: a shadow cast on it
    camera: tuple[float, float] = (0.0, 18.0)  # azimuth, elevation in degrees
    tags: tuple[str, ...] = field(default=(), compare=False)

    @property
    def target(self) -> PbrObject:
        return self.objects[0]


# -- what color the key light has -------------------------------------------------------------------------
_XYZ_TO_LINEAR_SRGB = np.array(
    [[3.2404542, -1.5371385, -0.4985314], [-0.9692660, 1.8760108, 0.0415560], [0.0556434, -0.2040259, 1.0572252]]
)
_LUMA = np.array([0.2126, 0.7152, 0.0722])


def kelvin_rgb(kelvin: float) -> np.ndarray:
    """Linear sRGB of a blackbody at `kelvin` (1667-25000 K) with luminance 1, from the Planckian locus in CIE
    xy (Kang et al. 2002, cubic approximation), white balanced to D65 so that 6504 K is (1, 1, 1)."""
    if not 1667 <= kelvin <= 25000:
        raise ValueError(f"color temperature {kelvin} K outside 1667-25000 K")

    def rgb(t: float) -> np.ndarray:
        if t <= 4000:
            x = -0.2661239e9 / t**3 - 0.2343589e6 / t**2 + 0.8776956e3 / t + 0.179910
        else:
            x = -3.0258469e9 / t**3 + 2.1070379e6 / t**2 + 0.2226347e3 / t + 0.240390
        if t <= 2222:
            y = -1.1063814 * x**3 - 1.34811020 * x**2 + 2.18555832 * x - 0.20219683
        elif t <= 4000:
            y = -0.9549476 * x**3 - 1.37418593 * x**2 + 2.09137015 * x - 0.16748867
        else:
            y = 3.0817580 * x**3 - 5.87338670 * x**2 + 3.75112997 * x - 0.37001483
        linear = _XYZ_TO_LINEAR_SRGB @ np.array([x / y, 1.0, (1 - x - y) / y])
        return np.clip(linear, 1e-4, None)

    balanced = rgb(kelvin) / rgb(NEUTRAL_KELVIN)
    return balanced / (balanced @ _LUMA)


def light_tag(kelvin: float) -> str:
    return "warm light" if kelvin < 4500 else "cool light" if kelvin > 7000 else "neutral light"


# -- sampling -------------------------------------------------------------------------------------------
def _object(rng: np.random.Generator, position: tuple[float, float], allow_pattern: bool = True) -> PbrObject:
    shape = SHAPES[rng.integers(len(SHAPES))]
    material = MATERIALS[rng.choice(len(MATERIALS), p=[0.22, 0.2, 0.14, 0.18, 0.13, 0.13])]
    color = metal_tint(rng) if material == "metal" else sample_color(rng)
    pattern, second = None, None
    if allow_pattern and material != "metal" and rng.random() < 0.45:
        pattern = PATTERNS[1 + rng.integers(len(PATTERNS) - 1)]
        if pattern in TWO_TONE:
            second = sample_color(rng)
    roughness = float(rng.uniform(0.08, 0.35)) if material in ("rough plastic", "metal") else 0.5
    return PbrObject(
        shape,
        material,
        color,
        pattern,
        second,
        position,
        size=float(rng.uniform(0.9, 1.3)),
        turn=float(rng.uniform(0, 360)),
        roughness=roughness,
        texture_seed=int(rng.integers(1 << 30)),
    )


def metal_tint(rng: np.random.Generator) -> RGB:
    """A metal's tint: gold, copper, silver, brass and anodized colors; metals reflect most light, so tints
    are light (a black metal does not exist)."""
    named = [(255, 200, 80), (240, 150, 110), (225, 225, 230), (215, 190, 120), (250, 215, 160)]
    if rng.random() < 0.5:
        return named[rng.integers(len(named))]
    color = np.array(sample_color(rng), dtype=float)
    return tuple(int(v) for v in (110 + color * (145 / 255)).round())  # type: ignore[return-value]


def sample_pbr_scene(seed: int, style: str = "studio") -> PbrScene:
    """A scene drawn from `seed`: the target object (every shape, material, pattern and base color) and, at
    times, a second object beside it; a key light of 2700-8000 K or neutral, a fill, walls or daylight, a
    colored wall that bleeds onto the object, a shadow cast on it, and a camera exposure that varies."""
    if style not in STYLES:
        raise ColorEditError(f"unknown PBR style {style!r}; choose from {', '.join(STYLES)}")
    rng = np.random.default_rng(seed)
    objects = [_object(rng, (0.0, 0.0))]
    if rng.random() < 0.35:
        side = rng.choice([-1.0, 1.0])
        objects.append(_object(rng, (float(side * rng.uniform(1.2, 1.5)), float(rng.uniform(-0.8, 0.3)))))
    kelvin = NEUTRAL_KELVIN if rng.random() < 0.45 else float(np.exp(rng.uniform(np.log(2700), np.log(8000))))
    bleed = tuple(int(v) for v in rng.choice([(200, 40, 40), (40, 170, 60), (40, 80, 200), (230, 190, 30)]))
    scene = PbrScene(
        objects=tuple(objects),
        style=style,
        key_kelvin=kelvin,
        key_direction=(float(rng.uniform(-70, 70)), float(rng.uniform(30, 65))),
        fill=float(rng.uniform(0.1, 0.4)),
        ambient=float(rng.uniform(0.03, 0.12)),
        exposure=float(np.exp(rng.uniform(np.log(0.45), np.log(1.15)))),
        wall_color=sample_color(rng) if rng.random() < 0.3 else (190, 188, 182),
        floor_color=(150, 146, 140) if rng.random() < 0.6 else sample_color(rng),
        bleed_color=bleed if rng.random() < 0.22 else None,  # type: ignore[arg-type]
        occluder=bool(rng.random() < 0.2),
        camera=(float(rng.uniform(-20, 20)), float(rng.uniform(8, 28))),
    )
    scene = _key_out_of_view(scene) if style == "studio" else scene  # daylight's sun has no panel
    if scene.occluder and in_view(scene, plank_origin(scene), PLANK_HALF_SIZE):  # it would hide the object
        scene = replace(scene, occluder=False)
    return replace(scene, tags=scene_tags(scene))


def scene_tags(scene: PbrScene) -> tuple[str, ...]:
    """The subsets a scene belongs to, for the reports."""
    obj = scene.target
    tags = [scene.style, obj.shape, obj.material, light_tag(scene.key_kelvin)]
    tags += ["metal" if obj.material == "metal" else "dielectric"]
    if obj.pattern:
        tags += [f"pattern {obj.pattern}", "two-tone" if obj.pattern in TWO_TONE else "textured"]
    if scene.bleed_color is not None:
        tags.append("color bleeding")
    if scene.occluder:
        tags.append("cast shadow")
    if len(scene.objects) > 1:
        tags.append("several objects")
    if scene.exposure < 0.7:
        tags.append("underexposed")
    return tuple(tags)


def with_base_color(scene: PbrScene, color: RGB) -> PbrScene:
    """The scene with only the target's base color (a metal's tint) replaced: what an exact edit draws."""
    return replace(scene, objects=(replace(scene.target, color=tuple(int(v) for v in color)), *scene.objects[1:]))


# -- where the camera, the key and the plank stand -----------------------------------------------------
KEY_DISTANCE, KEY_SIDE = 4.5, 1.6
LOOK_AT = (0.0, 0.55, 0.0)
CAMERA_DISTANCE, FOV = 5.2, 26.0
PLANK_HALF_SIZE = (0.45, 3.0)


def direction(azimuth: float, elevation: float) -> np.ndarray:
    a, e = np.radians(azimuth), np.radians(elevation)
    return np.array([np.sin(a) * np.cos(e), np.sin(e), np.cos(a) * np.cos(e)])


def _basis(origin: np.ndarray, target: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Mitsuba's look_at frame (up = +y): local x, y and z (toward the target) in world space."""
    forward = (target - origin) / np.linalg.norm(target - origin)
    left = np.cross([0, 1, 0], forward)
    left /= np.linalg.norm(left)
    return left, np.cross(forward, left), forward


def plank_origin(scene: PbrScene) -> np.ndarray:
    key = direction(*scene.key_direction)
    across = np.cross(key, [0, 1, 0])
    return np.array(LOOK_AT) + 0.62 * KEY_DISTANCE * key + 0.45 * across / np.linalg.norm(across)


def _key_out_of_view(scene: PbrScene) -> PbrScene:
    """The scene with its key light turned away from the camera, 20 degrees at a time, while the light's
    panel would stand in the frame."""
    while in_view(scene, key_origin(scene), (KEY_SIDE / 2, KEY_SIDE / 2)):
        azimuth, elevation = scene.key_direction
        away = 1.0 if azimuth >= scene.camera[0] else -1.0
        scene = replace(scene, key_direction=(azimuth + 20.0 * away, elevation))
    return scene


def key_origin(scene: PbrScene) -> np.ndarray:
    return np.array(LOOK_AT) + KEY_DISTANCE * direction(*scene.key_direction)


def in_view(scene: PbrScene, origin: np.ndarray, half_size: tuple[float, float], margin: float = 1.15) -> bool:
    """Whether any point of a rectangle facing LOOK_AT from `origin` (a dense grid over it) falls inside the
    camera's frame: a light or a plank there would hide the scene (and blank the mask's AOV pass)."""
    look = np.array(LOOK_AT)
    x, y, _ = _basis(origin, look)
    u, v = np.meshgrid(np.linspace(-1, 1, 9), np.linspace(-1, 1, 41))
    points = origin + (u.ravel()[:, None] * half_size[0]) * x + (v.ravel()[:, None] * half_size[1]) * y
    camera = look + CAMERA_DISTANCE * direction(*scene.camera)
    right, up, forward = _basis(camera, look)
    depth = (points - camera) @ forward
    half = margin * np.tan(np.radians(FOV / 2))
    seen = (
        (depth > 0)
        & (np.abs((points - camera) @ right) < half * depth)
        & (np.abs((points - camera) @ up) < half * depth)
    )
    return bool(seen.any())
