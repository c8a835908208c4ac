"""Training scenes from the physically based world: what one picture cannot say (the light, the albedo) is
what the renderer knows, so the world teaches it. Each sample keeps the picture, the target's mask, its albedo
AOV and the scene's facts (base color, material, light color and level); a third of them are single objects
in plain rooms, as references are drawn. Resumable: one file a sample, written atomically."""

from __future__ import annotations

import json
import os
from dataclasses import asdict, replace
from pathlib import Path

import numpy as np
from tqdm import tqdm

from . import pbr, pbr_scenes

FIRST_SEED = 70_000_000  # the sets share no scene: tune, test and OOD start at 71, 72 and 73 million
REFERENCE_EVERY = 3  # every third scene: one plain object, as a reference image is rendered
SIZE, SPP = 128, 64


def training_scene(index: int) -> pbr_scenes.PbrScene:
    """The `index`-th training scene (deterministic, so processes split the work by index)."""
    scene = pbr_scenes.sample_pbr_scene(FIRST_SEED + index, "studio")
    if index % REFERENCE_EVERY == 0:
        obj = replace(scene.target, pattern=None, second_color=None)
        scene = replace(scene, objects=(obj,), bleed_color=None, occluder=False)
    return scene


def facts(scene: pbr_scenes.PbrScene) -> dict:
    """What the renderer knows and a photo does not: the target's base color and material, and the key's
    color (linear RGB, balanced to D65) and the camera's exposure."""
    target = scene.target
    return {
        "base_color": list(target.color),
        "material": target.material,
        "pattern": target.pattern,
        "key_rgb": [float(v) for v in pbr_scenes.kelvin_rgb(scene.key_kelvin)],
        "exposure": scene.exposure,
        "scene": asdict(scene),
    }


def render_training_set(
    out: Path, count: int, size: int = SIZE, spp: int = SPP, rank: int = 0, world: int = 1, progress: bool = True
) -> int:
    """Render the first `count` training scenes into `out` (this process: every `world`-th from `rank`),
    skipping those done; returns how many are on disk."""
    out.mkdir(parents=True, exist_ok=True)
    pbr.mitsuba()
    todo = [i for i in range(rank, count, world) if not (out / f"{i:06d}.npz").exists()]
    for index in tqdm(todo, desc=f"render training scenes r{rank}", disable=not progress):
        scene = training_scene(index)
        views = pbr.render_views(scene, size, spp, seed=0)
        part = out / f".{index:06d}.tmp.npz"
        np.savez_compressed(
            part, image=views.image, mask=views.mask, albedo=views.albedo, facts=json.dumps(facts(scene))
        )
        os.replace(part, out / f"{index:06d}.npz")
    return len(list(out.glob("[0-9]*.npz")))


def load_sample(path: Path) -> dict:
    with np.load(path) as data:
        sample = {k: data[k] for k in ("image", "mask", "albedo")}
        sample["facts"] = json.loads(str(data["facts"]))
    return sample
