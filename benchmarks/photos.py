"""Big photos side by side, in one run: a textured, shaded object in a large photo recolored by editing the
whole photo at the model's size (`crop_to_object=False`, as before) and by editing the object's crop (the
default), with a pixel CIELAB mean shift beside them, each scored against the photo drawn again with the
object in the target color (the oracle).

- ΔE00: the object's mean CIELAB against the oracle's; appearance: median per-pixel ΔE00 inside it.
- sharpness: high-frequency energy (mean squared Laplacian of CIELAB L*) inside the object, edit over oracle
  (1.0 keeps the texture's detail; below 1 is blur).
- halo: how far outside the object (pixels) the photo changed by more than 2 levels, and the mean change in
  the ring 12-32 px outside it.

    python benchmarks/photos.py                 # the toy model, CPU
    python benchmarks/photos.py --model PATH --json
"""

from __future__ import annotations

import argparse
import json
import sys
import time

import numpy as np

SCENES = {  # name: (width, height, object radius in pixels, its color, the target)
    "small red ball, 1600x1200": (1600, 1200, 16, (200, 40, 40), "#2a5db0"),
    "large red ball, 4000x3000": (4000, 3000, 400, (200, 40, 40), "#2a5db0"),
    # too dark to read its shading: exact color takes the diffusion model's re-rendered shading
    "small black ball, 1600x1200": (1600, 1200, 24, (22, 22, 26), "#f0d020"),
}
METHODS = ("whole photo", "object crop", "pixel mean shift")


def draw_photo(width: int, height: int, radius: int, albedo: tuple[int, int, int]) -> tuple[np.ndarray, np.ndarray]:
    """A wall-and-floor photo with a shaded, finely textured ball of `albedo` (sRGB) off-centre; its mask."""
    rng = np.random.default_rng(0)
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    wall = np.stack([0.75 - 0.2 * y / height, 0.7 - 0.1 * x / width, 0.6 + 0.0 * x], -1)
    image = wall + rng.normal(0, 0.02, wall.shape).astype(np.float32)
    cx, cy = 0.6 * width, 0.55 * height
    dx, dy = (x - cx) / radius, (y - cy) / radius
    inside = dx**2 + dy**2 <= 1
    dz = np.sqrt(np.clip(1 - dx**2 - dy**2, 0, 1))
    shade = np.clip(0.25 + 0.75 * (-0.4 * dx - 0.5 * dy + 0.77 * dz), 0.05, 1)
    texture = 1 + 0.12 * np.sin(x * 0.9) * np.sin(y * 0.7)  # fine detail a blurry edit loses
    linear = (np.array(albedo, np.float32) / 255.0) ** 2.2
    ball = (shade * texture)[..., None] * linear
    ball = ball + 0.9 * np.clip((dz - 0.96) / 0.04, 0, 1)[..., None] * (-dx - dy > 0)[..., None]  # highlight
    image[inside] = np.clip(ball[inside], 0, 1) ** (1 / 2.2)
    return (np.clip(image, 0, 1) * 255).round().astype(np.uint8), inside


def sharpness(image: np.ndarray, mask: np.ndarray) -> float:
    from scipy import ndimage

    from coloredit.colors import rgb_to_lab

    lightness = rgb_to_lab(image.astype(np.float64) / 255.0)[..., 0]
    inner = ndimage.binary_erosion(mask, iterations=3)
    return float((ndimage.laplace(lightness)[inner] ** 2).mean())


def halo(edited: np.ndarray, source: np.ndarray, mask: np.ndarray) -> tuple[float, float]:
    from scipy import ndimage

    distance = ndimage.distance_transform_edt(~mask)
    changed = (np.abs(edited.astype(int) - source.astype(int)).max(axis=-1) > 2) & ~mask
    ring = (distance > 12) & (distance <= 32)
    ring_change = float(np.abs(edited.astype(float) - source.astype(float))[ring].mean())
    return (float(distance[changed].max()) if changed.any() else 0.0), ring_change


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="toy")
    parser.add_argument("--steps", type=int, default=50)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    from coloredit import ColorEditPipeline, preset
    from coloredit.baselines import pixel_mean_shift
    from coloredit.colors import parse_color, rgb_to_lab
    from coloredit.measure import appearance, delta_e_object

    pipe = ColorEditPipeline.from_pretrained(args.model)
    pipe.set_progress_bar_config(disable=True)
    results = {}
    for scene, (width, height, radius, color, target) in SCENES.items():
        source, mask = draw_photo(width, height, radius, color)
        oracle, _ = draw_photo(width, height, radius, parse_color(target))
        for method in METHODS:
            started = time.perf_counter()
            if method == "pixel mean shift":
                edited = pixel_mean_shift(source, mask, rgb_to_lab(np.array(parse_color(target)) / 255.0))
            else:
                config = preset().replace(num_inference_steps=args.steps, crop_to_object=method == "object crop")
                prompt = "a red ball" if color[0] > 100 else "a black ball"
                edited = np.asarray(pipe(prompt, mask, image=source, color=target, config=config).image)
            reach, ring = halo(edited, source, mask)
            results[f"{scene} | {method}"] = {
                "delta_e00": round(delta_e_object(edited, mask, oracle), 2),
                "appearance": round(appearance(edited, oracle, mask), 2),
                "sharpness": round(sharpness(edited, mask) / sharpness(oracle, mask), 3),
                "halo_px": round(reach, 1),
                "ring_12_32_change": round(ring, 3),
                "seconds": round(time.perf_counter() - started, 2),
            }
    if args.json:
        print(json.dumps(results, indent=1))
        return 0
    print(f"model {args.model}, {args.steps} steps; ΔE00 and appearance against the oracle photo")
    print(f"{'':48} {'ΔE00':>6} {'appear.':>8} {'sharp.':>7} {'halo px':>8} {'ring':>6} {'s':>6}")
    for name, r in results.items():
        print(
            f"{name:48} {r['delta_e00']:6.2f} {r['appearance']:8.2f} {r['sharpness']:7.3f} {r['halo_px']:8.1f} "
            f"{r['ring_12_32_change']:6.3f} {r['seconds']:6.1f}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
