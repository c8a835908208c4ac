"""Fits the light model (`coloredit.light`) on the physically based world's training scenes (`pbr_data`):
ridge regression for the light, logistic regression for "a metal", the ridge strength chosen by 5-fold
cross-validation. Features are cached beside the scenes, so adding scenes only reads the new ones."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from tqdm import tqdm

from ..exact import decompose, to_linear
from ..light import LUMA, LightModel, features
from .pbr_data import load_sample

STRENGTHS = (1.0, 3.0, 10.0, 30.0, 100.0, 300.0)
FOLDS = 5
CACHE = "features.npz"
COLUMNS = ("x", "scene", "object", "base", "metal")
RELIABLE_BASE = 0.05  # the object's share is learned from base colors at least this luminous (linear)
MIN_PIXELS = 16
TOY_SEED = 97_000_000  # the simple renderer's scenes for the light model; no other set draws from this range
TOY_SCENES = 800
MIN_SCENES = 40  # path-traced scenes, at least


def training_table(data: Path, progress: bool = True) -> dict[str, np.ndarray]:
    """One row a scene: `x` the features; `scene` the log of the light a white surface facing the key shows
    (exposure times the key's color: known exactly); `object` the log of the object's lit color over that
    light times its true base color (its shape and material's share, noisy where the base color is dark);
    `base` the base color's luminance; `metal`."""
    files = sorted(p.name for p in data.glob("[0-9]*.npz"))
    cache = data / CACHE
    rows: dict[str, tuple] = {}
    if cache.exists():
        with np.load(cache) as known:
            rows = {n: tuple(row) for n, *row in zip(known["names"], *(known[k] for k in COLUMNS), strict=True)}
    for name in tqdm([f for f in files if f not in rows], desc="light features", disable=not progress):
        sample = load_sample(data / name)
        if sample["mask"].sum() < MIN_PIXELS:
            continue
        split = decompose(sample["image"], sample["mask"])
        facts = sample["facts"]
        base = to_linear(np.array(facts["base_color"], dtype=np.float64))
        scene = np.log(facts["exposure"] * np.array(facts["key_rgb"]))
        obj = np.log(split.albedo + 1e-4) - np.log(base + 1e-4) - scene
        x = features(to_linear(sample["image"]), sample["mask"], split)
        rows[name] = (x, scene, obj, float(base @ LUMA), facts["material"] == "metal")
    names = sorted(rows)
    table = {k: np.array([rows[n][i] for n in names], dtype=np.float64) for i, k in enumerate(COLUMNS)}
    np.savez(cache, names=np.array(names), **table)
    return table


def toy_table(count: int, progress: bool = True) -> dict[str, np.ndarray]:
    """The same rows from the simple renderer (`toy.render`, style v2), whose key is white and whose lit
    color is the base color by construction (exposure 1): the light model must know both worlds' light."""
    from .render import render

    rows = []
    for seed in tqdm(range(TOY_SEED, TOY_SEED + count), desc="light features, simple renderer", disable=not progress):
        scene = render(seed)
        if scene.mask.sum() < MIN_PIXELS:
            continue
        split = decompose(scene.image, scene.mask)
        base = to_linear(np.array(scene.spec.objects[0].color, dtype=np.float64))
        share = np.log(split.albedo + 1e-4) - np.log(base + 1e-4)
        rows.append(
            (features(to_linear(scene.image), scene.mask, split), np.zeros(3), share, float(base @ LUMA), False)
        )
    return {k: np.array([r[i] for r in rows], dtype=np.float64) for i, k in enumerate(COLUMNS)}


def _design(x: np.ndarray, mean: np.ndarray, scale: np.ndarray) -> np.ndarray:
    return np.concatenate([(x - mean) / scale, np.ones((len(x), 1))], axis=1)


def fit_ridge(z: np.ndarray, y: np.ndarray, strength: float) -> np.ndarray:
    """Ridge weights of `y` on the standardized design `z` (its last column the unpenalized intercept)."""
    penalty = strength * np.eye(z.shape[1])
    penalty[-1, -1] = 0.0
    return np.linalg.solve(z.T @ z + penalty, z.T @ y)


def fit_logistic(z: np.ndarray, labels: np.ndarray, strength: float, steps: int = 50) -> np.ndarray:
    """L2-penalized logistic regression by Newton's method, on the standardized design `z`."""
    weights = np.zeros(z.shape[1])
    penalty = strength * np.eye(z.shape[1])
    penalty[-1, -1] = 0.0
    for _ in range(steps):
        p = 1.0 / (1.0 + np.exp(-np.clip(z @ weights, -30, 30)))
        hessian = (z * (p * (1 - p))[:, None]).T @ z + penalty
        weights = weights - np.linalg.solve(hessian, z.T @ (p - labels) + penalty @ weights)
    return weights


def cross_validated(x: np.ndarray, y: np.ndarray, strength: float, seed: int = 0) -> np.ndarray:
    """Out-of-fold predictions of `y` (ridge with `strength`)."""
    fold = np.random.default_rng(seed).integers(0, FOLDS, len(x))
    predicted = np.zeros_like(y)
    for k in range(FOLDS):
        train, held = fold != k, fold == k
        mean, scale = x[train].mean(axis=0), np.maximum(x[train].std(axis=0), 1e-6)
        predicted[held] = _design(x[held], mean, scale) @ fit_ridge(_design(x[train], mean, scale), y[train], strength)
    return predicted


def _cross_validated_error(x: np.ndarray, y: np.ndarray, strength: float) -> float:
    """Median absolute out-of-fold error of the mean over `y`'s columns (log units)."""
    return float(np.median(np.abs((cross_validated(x, y, strength) - y).mean(axis=1))))


HELD_OUT = 0.2  # share of the scenes the reported errors are measured on (the model is then refitted on all)


def _fit(table: dict[str, np.ndarray], rows: np.ndarray) -> LightModel:
    """The ridge parts fitted on `rows`, each strength chosen by cross-validation: the scene's light from
    every row; the object's share from rows whose base color is light enough to read it, metals and
    dielectrics apart; "a metal" from every row."""
    x, metal = table["x"][rows], table["metal"][rows].astype(bool)
    reliable = table["base"][rows] >= RELIABLE_BASE
    share = (table["object"][rows] @ LUMA)[:, None]  # a level: its color is the scene light's
    parts = {
        "scene": (np.ones(len(x), dtype=bool), table["scene"][rows]),
        "dielectric": (reliable & ~metal, share),
        "metal": (reliable & metal, share),
    }
    mean, scale = x.mean(axis=0), np.maximum(x.std(axis=0), 1e-6)
    z = _design(x, mean, scale)
    weights = {}
    for part, (chosen, target) in parts.items():
        errors = {s: _cross_validated_error(x[chosen], target[chosen], s) for s in STRENGTHS}
        weights[part] = fit_ridge(z[chosen], target[chosen], min(STRENGTHS, key=errors.get))
    share_weights = np.concatenate([weights["dielectric"], weights["metal"]], axis=1)
    return LightModel(mean, scale, weights["scene"], share_weights, fit_logistic(z, metal.astype(np.float64), 1.0))


def _errors(model: LightModel, table: dict[str, np.ndarray], rows: np.ndarray) -> dict[str, float]:
    """Median absolute errors (log units) of the light level and color at the object, and the metal
    detector's accuracy."""
    x = table["x"][rows]
    k = np.log(model.light_of(x))
    true = table["scene"][rows] + (table["object"][rows] @ LUMA)[:, None]
    usable = table["base"][rows] >= RELIABLE_BASE
    residual = (k - true)[usable]
    level = residual @ LUMA
    return {
        "light level": float(np.median(np.abs(level))),
        "light color": float(np.median(np.abs(residual - level[:, None]))),
        "metal accuracy": float(((model.metal_odds(x) > 0.5) == table["metal"][rows].astype(bool)).mean()),
    }


def train_light(data: Path, out: Path, progress: bool = True, toy_scenes: int = TOY_SCENES) -> dict:
    """Fit the light model on the training scenes of both worlds, report its errors on a held-out fifth of
    each, then refit on all of them and save it."""
    pbr, toy = training_table(data, progress), toy_table(toy_scenes, progress)
    if len(pbr["x"]) < MIN_SCENES:
        raise ValueError(
            f"{data} holds {len(pbr['x'])} usable training scenes; render more (python -m coloredit.toy render-pbr)"
        )
    table = {k: np.concatenate([pbr[k], toy[k]]) for k in COLUMNS}
    world = np.r_[np.zeros(len(pbr["x"])), np.ones(len(toy["x"]))]
    held = np.random.default_rng(0).random(len(world)) < HELD_OUT
    trial = _fit(table, ~held)
    worlds = ((0, "physically based"), (1, "simple"))
    report = {name: _errors(trial, table, held & (world == w)) for w, name in worlds}
    _fit(table, np.ones(len(world), dtype=bool)).save(out)
    return {"scenes": {"physically based": len(pbr["x"]), "simple": len(toy["x"])}, "held-out errors": report}
