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

from dataclasses import dataclass
from functools import cache

import numpy as np

from ..colors import linear_to_srgb, srgb_to_linear
from ..errors import ColorEditError
from .pbr_scenes import (
    CAMERA_DISTANCE,
    FOV,
    KEY_DISTANCE,
    KEY_SIDE,
    LOOK_AT,
    PLANK_HALF_SIZE,
    RGB,
    PbrObject,
    PbrScene,
    direction,
    kelvin_rgb,
    key_origin,
    plank_origin,
    with_base_color,
)
from .pbr_shapes import mesh_file

TEXTURE = 256  # texture side in texels
MAX_DEPTH = 6


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


def _shape(mi, obj: PbrObject, bsdf: dict) -> dict:
    x, z = obj.position
    place = mi.ScalarTransform4f().translate([x, 0.0, z]).rotate([0, 1, 0], obj.turn)
    if obj.shape == "sphere":
        radius = obj.size / 2
        return {"type": "sphere", "center": [x, radius, z], "radius": radius, "bsdf": bsdf}
    if obj.shape == "cube":
        half = obj.size * 0.42
        return {"type": "cube", "to_world": place.translate([0, half, 0]).scale(half), "bsdf": bsdf}
    return {"type": "obj", "filename": mesh_file(obj.shape), "to_world": place.scale(obj.size), "bsdf": bsdf}


def _sky(size: int = 64) -> np.ndarray:
    """A daylight environment, latitude-longitude, linear: a blue zenith fading to a pale horizon over a
    brown ground."""
    rows = np.linspace(0, 1, size)[:, None]  # 0 = up
    zenith, horizon, ground = np.array([0.25, 0.45, 0.95]), np.array([0.85, 0.9, 1.0]), np.array([0.3, 0.24, 0.18])
    up = np.clip(1 - rows / 0.5, 0, 1) ** 0.6
    sky = horizon + (zenith - horizon) * up[..., None]
    image = np.where(rows[..., None] < 0.5, sky, ground)
    return np.broadcast_to(image, (size, 2 * size, 3)).astype(np.float32)


def scene_dict(mi, scene: PbrScene, size: int, spp: int, mode: str = "beauty") -> dict:
    """The Mitsuba scene: `beauty` the path-traced picture; `mask` the target white and all else black,
    through the albedo AOV (its coverage per pixel); `albedo` the albedo AOV of the picture's scene."""
    transform = mi.ScalarTransform4f
    camera = np.array(LOOK_AT) + CAMERA_DISTANCE * direction(*scene.camera)
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
    parts.update(_lights(mi, scene, surface))
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
        origin = plank_origin(scene)
        parts["plank"] = {
            "type": "rectangle",
            "to_world": transform()
            .look_at(origin=origin.tolist(), target=list(LOOK_AT), up=[0, 1, 0])
            .scale([*PLANK_HALF_SIZE, 1]),
            "bsdf": surface("plank", (40, 40, 40)),
        }
    return parts


def _lights(mi, scene: PbrScene, surface) -> dict:
    """The scene's light: a studio's calibrated key, fill and ambient in a room with a back wall, or daylight's
    sun and sky with no room."""
    transform = mi.ScalarTransform4f
    lights = {}
    key = direction(*scene.key_direction)
    if scene.style == "studio":
        lights["wall"] = {
            "type": "rectangle",
            "to_world": transform().translate([0, 0, -2.6]).scale(14),
            "bsdf": surface("wall", scene.wall_color),
        }
        calibrated = np.pi * KEY_DISTANCE**2 / KEY_SIDE**2  # a white Lambertian facing the key renders ~1.0
        position = key_origin(scene)
        lights["key"] = {
            "type": "rectangle",
            "to_world": transform()
            .look_at(origin=position.tolist(), target=list(LOOK_AT), up=[0, 1, 0])
            .scale(KEY_SIDE / 2),
            "emitter": {"type": "area", "radiance": _rgb(calibrated * kelvin_rgb(scene.key_kelvin))},
        }
        fill = np.array(LOOK_AT) + 5.0 * direction(scene.key_direction[0] + 180 - 40, 20)
        lights["fill"] = {
            "type": "rectangle",
            "to_world": transform().look_at(origin=fill.tolist(), target=list(LOOK_AT), up=[0, 1, 0]).scale(1.3),
            "emitter": {"type": "area", "radiance": _rgb(np.full(3, scene.fill * np.pi * 25 / 2.6**2))},
        }
        lights["ambient"] = {"type": "constant", "radiance": _rgb(np.full(3, scene.ambient))}
    else:  # daylight: a sun and a sky, no room
        lights["sun"] = {
            "type": "directional",
            "direction": (-key).tolist(),
            "irradiance": _rgb(np.pi * kelvin_rgb(scene.key_kelvin)),
        }
        lights["sky"] = {"type": "envmap", "bitmap": mi.Bitmap(_sky()), "scale": 2.0 * scene.fill}
    return lights


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
