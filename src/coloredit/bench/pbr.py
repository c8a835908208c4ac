"""COLORBENCH-PBR: benchmark folders path-traced by Mitsuba (`toy.pbr`), the judge that shares none of the
exact engine's assumptions. Resumable and split over processes; the Monte Carlo noise floor is measured as it
renders and written beside the manifest, so every report can print it.

Each sample: the source, the target's mask (an AOV pass), the oracle (the same scene and sampler seed with
only the target's base color replaced), the source's albedo AOV, and the target: half of them a hex (the
reference is its swatch), half a reference, a single object of the target base color in another scene,
rendered with its mask.
"""

from __future__ import annotations

import fcntl
import json
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
from PIL import Image
from tqdm import tqdm

from ..colors import delta_e00, name_color, rgb_to_lab, to_hex
from ..errors import ColorEditError
from ..toy import pbr, pbr_scenes
from ..toy.render import sample_color
from .manifest import Sample, mask_image, parse_line, sample_line, save_image, write_json, write_manifest

# each set: its light and environment style, and the first scene seed (the sets share no scene)
SETS = {"tune": ("studio", 71_000_000), "test": ("studio", 72_000_000), "ood": ("daylight", 73_000_000)}
REFERENCE_SEEDS = 500_000_000  # a reference's scene: its sample's seed plus this
MIN_CHANGE = 12.0  # CIEDE2000 between the source's and the target's base color, at least
NOISE_EVERY = 10  # every tenth sample's source is rendered twice (another sampler seed): the noise floor
SWATCH = 64
MIN_PIXELS = 16  # a target hidden this much (behind the other object) is skipped, and counted as skipped
SPP, SIZE = 256, 128
RECORDS = "records"


@dataclass(frozen=True)
class PbrEdit:
    """One sample's plan, drawn from its seed: the scene, the target base color, and how it is given."""

    seed: int
    scene: pbr_scenes.PbrScene
    target_rgb: tuple[int, int, int]
    kind: str  # hex | reference
    reference: pbr_scenes.PbrScene | None

    @property
    def tags(self) -> tuple[str, ...]:
        source, target = (rgb_to_lab(np.array(c) / 255.0) for c in (self.scene.target.color, self.target_rgb))
        change = target[0] - source[0]
        tags = [*self.scene.tags, f"{self.kind} target"]
        tags.append("lighter" if change > 15 else "darker" if change < -15 else "same lightness")
        if source[0] < 30:
            tags.append("dark source")
        if source[0] > 85:
            tags.append("light source")
        if np.hypot(*source[1:]) < 8:
            tags.append("achromatic source")
        return tuple(tags)


def plan_edit(set_name: str, index: int) -> PbrEdit:
    """The `index`-th edit of a set: deterministic, so any process, at any time, plans the same edit."""
    style, first = SETS[set_name]
    seed = first + index
    scene = pbr_scenes.sample_pbr_scene(seed, style)
    rng = np.random.default_rng([seed, 1])
    source_lab = rgb_to_lab(np.array(scene.target.color) / 255.0)
    metal = scene.target.material == "metal"
    while True:
        target = pbr_scenes.metal_tint(rng) if metal else sample_color(rng)
        if delta_e00(source_lab, rgb_to_lab(np.array(target) / 255.0)) >= MIN_CHANGE:
            break
    kind = "hex" if index % 2 else "reference"
    reference = None
    if kind == "reference":  # one object of the target color, in its own scene and light
        other = pbr_scenes.sample_pbr_scene(seed + REFERENCE_SEEDS, style)
        material = scene.target.material if metal else other.target.material
        material = "diffuse" if material == "metal" and not metal else material
        obj = replace(other.target, material=material, color=target, pattern=None, second_color=None)
        reference = replace(other, objects=(obj,), bleed_color=None, occluder=False)
    return PbrEdit(seed, scene, target, kind, reference)


def caption(obj: pbr_scenes.PbrObject) -> str:
    """What a person would type: color, material and noun."""
    return f"a {name_color(obj.color)} {pbr_scenes.MATERIAL_WORDS[obj.material]} {pbr_scenes.NOUNS[obj.shape]}"


def noise_floor(first: np.ndarray, second: np.ndarray, mask: np.ndarray) -> float:
    """Median per-pixel CIEDE2000 between two renders of one scene with different sampler seeds, over the
    object's interior (the same statistic as the appearance metric)."""
    from ..measure import appearance

    return appearance(first, second, mask)


def render_sample(edit: PbrEdit, out: Path, sid: str, size: int, spp: int, measure_noise: bool) -> dict:
    """Render one sample's files into `out` and return its record (the manifest line, and the noise), or
    the reason it was skipped."""
    views, oracle_linear = pbr.render_edit(edit.scene, edit.target_rgb, size, spp, seed=0)
    if views.mask.sum() < MIN_PIXELS:
        return {"skipped": f"the target covers {int(views.mask.sum())} pixels (fewer than {MIN_PIXELS})"}
    oracle = pbr.to_bytes(oracle_linear)
    files = {
        "source": save_image(out, "sources", f"{sid}.png", views.image),
        "mask": save_image(out, "masks", f"{sid}.png", mask_image(views.mask)),
        "oracle": save_image(out, "oracles", f"{sid}.png", oracle),
        "albedo": save_image(out, "albedos", f"{sid}.png", views.albedo),
    }
    if edit.reference is None:
        swatch = Image.new("RGB", (SWATCH, SWATCH), edit.target_rgb)
        files |= {"reference": save_image(out, "references", f"{sid}.png", swatch), "reference_mask": ""}
        reference_prompt = f"{name_color(edit.target_rgb)} ({to_hex(edit.target_rgb)})"
    else:
        reference = pbr.render_views(edit.reference, size, max(spp // 2, 1), seed=0)
        files |= {
            "reference": save_image(out, "references", f"{sid}.png", reference.image),
            "reference_mask": save_image(out, "reference_masks", f"{sid}.png", mask_image(reference.mask)),
        }
        reference_prompt = caption(edit.reference.target)
    sample = Sample(
        id=sid,
        split="real",  # rendered, not generated: every method inverts it
        source_prompt=caption(edit.scene.target),
        object=pbr_scenes.NOUNS[edit.scene.target.shape],
        target_color=name_color(edit.target_rgb),
        target_rgb=edit.target_rgb,
        reference_prompt=reference_prompt,
        seed=edit.seed,
        target_kind=edit.kind,
        tags=edit.tags,
        **files,
    )
    record = {"sample": json.loads(sample_line(sample))}
    if measure_noise:
        again = pbr.to_bytes(pbr.render_picture(edit.scene, size, spp, seed=1))
        record["noise"] = noise_floor(views.image, again, views.mask)
    return record


def build_pbr(
    out: Path,
    count: int,
    set_name: str = "test",
    size: int = SIZE,
    spp: int = SPP,
    rank: int = 0,
    world: int = 1,
    progress: bool = True,
) -> list[Sample]:
    """Render the first `count` edits of `set_name` into `out` (this process: every `world`-th from `rank`),
    skipping those already rendered, then rewrite the manifest and `bench.json` from every finished sample.
    A build stopped at any moment loses at most the sample it was rendering."""
    if set_name not in SETS:
        raise ColorEditError(f"unknown PBR set {set_name!r}; choose from {', '.join(SETS)}")
    if count < 1 or size < 8 or spp < 1:
        raise ColorEditError("--n must be at least 1, --size at least 8 and --spp at least 1")
    pbr.mitsuba()  # a missing extra fails before any file is written
    records = out / RECORDS
    records.mkdir(parents=True, exist_ok=True)
    settings = {"world": "pbr", "set": set_name, "size": size, "spp": spp}
    _check_settings(out, settings)
    todo = [i for i in range(rank, count, world) if not (records / f"pbr-{set_name}-{i:05d}.json").exists()]
    for index in tqdm(todo, desc=f"render {set_name} r{rank}", disable=not progress):
        sid = f"pbr-{set_name}-{index:05d}"
        record = render_sample(plan_edit(set_name, index), out, sid, size, spp, index % NOISE_EVERY == 0)
        write_json(records / f"{sid}.json", record)
    return write_index(out, settings)


def _check_settings(out: Path, settings: dict) -> None:
    """A folder holds one set at one size and one sample count per pixel: resuming with others would mix them."""
    info = out / "bench.json"
    if info.exists():
        known = {k: json.loads(info.read_text()).get(k) for k in settings}
        if known != settings:
            raise ColorEditError(f"{out} holds {known}; resume it with the same set, --size and --spp")
    else:
        write_json(info, {**settings, "model": "toy", "samples": 0})


def write_index(out: Path, settings: dict) -> list[Sample]:
    """The manifest and bench.json (with the noise floor) from every finished sample, under a file lock."""
    with open(out / ".index.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        every = [json.loads(p.read_text()) for p in sorted((out / RECORDS).glob("*.json"))]
        records = [r for r in every if "sample" in r]
        samples = [parse_line(json.dumps(r["sample"]), n, out, check_files=False) for n, r in enumerate(records, 1)]
        write_manifest(out, samples)
        noise = [r["noise"] for r in records if "noise" in r]
        floor = {"median": float(np.median(noise)), "max": float(np.max(noise)), "scenes": len(noise)} if noise else {}
        described = {**settings, "model": "toy", "samples": len(samples), "skipped": len(every) - len(records)}
        write_json(out / "bench.json", described | {"noise_floor": floor})
    return samples
