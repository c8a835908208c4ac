"""The scene's light at an object, estimated from one picture: what turns a hex (a base color) into this
photo's pixels, and a reference's pixels back into a base color.

Why: a pixel is the object's base color times the light that reaches it (its color and level, bounce from
the room included); one picture cannot say which is which. The exact engine measures the object's **lit
color** (`exact.decompose`: the main color where it is fully lit); this module estimates the **light** `k`,
per channel, that the lit color is the base color times: `base = lit / k`.

How: learned color constancy. Ridge regressions of `log k` on statistics a color-constancy method reads
(the background's grey world, white patch, shades of grey and grey edge; the floor beside the object; the
object's own shading, highlights and spread): the scene's light (exposure times the key's color) and the
object's share of it, fitted on path-traced scenes of the physically based world, where the renderer knows
the truth (`toy.pbr_data`), and on the simple renderer's (`python -m coloredit.toy train-light`). The same
features give the odds that the object is a metal, whose color lives in its reflections (logistic
regression). Measured on COLORBENCH-PBR (docs/physics-world.md): better on the studio world it learned,
worse on the daylight world it never saw, hence `EditConfig.scene_light="none"` by default. Weights:
`assets/light.safetensors`, a few kilobytes. Where a picture is far from anything seen in training (a
swatch on black, a cutout), no light is guessed: the lit color is taken as the base color, the rule before
the light was estimated; otherwise the level is clipped to those the world spans.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np

from .exact import Decomposition, SceneLight, decompose, to_linear

LUMA = np.array([0.2126, 0.7152, 0.0722])
WEIGHTS = Path(__file__).parent / "assets" / "light.safetensors"
FAMILIAR = 8.0  # standard deviations: a feature this far from the training scenes' reads as an unknown world
LEVEL_RANGE = (0.25, 1.6)  # the light's luminance at an object's lit part, as a share of a white key's
BACKGROUND_GAP = 3  # background pixels: this far (px) or farther from the object
RING = (2, 10)  # the object's surroundings (the floor it stands on): this many px from its outline
EPS = 1e-4


def _log(values: np.ndarray) -> np.ndarray:
    return np.log(np.maximum(values, 0.0) + EPS)


def features(linear: np.ndarray, mask: np.ndarray, decomposition: Decomposition) -> np.ndarray:
    """The statistics the light is read from (see the module's docstring), for one object of a linear-RGB
    picture and its `exact.Decomposition`."""
    from scipy import ndimage

    mask = np.asarray(mask, dtype=bool)
    pixels = linear[mask]
    lit = decomposition.albedo
    main = decomposition.fit > 0.5
    shade = decomposition.shade[main] if main.sum() >= 3 else decomposition.shade
    near = ndimage.binary_dilation(mask, iterations=RING[1]) & ~ndimage.binary_dilation(mask, iterations=RING[0])
    background = ~ndimage.binary_dilation(mask, iterations=BACKGROUND_GAP)
    if background.sum() < 16:  # the object fills the picture: its surroundings are all there is
        background = near = ~mask if (~mask).sum() >= 16 else np.ones_like(mask)
    if near.sum() < 4:
        near = background
    back = linear[background]
    gradient = np.stack([np.hypot(*np.gradient(linear[..., c])) for c in range(3)], axis=-1)[background]
    specular = decomposition.specular / max(float(lit @ LUMA), EPS)
    chromaticity = _log(pixels[main] if main.sum() >= 3 else pixels)
    chromaticity = chromaticity - chromaticity.mean(axis=1, keepdims=True)
    parts = [
        _log(lit),
        [np.log(max(float(lit @ LUMA), EPS))],
        _log(np.percentile(shade, [10, 50])),
        [np.log(1e-3 + specular.mean()), (specular > 0.05).mean(), decomposition.fit.mean()],
        chromaticity.std(axis=0),
        _log(pixels.mean(axis=0)),
        _log(np.percentile(pixels, 99, axis=0)),
        _log(back.mean(axis=0)),
        _log(np.percentile(back, [50, 90, 99], axis=0).ravel()),
        _log(np.mean(back**6, axis=0) ** (1 / 6)),  # shades of grey (Finlayson & Trezzi 2004)
        _log(gradient.mean(axis=0)),  # grey edge (van de Weijer et al. 2007)
        [(back.max(axis=1) > 0.99).mean(), mask.mean()],
        _log(linear[near].mean(axis=0)),
    ]
    return np.concatenate([np.ravel(np.asarray(p, dtype=np.float64)) for p in parts])


@dataclass(frozen=True)
class LightModel:
    """On standardized features: ridge weights for the log of the scene's light (3 channels: exposure times
    the key's color), for the log of the object's share of it (one level, a dielectric's and a metal's: its
    shape and material), and logistic weights for "a metal", which mixes the two shares."""

    mean: np.ndarray
    scale: np.ndarray
    scene: np.ndarray  # (features + 1) x 3
    share: np.ndarray  # (features + 1) x 2: dielectric, metal
    metal: np.ndarray  # features + 1

    def _design(self, x: np.ndarray) -> np.ndarray:
        z = (np.atleast_2d(x) - self.mean) / self.scale
        return np.concatenate([z, np.ones((len(z), 1))], axis=1)

    def metal_odds(self, x: np.ndarray) -> np.ndarray:
        return 1.0 / (1.0 + np.exp(-np.clip(self._design(x) @ self.metal, -30, 30)))

    def light_of(self, x: np.ndarray) -> np.ndarray:
        """k per channel: the lit color over the base color."""
        z, odds = self._design(x), self.metal_odds(x)
        share = z @ self.share
        k = np.exp(z @ self.scene + ((1 - odds) * share[:, 0] + odds * share[:, 1])[:, None])
        level = k @ LUMA
        return k * (np.clip(level, *LEVEL_RANGE) / level)[:, None]

    def save(self, path: Path) -> None:
        from dataclasses import asdict

        from safetensors.numpy import save_file

        path.parent.mkdir(parents=True, exist_ok=True)
        save_file({k: np.ascontiguousarray(v, dtype=np.float64) for k, v in asdict(self).items()}, str(path))


ANALYSIS_SIDE = 256  # pictures larger than this are read at this size: the light is a statistic of the whole


def estimate(image: np.ndarray, mask: np.ndarray, hint_rgb: tuple[int, int, int] | None = None) -> SceneLight:
    """The light at the masked object of an sRGB picture (H x W x 3 uint8)."""
    from PIL import Image

    image, mask = np.asarray(image), np.asarray(mask, dtype=bool)
    if max(image.shape[:2]) > ANALYSIS_SIDE:
        scale = ANALYSIS_SIDE / max(image.shape[:2])
        size = (max(round(image.shape[1] * scale), 1), max(round(image.shape[0] * scale), 1))
        small = np.asarray(Image.fromarray(mask.astype(np.uint8) * 255).resize(size, Image.Resampling.BOX)) >= 128
        if small.sum() >= 3:
            image, mask = np.asarray(Image.fromarray(image).resize(size, Image.Resampling.BOX)), small
    model = load()
    x = features(to_linear(image), mask, decompose(image, mask, hint_rgb))
    if np.abs((x - model.mean) / model.scale).max() > FAMILIAR:  # unlike any training scene: no guess
        return SceneLight.white()
    return SceneLight(model.light_of(x)[0], float(model.metal_odds(x)[0]))


def scene_light(
    image: np.ndarray, mask: np.ndarray, hint_rgb: tuple[int, int, int] | None = None, mode: str = "color"
) -> SceneLight:
    """The light an edit assumes (`EditConfig.scene_light`): "auto" the estimate; "color" its color only, at
    level 1 (the light's color can be read off neutral surfaces, its level is what a camera's exposure hides);
    "none" white of level 1. The odds that the object is a metal are read in every mode."""
    seen = estimate(image, mask, hint_rgb)
    if mode == "none":  # the light assumed, the material still read (a metal is told by its pixels)
        return SceneLight(np.ones(3), seen.metal)
    return seen if mode == "auto" else SceneLight(seen.k / float(seen.k @ LUMA), seen.metal)


@cache
def load(path: Path = WEIGHTS) -> LightModel:
    from safetensors.numpy import load_file

    return LightModel(**load_file(str(path)))
