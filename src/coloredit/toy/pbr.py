"""A path-traced toy world (Mitsuba 3): the judge of every color number, because it shares none of the exact
engine's assumptions (soft shadows, bounce light, plastics, tinted metals, textures, tinted lights).

A scene is a small frozen description (`PbrScene`), sampled from a seed, that `scene_dict` turns into a Mitsuba
scene. What a color means here (docs/physics-world.md): an object's `color` is its base color as sRGB bytes, the
albedo of a diffuse or plastic base and the specular tint of a metal; the pixels show it under the scene's own
light and the camera's exposure. The oracle of an edit is the same scene, the same sampler seed, with only the
target object's base color replaced (a pattern's second color, a grain, the light all stay).

Needs the `[pbr]` extra (`pip install -e .[pbr]`). Renders run on one core (`scalar_rgb`) unless told otherwise.
"""

from __future__ import annotations

import hashlib
import tempfile
from dataclasses import dataclass, field, replace
from functools import cache
from pathlib import Path

import numpy as np

from ..colors import linear_to_srgb, srgb_to_linear
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
TEXTURE = 256  # texture side in texels
MAX_DEPTH = 6


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
    if scene.occluder and _in_view(scene, _plank_origin(scene), PLANK_HALF_SIZE):  # it would hide the object
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


# -- geometry -------------------------------------------------------------------------------------------
def _revolve(profile: np.ndarray, segments: int = 64) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A surface of revolution about +y from a polyline profile of (radius, height) points, with u around and
    v along the profile; faces wind so normals point to the profile's right-hand side."""
    angles = np.linspace(0, 2 * np.pi, segments + 1)
    along = np.concatenate([[0], np.cumsum(np.linalg.norm(np.diff(profile, axis=0), axis=1))])
    v = along / along[-1]
    radius, height = profile[:, 0][:, None], profile[:, 1][:, None]
    positions = np.stack(
        [radius * np.cos(angles), np.broadcast_to(height, (len(profile), segments + 1)), -radius * np.sin(angles)],
        axis=-1,
    ).reshape(-1, 3)
    uvs = np.stack(np.broadcast_arrays(angles[None, :] / (2 * np.pi), v[:, None]), axis=-1).reshape(-1, 2)
    rows, cols = len(profile), segments + 1
    i, j = np.meshgrid(np.arange(rows - 1), np.arange(segments), indexing="ij")
    a, b, c, d = i * cols + j, i * cols + j + 1, (i + 1) * cols + j, (i + 1) * cols + j + 1
    faces = np.concatenate([np.stack([a, b, d], -1).reshape(-1, 3), np.stack([a, d, c], -1).reshape(-1, 3)])
    return positions, uvs, faces


def _arc(center: tuple[float, float], radius: float, start: float, stop: float, n: int = 24) -> np.ndarray:
    t = np.radians(np.linspace(start, stop, n))
    return np.stack([center[0] + radius * np.cos(t), center[1] + radius * np.sin(t)], axis=-1)


def _profile(shape: str) -> np.ndarray:
    """Each revolved shape's (radius, height) profile, bottom center to top center, height 1."""
    if shape == "cylinder":
        return np.array([[0, 0], [0.38, 0], [0.4, 0.02], [0.4, 0.98], [0.38, 1.0], [0, 1.0]])
    if shape == "bottle":
        body = [[0, 0], [0.3, 0], [0.32, 0.03], [0.32, 0.55]]
        neck = _arc((0.12, 0.55), 0.2, 0, 90, 12).tolist()
        return np.array([*body, *neck, [0.11, 0.85], [0.11, 0.98], [0.09, 1.0], [0, 1.0]])
    if shape == "vase":
        t = np.linspace(0, 1, 40)
        radius = 0.18 + 0.22 * np.sin(np.pi * (0.15 + 0.85 * t)) ** 2 - 0.06 * t
        return np.concatenate([[[0, 0]], np.stack([radius, t], -1), [[0.0, 1.0]]])[:-1]
    if shape == "mug":  # an open cup with a wall: outside up, over the rim, inside down
        outer = [[0, 0], [0.33, 0], [0.35, 0.02], [0.35, 0.9]]
        rim = _arc((0.33, 0.9), 0.02, 0, 180, 8).tolist()
        return np.array([*outer, *rim, [0.31, 0.1], [0.0, 0.1]])
    raise ValueError(shape)


def _torus(major: float, minor: float, sweep: float = 360.0, segments: int = 64, rings: int = 24):
    """A torus (or a part of one, `sweep` degrees) about +y."""
    circle = _arc((major, 0.0), minor, -90, 270, rings + 1)
    positions, uvs, faces = _revolve(circle, segments)
    if sweep < 360:  # a handle: keep the first `sweep` degrees of the revolution
        angle = np.degrees(np.arctan2(-positions[:, 2], positions[:, 0])) % 360
        keep = np.all(angle[faces] <= sweep + 1e-6, axis=1)
        faces = faces[keep]
    return positions, uvs, faces


def mesh_geometry(shape: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(positions, uvs, faces) of a mesh shape in a unit box standing on y = 0."""
    if shape == "torus":
        positions, uvs, faces = _torus(0.35, 0.15)
        # standing on its edge, sunk into the floor to its center's height 0.15: an arch (the part below the
        # floor, which no ray from above reaches, is left out)
        positions = positions[:, [0, 2, 1]] * [1, 1, -1] + [0, 0.15, 0]
        faces = faces[positions[faces, 1].max(axis=1) > 0]
        return _without_degenerate(positions, uvs, faces)
    positions, uvs, faces = _revolve(_profile(shape))
    if shape == "mug":  # a handle: half a torus on the side, standing upright
        handle_positions, handle_uvs, handle_faces = _handle()
        faces = np.concatenate([faces, handle_faces + len(positions)])
        positions, uvs = np.concatenate([positions, handle_positions]), np.concatenate([uvs, handle_uvs])
    return _without_degenerate(positions, uvs, faces)


def _without_degenerate(positions: np.ndarray, uvs: np.ndarray, faces: np.ndarray):
    """The mesh without zero-area faces (a revolution's poles) and the vertices no face uses, so every
    vertex has a normal."""
    a, b, c = (positions[faces[:, k]] for k in range(3))
    faces = faces[np.linalg.norm(np.cross(b - a, c - a), axis=1) > 1e-12]
    used, faces = np.unique(faces, return_inverse=True)
    return positions[used], uvs[used], faces.reshape(-1, 3)


def _handle() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The mug's handle: half a torus in the x-y plane, attached to the outside wall."""
    positions, uvs, faces = _torus(0.22, 0.045, sweep=180, segments=48, rings=12)
    x, y, z = positions.T  # the half ring lies in x-z for z <= 0; stand it up in x-y, facing +x
    return np.stack([0.33 - z, 0.47 + x, y], -1), uvs, faces[:, ::-1]  # the swap of axes mirrors: rewind


@cache
def _mesh_file(shape: str) -> str:
    """The shape's mesh as an OBJ file, written once per process in a temporary folder."""
    positions, uvs, faces = mesh_geometry(shape)
    lines = [f"v {x:.6f} {y:.6f} {z:.6f}" for x, y, z in positions]
    lines += [f"vt {u:.6f} {v:.6f}" for u, v in uvs]
    lines += [f"f {a}/{a} {b}/{b} {c}/{c}" for a, b, c in faces + 1]
    text = "\n".join(lines) + "\n"
    folder = Path(tempfile.gettempdir()) / "coloredit-pbr-meshes"
    folder.mkdir(exist_ok=True)
    path = folder / f"{shape}-{hashlib.sha256(text.encode()).hexdigest()[:12]}.obj"
    if not path.exists():
        temp = path.with_suffix(f".{np.random.randint(1 << 30)}.tmp")
        temp.write_text(text)
        temp.replace(path)
    return str(path)


# -- textures and materials -----------------------------------------------------------------------------
def _value_noise(rng: np.random.Generator, cells: int) -> np.ndarray:
    """Smooth noise in [0, 1] on the texture, bilinear over a `cells` x `cells` lattice that wraps."""
    lattice = rng.random((cells, cells))
    t = np.arange(TEXTURE) * cells / TEXTURE
    i, f = t.astype(int), t - t.astype(int)
    f = f * f * (3 - 2 * f)
    rows = lattice[i] * (1 - f)[:, None] + lattice[(i + 1) % cells] * f[:, None]
    return rows[:, i] * (1 - f)[None, :] + rows[:, (i + 1) % cells] * f[None, :]


def albedo_texture(obj: PbrObject) -> np.ndarray:
    """The object's base albedo over its (u, v) texture, linear RGB: the base color, times a grain or wood
    figure, or with a second color's stripes, dots or logo. Only `obj.color` differs between a source and its
    oracle; everything else is drawn from `obj.texture_seed`."""
    rng = np.random.default_rng(obj.texture_seed)
    base = srgb_to_linear(np.array(obj.color, dtype=np.float64) / 255.0)
    v, u = np.meshgrid(
        np.linspace(0, 1, TEXTURE, endpoint=False), np.linspace(0, 1, TEXTURE, endpoint=False), indexing="ij"
    )
    shade = np.ones((TEXTURE, TEXTURE))
    second = np.zeros((TEXTURE, TEXTURE), dtype=bool)
    if obj.pattern == "grain":
        shade = 0.7 + 0.3 * (0.6 * _value_noise(rng, 24) + 0.4 * _value_noise(rng, 64))
    elif obj.pattern == "wood":
        rings = v * rng.uniform(6, 12) + 0.8 * _value_noise(rng, 6)
        shade = 0.6 + 0.4 * (0.5 + 0.5 * np.sin(2 * np.pi * rings)) ** 2
    elif obj.pattern == "stripes":
        second = (v * rng.integers(3, 7)) % 1.0 < 0.4
    elif obj.pattern == "dots":
        cu, cv = (u * 10) % 1.0 - 0.5, (v * 5) % 1.0 - 0.5
        second = np.hypot(cu, cv) < 0.28
    elif obj.pattern == "logo":  # a ring with a bar through it, once, on one side
        du, dv = (u - rng.uniform(0.1, 0.4)) * 4, (v - 0.5) * 2
        radius = np.hypot(du, dv)
        second = ((radius > 0.22) & (radius < 0.34)) | ((np.abs(dv) < 0.05) & (np.abs(du) < 0.42))
    albedo = base * shade[..., None]
    if obj.second_color is not None:
        albedo[second] = srgb_to_linear(np.array(obj.second_color, dtype=np.float64) / 255.0)
    return albedo.astype(np.float32)


def _rgb(color: RGB | np.ndarray) -> dict:
    linear = color if isinstance(color, np.ndarray) else srgb_to_linear(np.array(color, dtype=np.float64) / 255.0)
    return {"type": "rgb", "value": [float(c) for c in linear]}


def _bitmap(mi, array: np.ndarray) -> dict:
    return {"type": "bitmap", "bitmap": mi.Bitmap(np.ascontiguousarray(array, dtype=np.float32)), "raw": True}


def material_bsdf(mi, obj: PbrObject) -> dict:
    """The object's BSDF, two-sided (so a mug's inside and a mesh's winding never render black)."""
    albedo = _bitmap(mi, albedo_texture(obj)) if obj.pattern else _rgb(obj.color)
    kinds = {
        "diffuse": {"type": "diffuse", "reflectance": albedo},
        "rough plastic": {
            "type": "roughplastic",
            "distribution": "ggx",
            "alpha": obj.roughness,
            "diffuse_reflectance": albedo,
        },
        "smooth plastic": {"type": "plastic", "diffuse_reflectance": albedo},
        "metal": {
            "type": "roughconductor",
            "material": "none",
            "distribution": "ggx",
            "alpha": obj.roughness,
            "specular_reflectance": _rgb(obj.color),
        },
        "coated": {
            "type": "principled",
            "base_color": albedo,
            "roughness": 0.45,
            "specular": 0.5,
            "clearcoat": 1.0,
            "clearcoat_gloss": 0.95,
        },
        "sheen": {
            "type": "principled",
            "base_color": albedo,
            "roughness": 0.9,
            "specular": 0.2,
            "sheen": 1.0,
            "sheen_tint": 0.3,
        },
    }
    return {"type": "twosided", "material": kinds[obj.material]}


def _diffuse(color: RGB | np.ndarray) -> dict:
    return {"type": "twosided", "material": {"type": "diffuse", "reflectance": _rgb(color)}}


# -- the Mitsuba scene ----------------------------------------------------------------------------------
KEY_DISTANCE, KEY_SIDE = 4.5, 1.6
LOOK_AT = (0.0, 0.55, 0.0)
CAMERA_DISTANCE, FOV = 5.2, 26.0
PLANK_HALF_SIZE = (0.45, 3.0)


def _direction(azimuth: float, elevation: float) -> np.ndarray:
    a, e = np.radians(azimuth), np.radians(elevation)
    return np.array([np.sin(a) * np.cos(e), np.sin(e), np.cos(a) * np.cos(e)])


def _shape(mi, obj: PbrObject, bsdf: dict) -> dict:
    x, z = obj.position
    place = mi.ScalarTransform4f().translate([x, 0.0, z]).rotate([0, 1, 0], obj.turn)
    if obj.shape == "sphere":
        radius = obj.size / 2
        return {"type": "sphere", "center": [x, radius, z], "radius": radius, "bsdf": bsdf}
    if obj.shape == "cube":
        half = obj.size * 0.42
        return {"type": "cube", "to_world": place.translate([0, half, 0]).scale(half), "bsdf": bsdf}
    return {"type": "obj", "filename": _mesh_file(obj.shape), "to_world": place.scale(obj.size), "bsdf": bsdf}


def _sky(size: int = 64) -> np.ndarray:
    """A daylight environment, latitude-longitude, linear: a blue zenith fading to a pale horizon over a
    brown ground."""
    rows = np.linspace(0, 1, size)[:, None]  # 0 = up
    zenith, horizon, ground = np.array([0.25, 0.45, 0.95]), np.array([0.85, 0.9, 1.0]), np.array([0.3, 0.24, 0.18])
    up = np.clip(1 - rows / 0.5, 0, 1) ** 0.6
    sky = horizon + (zenith - horizon) * up[..., None]
    image = np.where(rows[..., None] < 0.5, sky, ground)
    return np.broadcast_to(image, (size, 2 * size, 3)).astype(np.float32)


def _basis(origin: np.ndarray, target: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Mitsuba's look_at frame (up = +y): local x, y and z (toward the target) in world space."""
    forward = (target - origin) / np.linalg.norm(target - origin)
    left = np.cross([0, 1, 0], forward)
    left /= np.linalg.norm(left)
    return left, np.cross(forward, left), forward


def _plank_origin(scene: PbrScene) -> np.ndarray:
    key = _direction(*scene.key_direction)
    across = np.cross(key, [0, 1, 0])
    return np.array(LOOK_AT) + 0.62 * KEY_DISTANCE * key + 0.45 * across / np.linalg.norm(across)


def _key_out_of_view(scene: PbrScene) -> PbrScene:
    """The scene with its key light turned away from the camera, 20 degrees at a time, while the light's
    panel would stand in the frame."""
    while _in_view(scene, _key_origin(scene), (KEY_SIDE / 2, KEY_SIDE / 2)):
        azimuth, elevation = scene.key_direction
        away = 1.0 if azimuth >= scene.camera[0] else -1.0
        scene = replace(scene, key_direction=(azimuth + 20.0 * away, elevation))
    return scene


def _key_origin(scene: PbrScene) -> np.ndarray:
    return np.array(LOOK_AT) + KEY_DISTANCE * _direction(*scene.key_direction)


def _in_view(scene: PbrScene, origin: np.ndarray, half_size: tuple[float, float], margin: float = 1.15) -> bool:
    """Whether any point of a rectangle facing LOOK_AT from `origin` (a dense grid over it) falls inside the
    camera's frame: a light or a plank there would hide the scene (and blank the mask's AOV pass)."""
    look = np.array(LOOK_AT)
    x, y, _ = _basis(origin, look)
    u, v = np.meshgrid(np.linspace(-1, 1, 9), np.linspace(-1, 1, 41))
    points = origin + (u.ravel()[:, None] * half_size[0]) * x + (v.ravel()[:, None] * half_size[1]) * y
    camera = look + CAMERA_DISTANCE * _direction(*scene.camera)
    right, up, forward = _basis(camera, look)
    depth = (points - camera) @ forward
    half = margin * np.tan(np.radians(FOV / 2))
    seen = (
        (depth > 0)
        & (np.abs((points - camera) @ right) < half * depth)
        & (np.abs((points - camera) @ up) < half * depth)
    )
    return bool(seen.any())


def scene_dict(mi, scene: PbrScene, size: int, spp: int, mode: str = "beauty") -> dict:
    """The Mitsuba scene: `beauty` the path-traced picture; `mask` the target white and all else black,
    through the albedo AOV (its coverage per pixel); `albedo` the albedo AOV of the picture's scene."""
    transform = mi.ScalarTransform4f
    camera = np.array(LOOK_AT) + CAMERA_DISTANCE * _direction(*scene.camera)
    if mode == "beauty":
        integrator = {"type": "path", "max_depth": MAX_DEPTH, "rr_depth": MAX_DEPTH + 1, "hide_emitters": True}
        rfilter = {"type": "gaussian"}
    else:
        integrator = {"type": "aov", "aovs": "albedo:albedo"}
        rfilter = {"type": "box"}
    parts = {
        "type": "scene",
        "integrator": integrator,
        "sensor": {
            "type": "perspective",
            "fov": FOV,
            "to_world": transform().look_at(origin=camera.tolist(), target=list(LOOK_AT), up=[0, 1, 0]),
            "film": {"type": "hdrfilm", "width": size, "height": size, "rfilter": rfilter},
            "sampler": {"type": "independent", "sample_count": spp},
        },
    }

    def surface(role: str, color: RGB | np.ndarray, obj: PbrObject | None = None) -> dict:
        if mode == "mask":
            return _diffuse(np.ones(3) if role == "target" else np.zeros(3))
        return material_bsdf(mi, obj) if obj is not None else _diffuse(color)

    for i, obj in enumerate(scene.objects):
        parts[f"object{i}"] = _shape(mi, obj, surface("target" if i == 0 else "other", obj.color, obj))
    parts["floor"] = {
        "type": "rectangle",
        "to_world": transform().rotate([1, 0, 0], -90).scale(14),
        "bsdf": surface("floor", scene.floor_color),
    }
    key = _direction(*scene.key_direction)
    if scene.style == "studio":
        parts["wall"] = {
            "type": "rectangle",
            "to_world": transform().translate([0, 0, -2.6]).scale(14),
            "bsdf": surface("wall", scene.wall_color),
        }
        calibrated = np.pi * KEY_DISTANCE**2 / KEY_SIDE**2  # a white Lambertian facing the key renders ~1.0
        position = _key_origin(scene)
        parts["key"] = {
            "type": "rectangle",
            "to_world": transform()
            .look_at(origin=position.tolist(), target=list(LOOK_AT), up=[0, 1, 0])
            .scale(KEY_SIDE / 2),
            "emitter": {"type": "area", "radiance": _rgb(calibrated * kelvin_rgb(scene.key_kelvin))},
        }
        fill = np.array(LOOK_AT) + 5.0 * _direction(scene.key_direction[0] + 180 - 40, 20)
        parts["fill"] = {
            "type": "rectangle",
            "to_world": transform().look_at(origin=fill.tolist(), target=list(LOOK_AT), up=[0, 1, 0]).scale(1.3),
            "emitter": {"type": "area", "radiance": _rgb(np.full(3, scene.fill * np.pi * 25 / 2.6**2))},
        }
        parts["ambient"] = {"type": "constant", "radiance": _rgb(np.full(3, scene.ambient))}
    else:  # daylight: a sun and a sky, no room
        parts["sun"] = {
            "type": "directional",
            "direction": (-key).tolist(),
            "irradiance": _rgb(np.pi * kelvin_rgb(scene.key_kelvin)),
        }
        parts["sky"] = {"type": "envmap", "bitmap": mi.Bitmap(_sky()), "scale": 2.0 * scene.fill}
    if scene.bleed_color is not None:  # a colored board on the side away from the key, facing the object
        side = -1.0 if scene.key_direction[0] > 0 else 1.0
        parts["board"] = {
            "type": "rectangle",
            "to_world": transform()
            .translate([side * 1.15, 1.0, 0.0])
            .rotate([0, 1, 0], -side * 90)
            .scale([1.2, 1.0, 1]),
            "bsdf": surface("board", scene.bleed_color),
        }
    if scene.occluder:  # a plank near the key, out of the frame: its soft shadow's edge crosses the object
        origin = _plank_origin(scene)
        parts["plank"] = {
            "type": "rectangle",
            "to_world": transform()
            .look_at(origin=origin.tolist(), target=list(LOOK_AT), up=[0, 1, 0])
            .scale([*PLANK_HALF_SIZE, 1]),
            "bsdf": surface("plank", (40, 40, 40)),
        }
    return parts


# -- rendering -----------------------------------------------------------------------------------------
@dataclass
class PbrViews:
    image: np.ndarray  # sRGB bytes, the camera's exposure applied and clipped as a camera clips
    mask: np.ndarray  # bool: pixels at least half covered by the target object
    albedo: np.ndarray  # sRGB bytes of the albedo AOV (kept for training a decomposition)
    linear: np.ndarray  # the exposed picture, linear and unclipped


@cache
def mitsuba(variant: str = "scalar_rgb", threads: int = 1):
    """Mitsuba, set to `variant` and `threads` render threads; a ColorEditError when the extra is missing."""
    try:
        import drjit as dr
        import mitsuba as mi
    except ImportError:
        raise ColorEditError("the PBR world needs Mitsuba 3: pip install -e .[pbr]") from None
    mi.set_variant(variant)
    dr.set_thread_count(threads)
    return mi


def _render(scene: PbrScene, size: int, spp: int, seed: int, mode: str) -> np.ndarray:
    mi = mitsuba()
    return np.array(mi.render(mi.load_dict(scene_dict(mi, scene, size, spp, mode)), seed=seed), dtype=np.float64)


def to_bytes(linear: np.ndarray) -> np.ndarray:
    return (linear_to_srgb(np.clip(linear, 0.0, 1.0)) * 255).round().astype(np.uint8)


def render_picture(scene: PbrScene, size: int = 128, spp: int = 256, seed: int = 0) -> np.ndarray:
    """The exposed picture, linear (unclipped), path traced with sampler `seed`."""
    return _render(scene, size, spp, seed, "beauty")[..., :3] * scene.exposure


def _views(scene: PbrScene, size: int, seed: int, linear: np.ndarray) -> PbrViews:
    coverage = _render(scene, size, 16, seed, "mask")[..., 0]
    albedo = _render(scene, size, 16, seed, "albedo")[..., :3]
    return PbrViews(to_bytes(linear), coverage >= 0.5, to_bytes(albedo), linear)


def render_views(scene: PbrScene, size: int = 128, spp: int = 256, seed: int = 0) -> PbrViews:
    """The picture, the target's mask and the albedo AOV of `scene`."""
    return _views(scene, size, seed, render_picture(scene, size, spp, seed))


def render_edit(
    scene: PbrScene, color: RGB, size: int = 128, spp: int = 256, seed: int = 0
) -> tuple[PbrViews, np.ndarray]:
    """The source's views and the oracle's exposed linear picture, the target's base color set to `color`.

    Both come from one loaded scene, the oracle's only change the target's BSDF parameters, rendered with one
    sampler seed: their Monte Carlo noise is shared wherever light paths do not meet the target. (Loading a
    scene twice is not enough: Mitsuba may order the emitters differently on each load, and the same random
    numbers then pick other lights.)"""
    mi = mitsuba()
    loaded = mi.load_dict(scene_dict(mi, scene, size, spp))
    source = np.array(mi.render(loaded, seed=seed), dtype=np.float64)[..., :3] * scene.exposure
    params = mi.traverse(loaded)
    target = mi.traverse(mi.load_dict(scene_dict(mi, with_base_color(scene, color), size, 1)))
    for key in [k for k in params.keys() if k.startswith("object0.bsdf.")]:  # noqa: SIM118 (not a dict)
        params[key] = target[key]
    params.update()
    oracle = np.array(mi.render(loaded, seed=seed), dtype=np.float64)[..., :3] * scene.exposure
    return _views(scene, size, seed, source), oracle
