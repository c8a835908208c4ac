"""Scoring the toy model on held-out scenes of both renderer styles: what its VAE keeps, what it generates,
and how well the pipeline's default inversion reconstructs an image when nothing is edited.

Colors are CIEDE2000 (ΔE00) of an object's mean CIELAB (`bench.metrics.color.object_lab`); generated objects
are found by the detector (`toy/detector.py`) from pixels alone, never with the caption's help, and a color
word is right when the object's mean color is nearest that word's nominal color among the 12 basic terms.
"""

from __future__ import annotations

import time
from dataclasses import replace

import numpy as np
import torch
from scipy import ndimage
from tqdm import tqdm

from ..colors import BASIC_COLORS, COLOR_TERMS, delta_e00, lab_to_rgb, name_color, rgb_to_lab, to_hex
from ..config import EDITS_OFF
from ..images import feather_radius, feather_weights
from ..measure import appearance, delta_e_object, hue_spread, object_lab
from .render import SHAPES, STYLES, Scene, draw, render

HELD_OUT_SEEDS = {"v2": 60_000_000, "toon": 61_000_000}  # no training or tuning set draws here
OBJECT_DIFFERS = 8.0  # CIELAB ΔE00 from the empty room above which a pixel shows the object (for IoU)
NO_EDIT = dict(EDITS_OFF, color_transfer=False, exact_color=False)


def held_out_scenes(count: int, style: str = "v2") -> list[Scene]:
    return [render(HELD_OUT_SEEDS[style] + i, style=style) for i in range(count)]


def basic_name(lab: np.ndarray) -> str:
    """The basic color term nearest to a CIELAB color."""
    return name_color(lab_to_rgb(lab) * 255.0, basic=True)


def iou(a: np.ndarray, b: np.ndarray) -> float:
    union = np.logical_or(a, b).sum()
    return float(np.logical_and(a, b).sum() / union) if union else 0.0


def background_change(edited: np.ndarray, source: np.ndarray, mask: np.ndarray) -> float:
    """Mean absolute difference (0-255) outside the object mask."""
    return float(np.abs(edited.astype(np.float64) - source.astype(np.float64))[~mask].mean())


def object_tags(scene: Scene, index: int) -> list[str]:
    """What kind of object this is: its style, and black / white / grey / dark / light, glossy, two-tone."""
    obj = scene.spec.objects[index]
    lightness, a, b = rgb_to_lab(np.array(obj.color) / 255.0)
    chroma = np.hypot(a, b)
    tags = [scene.spec.style]
    if chroma < 10:
        tags.append("black" if lightness < 25 else "white" if lightness > 85 else "grey")
    elif lightness < 40:
        tags.append("dark")
    elif lightness > 75:
        tags.append("light")
    if obj.glossy:
        tags.append("glossy")
    if obj.pattern:
        tags.append("two-tone")
    return tags


def summarize(rows: list[dict], key: str) -> dict:
    """Median and p90 of `key`, overall and for every tag the rows carry."""

    def stats(values):
        return {
            "n": len(values),
            "median": round(float(np.median(values)), 2),
            "p90": round(float(np.percentile(values, 90)), 2),
        }

    tags = sorted({t for r in rows for t in r["tags"]})
    return {"all": stats([r[key] for r in rows]), **{t: stats([r[key] for r in rows if t in r["tags"]]) for t in tags}}


@torch.no_grad()
def vae_round_trip(pipe, scenes: list[Scene]) -> dict:
    """Encode (latent mean) and decode every scene; ΔE00 of every visible object's mean color."""
    rows = []
    for scene in tqdm(scenes, desc="vae round trip", mininterval=5):
        decoded = np.asarray(pipe.decode(pipe.encode_image(_image(scene.image))))
        for i, mask in enumerate(scene.masks):
            if mask.sum() >= 4:
                error = delta_e00(object_lab(decoded, mask), object_lab(scene.image, mask))
                rows.append({"delta_e": float(error), "tags": object_tags(scene, i)})
    return summarize(rows, "delta_e")


def _image(array: np.ndarray):
    from PIL import Image

    return Image.fromarray(array)


def score_generation(
    pipe,
    per_pair: int = 1,
    steps: int = 50,
    guidance: float = 7.5,
    seed: int = 0,
    batch: int = 40,
    two_object: int = 60,
    detector=None,
) -> dict:
    """Generate "a {color} {shape}" `per_pair` times for each of the 12 basic color words and each shape, and
    `two_object` prompts "a {color} {shape} and a {color} {shape}" (left to right, as the captions order
    them); every sample has its own seed. Scored from pixels by the detector."""
    from .detector import Detector

    detector = detector or Detector()
    rng = np.random.default_rng(seed)
    colors = list(BASIC_COLORS)
    singles = [((c, s),) for _ in range(per_pair) for c in colors for s in SHAPES]
    doubles = []
    for _ in range(two_object):
        c = rng.choice(len(colors), 2, replace=False)
        s = rng.choice(len(SHAPES), 2, replace=False)
        doubles.append(((colors[c[0]], SHAPES[s[0]]), (colors[c[1]], SHAPES[s[1]])))
    prompts = singles + doubles
    started, rows = time.perf_counter(), []
    for i in tqdm(range(0, len(prompts), batch), desc="generate", mininterval=5):
        chunk = prompts[i : i + batch]
        texts = [" and ".join(f"a {c} {s}" for c, s in objects) for objects in chunk]
        images = pipe.generate(texts, list(range(seed + i, seed + i + len(chunk))), steps, guidance)
        for objects, image in zip(chunk, images, strict=True):
            pixels = np.asarray(image)
            found = detector.detect(pixels)[: len(objects)]
            found = sorted(found, key=lambda f: f.cx) if len(objects) > 1 else found
            color_right = shape_right = len(found) == len(objects)
            for (color, shape), f in zip(objects, found, strict=False):
                color_right &= basic_name(object_lab(pixels, f.mask)) == color
                shape_right &= f.shape == shape
            rows.append({"objects": objects, "color_right": bool(color_right), "shape_right": bool(shape_right)})
    single, double = rows[: len(singles)], rows[len(singles) :]
    by = lambda key, index, value: _share([r[key] for r in single if r["objects"][0][index] == value])  # noqa: E731
    return {
        "samples": len(single),
        "color_accuracy": _share([r["color_right"] for r in single]),
        "shape_accuracy": _share([r["shape_right"] for r in single]),
        "color_accuracy_by_color": {c: by("color_right", 0, c) for c in colors},
        "color_accuracy_by_shape": {s: by("color_right", 1, s) for s in SHAPES},
        "shape_accuracy_by_shape": {s: by("shape_right", 1, s) for s in SHAPES},
        "two_object_samples": len(double),
        "two_object_colors_right": _share([r["color_right"] for r in double]),
        "two_object_all_right": _share([r["color_right"] and r["shape_right"] for r in double]),
        "seconds": round(time.perf_counter() - started, 1),
    }


def _share(flags: list[bool]) -> float:
    """The share of true flags; NaN, without numpy's warning, when there are none."""
    return float(np.mean(flags)) if flags else float("nan")


def detector_ceiling(per_pair: int = 2, two_object: int = 150, seed: int = 0, detector=None) -> dict:
    """How `score_generation` scores ground truth: renders of the same prompts (one object of a basic color
    and a shape; two objects of two colors and shapes, plain and matte), scored by the same detector. What a
    perfect model would reach."""
    from .detector import Detector
    from .render import sample_scene

    detector = detector or Detector()
    colors, rng, offset = list(BASIC_COLORS), np.random.default_rng(seed), HELD_OUT_SEEDS["v2"] + 800_000
    plain = dict(pattern=None, glossy=False, jpeg=0)
    shapes = {s: [] for s in SHAPES}
    for i, (c, s) in enumerate([(c, s) for _ in range(per_pair) for c in colors for s in SHAPES]):
        scene = render(offset + i, shape=s, color=c, objects=1, **plain)
        found = detector.detect(scene.image)[:1]
        shapes[s].append(bool(found) and found[0].shape == s)
    both_found = both_colors = 0
    for i in range(two_object):
        c, s = rng.choice(len(colors), 2, replace=False), rng.choice(len(SHAPES), 2, replace=False)
        spec = sample_scene(offset + 100_000 + i, objects=2, jpeg=0)
        objects = [
            replace(o, shape=SHAPES[s[k]], color=COLOR_TERMS[colors[c[k]]], pattern=None, glossy=False)
            for k, o in enumerate(spec.objects)
        ]
        pixels = draw(replace(spec, objects=tuple(objects))).image
        found = sorted(detector.detect(pixels)[:2], key=lambda f: f.cx)
        if len(found) < 2:
            continue
        both_found += 1
        wanted = [colors[c[k]] for k in np.argsort([o.cx for o in objects])]
        both_colors += [basic_name(object_lab(pixels, f.mask)) for f in found] == wanted
    return {
        "shape_accuracy": float(np.mean([x for v in shapes.values() for x in v])),
        "shape_accuracy_by_shape": {s: float(np.mean(v)) for s, v in shapes.items()},
        "two_object_both_found": both_found / two_object,
        "two_object_colors_right": both_colors / two_object,
    }


def reconstruction(pipe, scenes: list[Scene], config=None) -> dict:
    """Every intervention off, the pipeline's default inversion, no paste-back: how far the target branch
    lands from the source (object ΔE00, background change /255) when nothing should change."""
    from ..config import preset

    config = config or preset().replace(**NO_EDIT, paste_back=False)
    rows = []
    for scene in tqdm(scenes, desc="reconstruction", mininterval=5):
        color = to_hex(scene.spec.objects[0].color)
        out = np.asarray(pipe(scene.caption, scene.mask, image=scene.image, color=color, config=config).image)
        rows.append(
            {
                "delta_e": float(delta_e00(object_lab(out, scene.mask), object_lab(scene.image, scene.mask))),
                "background": background_change(out, scene.image, scene.mask),
                "tags": object_tags(scene, 0),
            }
        )
    return {"object_delta_e": summarize(rows, "delta_e"), "background_change": summarize(rows, "background")}


def attention_mask_iou(pipe, count: int, style: str = "v2") -> dict:
    """`coloredit mask --text` on held-out two-object scenes: the first object named as captions name it
    ("dark red cup"), its mask from the model's own cross-attention; IoU with the true mask."""
    from ..errors import ColorEditError
    from ..masks import attention_mask

    rows = []
    for i in tqdm(range(count), desc=f"attention masks ({style})", mininterval=5):
        scene = render(HELD_OUT_SEEDS[style] + 500_000 + i, style=style, objects=2)
        target = scene.spec.objects[0]
        try:
            found = attention_mask(pipe, scene.image, f"{name_color(target.color)} {target.shape}")
        except ColorEditError:  # nothing found: IoU 0
            found = np.zeros_like(scene.mask)
        rows.append({"iou": iou(found, scene.mask), "tags": object_tags(scene, 0)})
    return summarize(rows, "iou")


def plate(scene: Scene) -> np.ndarray:
    """The scene rendered without its first object: the room behind it."""
    return draw(replace(scene.spec, objects=scene.spec.objects[1:])).image


def object_pixels(image: np.ndarray, empty_room: np.ndarray, near: np.ndarray) -> np.ndarray:
    """Pixels near the object that differ from the empty room: what the image shows as the object."""
    differs = delta_e00(rgb_to_lab(image / 255.0), rgb_to_lab(empty_room / 255.0)) > OBJECT_DIFFERS
    return differs & near


def object_iou(edited: np.ndarray, oracle: np.ndarray, mask: np.ndarray, empty_room: np.ndarray) -> float:
    """IoU of the object the edit shows with the one the oracle shows, near the mask (a halo, a lost part)."""
    near = ndimage.binary_dilation(mask, iterations=3)
    shown, intended = object_pixels(edited, empty_room, near), object_pixels(oracle, empty_room, near)
    union = (shown | intended).sum()
    return float((shown & intended).sum() / union) if union else 1.0


def background_identical(edited: np.ndarray, source: np.ndarray, mask: np.ndarray, feather: float) -> bool:
    """Whether the pixels outside the mask feathered over `feather` are the source's bytes."""
    outside = feather_weights(mask, feather_radius(feather, mask.shape)) == 0
    return bool(np.array_equal(edited[outside], source[outside]))


def oracle_scores(
    source: Scene, oracle: np.ndarray, edited: np.ndarray, feather: float, empty_room: np.ndarray
) -> dict:
    """An edit of `source`'s first object against the oracle render: color, appearance, blotches, IoU, and
    whether the background outside the feathered mask kept its bytes."""
    mask = source.mask
    return {
        "delta_e": delta_e_object(edited, mask, oracle),
        "appearance": appearance(edited, oracle, mask),
        "spread_excess": hue_spread(edited, mask) - hue_spread(oracle, mask),
        "iou": object_iou(edited, oracle, mask, empty_room),
        "background_identical": background_identical(edited, source.image, mask, feather),
    }


def evaluate(
    pipe, scenes: int = 100, per_pair: int = 2, two_object: int = 60, reconstructions: int = 24, masks: int = 40
) -> dict:
    """The toy model's report card (`python -m coloredit.toy evaluate`)."""
    report = {}
    for style in STYLES:
        held_out = held_out_scenes(scenes, style)
        report[f"vae_round_trip_{style}"] = vae_round_trip(pipe, held_out)
        report[f"reconstruction_{style}"] = reconstruction(pipe, held_out[:reconstructions])
        report[f"attention_mask_iou_{style}"] = attention_mask_iou(pipe, masks, style)
    report["generation"] = score_generation(pipe, per_pair=per_pair, two_object=two_object)
    report["detector_on_ground_truth"] = detector_ceiling(per_pair=per_pair)
    return report
