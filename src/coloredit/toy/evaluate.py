"""Scoring the toy world from pixels alone: object mask, object hue, shape, and edit measures.

Shape metric: the object's mask (largest connected part) is centred on its centroid and scaled to a
fixed area, then given the shape of the most overlapping (IoU) of 200 such normalized masks per shape
rendered with random size, position and rotation: a 1-nearest-neighbour classifier over ground truth.
"""

from __future__ import annotations

import time
from functools import cache

import numpy as np
from scipy import ndimage

from ..colors import NAMED_HUES, hue_distance, mean_hue, rgb_to_hsv
from .render import COLORS, SHAPES, render

CANVAS, SIDE = 24, 11.0
TEMPLATE_SEEDS = 50_000_000  # renders used as shape templates (training uses seeds below 10 million)


def object_mask(image: np.ndarray) -> np.ndarray:
    """Pixels saturated and bright enough to be the object (backgrounds have saturation <= 0.12)."""
    hsv = rgb_to_hsv(np.asarray(image, dtype=np.float64) / 255.0)
    return (hsv[..., 1] > 0.35) & (hsv[..., 2] > 0.15)


def object_hue(image: np.ndarray, mask: np.ndarray) -> float:
    """Saturation-weighted circular mean hue of the masked pixels, degrees."""
    hsv = rgb_to_hsv(np.asarray(image, dtype=np.float64) / 255.0)
    return mean_hue(hsv[mask])


def nearest_named_color(hue: float) -> str:
    return min(COLORS, key=lambda name: float(hue_distance(hue, NAMED_HUES[name])))


def iou(a: np.ndarray, b: np.ndarray) -> float:
    union = np.logical_or(a, b).sum()
    return float(np.logical_and(a, b).sum() / union) if union else 0.0


def background_change(edited: np.ndarray, source: np.ndarray, mask: np.ndarray) -> float:
    """Mean absolute difference (0-255) outside the object mask."""
    return float(np.abs(edited.astype(np.float64) - source.astype(np.float64))[~mask].mean())


def normalized_mask(mask: np.ndarray) -> np.ndarray | None:
    """The largest connected part of a mask, centred and scaled to a fixed area on a fixed canvas."""
    labels, count = ndimage.label(mask)
    if count == 0:
        return None
    largest = labels == (np.argmax(np.bincount(labels.ravel())[1:]) + 1)
    ys, xs = np.nonzero(largest)
    scale = np.sqrt(len(ys)) / SIDE
    grid = (np.arange(CANVAS) - (CANVAS - 1) / 2) * scale
    rows = np.round(ys.mean() + grid).astype(int)[:, None]
    cols = np.round(xs.mean() + grid).astype(int)[None, :]
    inside = (rows >= 0) & (rows < mask.shape[0]) & (cols >= 0) & (cols < mask.shape[1])
    return np.where(inside, largest[rows.clip(0, mask.shape[0] - 1), cols.clip(0, mask.shape[1] - 1)], False)


@cache
def _templates(per_shape: int = 200) -> tuple[np.ndarray, np.ndarray]:
    masks, labels = [], []
    for index, shape in enumerate(SHAPES):
        for k in range(per_shape):
            masks.append(normalized_mask(render(TEMPLATE_SEEDS + index * per_shape + k, shape=shape).mask).ravel())
            labels.append(index)
    return np.array(masks, dtype=np.float32), np.array(labels)


def classify_shape(mask: np.ndarray) -> str | None:
    """The toy shape whose normalized template overlaps the object most; None when there is no object."""
    normalized = normalized_mask(mask)
    if normalized is None:
        return None
    templates, labels = _templates()
    m = normalized.ravel().astype(np.float32)
    overlap = templates @ m
    scores = overlap / (templates.sum(axis=1) + m.sum() - overlap)
    return SHAPES[labels[int(np.argmax(scores))]]


def score_generation(
    pipe, per_pair: int = 1, steps: int = 50, guidance: float = 5.0, seed: int = 0, batch: int = 40
) -> dict:
    """Generate "a {color} {shape}" for every pair, `per_pair` seeds each; score color and shape."""
    prompts = [(c, s, seed + k) for k in range(per_pair) for c in COLORS for s in SHAPES]
    started, rows = time.perf_counter(), []
    for i in range(0, len(prompts), batch):
        chunk = prompts[i : i + batch]
        images = pipe.generate([f"a {c} {s}" for c, s, _ in chunk], [k for *_, k in chunk], steps, guidance)
        for (color, shape, _), image in zip(chunk, images, strict=True):
            pixels = np.asarray(image)
            mask = object_mask(pixels)
            hue = object_hue(pixels, mask) if mask.any() else float("nan")
            rows.append(
                {
                    "color": color,
                    "shape": shape,
                    "color_right": bool(mask.any() and nearest_named_color(hue) == color),
                    "hue_error": float(hue_distance(hue, NAMED_HUES[color])) if mask.any() else 180.0,
                    "shape_right": classify_shape(mask) == shape,
                }
            )
    return {
        "samples": len(rows),
        "color_accuracy": float(np.mean([r["color_right"] for r in rows])),
        "shape_accuracy": float(np.mean([r["shape_right"] for r in rows])),
        "median_hue_error": float(np.median([r["hue_error"] for r in rows])),
        "shape_accuracy_by_shape": {
            s: float(np.mean([r["shape_right"] for r in rows if r["shape"] == s])) for s in SHAPES
        },
        "color_accuracy_by_color": {
            c: float(np.mean([r["color_right"] for r in rows if r["color"] == c])) for c in COLORS
        },
        "seconds": round(time.perf_counter() - started, 1),
    }


def edit_scores(
    source: np.ndarray, source_mask: np.ndarray, reference: np.ndarray, reference_mask: np.ndarray, edited: np.ndarray
) -> dict[str, float]:
    """How well an edit took the reference's color and kept the source's shape and background."""
    reference_hue = object_hue(reference, reference_mask)
    edited_hue = object_hue(edited, source_mask)
    return {
        "reference_hue": round(reference_hue, 2),
        "edited_hue": round(edited_hue, 2),
        "hue_error": round(float(hue_distance(edited_hue, reference_hue)), 2),
        "iou": round(iou(object_mask(edited), source_mask), 4),
        "background_change": round(background_change(edited, source, source_mask), 3),
        "object_change": round(background_change(edited, source, ~source_mask), 3),
    }
