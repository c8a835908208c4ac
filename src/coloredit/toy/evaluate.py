"""Scoring the toy world from pixels alone: object mask, object hue, shape, and edit measures.

Shape metric: three features of the object's mask (its largest connected part) that a person would use:
a hole (ring), concavity (star: area over convex hull), and how much of its circumscribed circle it fills
(ball > square > triangle); thresholds set on rendered ground truth (`classify_shape`).
"""

from __future__ import annotations

import time

import numpy as np
from scipy import ndimage
from scipy.spatial import ConvexHull

from ..colors import NAMED_HUES, hue_distance, mean_hue, rgb_to_hsv
from .render import COLORS, SHAPES


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


def shape_features(mask: np.ndarray) -> tuple[float, float, float] | None:
    """(hole, solidity, extent) of the mask's largest connected part: the share of its outline that is a
    hole, its area over its convex hull's, and its area over its circumscribed circle's (about the centroid).
    Pixels count as squares (hull and radius over pixel corners). None when there is no object."""
    labels, count = ndimage.label(mask)
    if count == 0:
        return None
    part = labels == (np.argmax(np.bincount(labels.ravel())[1:]) + 1)
    filled = ndimage.binary_fill_holes(part)
    area = float(filled.sum())
    ys, xs = np.nonzero(filled)
    corners = np.concatenate([np.stack([ys + dy, xs + dx], axis=1) for dy in (0, 1) for dx in (0, 1)])
    hull = ConvexHull(corners).volume
    radius = np.sqrt(((corners - [ys.mean() + 0.5, xs.mean() + 0.5]) ** 2).sum(axis=1)).max()
    return (area - part.sum()) / area, area / hull, area / (np.pi * radius**2)


# Thresholds at the middle of the gaps between shapes on rendered ground truth (150 renders a shape):
# hole 0 vs 0.23-0.30 (ring); solidity 0.57-0.66 (star) vs >= 0.82; extent 0.39-0.51 (triangle),
# 0.57-0.71 (square), 0.81-0.90 (ball). Invariant to rotation, size and the number of a star's points.
HOLE, SOLIDITY, BALL_EXTENT, SQUARE_EXTENT = 0.1, 0.74, 0.76, 0.54


def classify_shape(mask: np.ndarray) -> str | None:
    """The toy shape an object mask shows, from its shape features; None when there is no object."""
    features = shape_features(mask)
    if features is None:
        return None
    hole, solidity, extent = features
    if hole > HOLE:
        return "ring"
    if solidity < SOLIDITY:
        return "star"
    return "ball" if extent > BALL_EXTENT else "square" if extent > SQUARE_EXTENT else "triangle"


def score_generation(
    pipe, per_pair: int = 1, steps: int = 50, guidance: float = 7.5, seed: int = 0, batch: int = 40
) -> dict:
    """Generate "a {color} {shape}" for every pair, `per_pair` times; score color and shape. Every sample
    has its own seed (seed, seed + 1, ...): prompts sharing one initial noise would not be independent."""
    pairs = [(c, s) for _ in range(per_pair) for c in COLORS for s in SHAPES]
    prompts = [(c, s, seed + i) for i, (c, s) in enumerate(pairs)]
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
