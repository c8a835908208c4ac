"""Real photos, side by side in one run: scikit-image's own photographs (an orange tabby cat, a red saucer
under a cup, an astronaut's orange suit, a fundus photograph of a retina), each object given by a rough hand
mask (a polygon, as a designer paints one), recolored to a far hue (blue) and to grey by coloredit's engine
(the default: the mask refined) and by the pixel baselines (CIELAB mean shift, Reinhard, HSV hue), with two
judges that need no oracle:

- leftover: of the object's pixels that showed its main color in the source (CIELAB chroma over CHROMATIC and
  hue within HUE_BAND degrees of the mask's most common hue), the share that still shows it after the edit:
  the old color left behind (texture read as a second color, a fringe at the edge);
- texture kept: SSIM (scikit-image's `structural_similarity`) of CIELAB L* between source and edit over the
  object's box (1 keeps every shading and texture detail; a flat recolor falls well below).

It writes `real-photos.png` (each photo: source, the engine's blue and grey, the HSV hue slider's blue, and
an edge at 4x, source beside the engine's blue), to be looked at, not only read.

    python benchmarks/real_photos.py [--out DIR] [--photos chelsea,coffee] [--json]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

CHROMATIC = 12.0  # CIELAB chroma over which a pixel shows a hue
HUE_BAND = 20.0  # degrees either side of the main hue
TARGETS = {"blue": "#2a5db0", "grey": "#808080"}
# name: (scikit-image's loader, the prompt, the hand mask's polygon (x, y), the rectangles cut out of it, an edge
# to look at 4x (left, top, right, bottom))
PHOTOS = {
    "chelsea (tabby cat)": (
        "chelsea",
        "a tabby cat",
        [(0, 0), (338, 0), (372, 18), (392, 8), (398, 62), (386, 120), (372, 200), (390, 262), (402, 300), (0, 300)],
        [],
        (330, 30, 430, 130),
    ),
    "coffee (red saucer)": (
        "coffee",
        "a red saucer",
        [(277 + 204 * np.cos(t), 230 + 160 * np.sin(t)) for t in np.linspace(0, 2 * np.pi, 72, endpoint=False)],
        [(176, 18, 412, 232), (192, 222, 258, 306), (318, 196, 408, 332)],
        (150, 200, 250, 300),
    ),
    "astronaut (orange suit)": (
        "astronaut",
        "an orange suit",
        [
            (40, 262),
            (112, 226),
            (132, 262),
            (180, 290),
            (250, 300),
            (300, 286),
            (340, 300),
            (362, 340),
            (352, 352),
            (300, 392),
            (276, 440),
            (262, 512),
            (18, 512),
            (12, 400),
            (28, 300),
        ],
        [(140, 455, 205, 512)],
        (280, 310, 380, 410),
    ),
    "retina (fundus photograph)": (
        "retina",
        "an orange retina",
        [(704 + 680 * np.cos(t), 703 + 680 * np.sin(t)) for t in np.linspace(0, 2 * np.pi, 90, endpoint=False)],
        [],
        (20, 600, 220, 800),
    ),
}


def hand_mask(size: tuple[int, int], polygon: list, cut: list) -> np.ndarray:
    drawn = Image.new("L", size, 0)
    draw = ImageDraw.Draw(drawn)
    draw.polygon([tuple(map(float, p)) for p in polygon], fill=255)
    for box in cut:
        draw.rectangle(box, fill=0)
    return np.asarray(drawn) > 127


def hues(image: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """CIELAB L*, chroma and hue angle (degrees) per pixel."""
    from coloredit.colors import rgb_to_lab

    lab = rgb_to_lab(image / 255.0)
    return lab[..., 0], np.hypot(lab[..., 1], lab[..., 2]), np.degrees(np.arctan2(lab[..., 2], lab[..., 1])) % 360


def main_color_pixels(image: np.ndarray, mask: np.ndarray) -> tuple[np.ndarray, float]:
    """The object's pixels that show its main hue (the mode of its chromatic pixels' hues, 10-degree bins)."""
    from coloredit.colors import hue_distance

    _, chroma, hue = hues(image)
    chromatic = mask & (chroma > CHROMATIC)
    counts, edges = np.histogram(hue[chromatic], bins=36, range=(0, 360))
    main = float(edges[np.argmax(counts)] + 5)
    return chromatic & (hue_distance(hue, main) <= HUE_BAND), main


def judged(source: np.ndarray, edited: np.ndarray, mask: np.ndarray) -> dict:
    from skimage.metrics import structural_similarity

    from coloredit.colors import hue_distance

    showed, main = main_color_pixels(source, mask)
    _, chroma, hue = hues(edited)
    still = showed & (chroma > CHROMATIC) & (hue_distance(hue, main) <= HUE_BAND)
    rows, cols = np.nonzero(mask)
    box = (slice(rows.min(), rows.max() + 1), slice(cols.min(), cols.max() + 1))
    lightness = [hues(picture[box])[0] for picture in (source, edited)]
    return {
        "leftover": round(float(still.sum() / max(showed.sum(), 1)), 4),
        "texture kept (L* SSIM)": round(float(structural_similarity(*lightness, data_range=100.0)), 3),
    }


def edits(source: np.ndarray, mask: np.ndarray, prompt: str, target: str) -> dict[str, np.ndarray]:
    from coloredit import preset
    from coloredit.baselines import pixel_edit
    from coloredit.colors import parse_color
    from coloredit.engine import ExactEditor

    editor = ExactEditor()
    editor.set_progress_bar_config(disable=True)
    made = {"coloredit": np.asarray(editor(prompt, mask, image=source, color=target, config=preset()).image)}
    rgb = parse_color(target)
    for name, kind in (("pixel-lab-mean", "mean"), ("pixel-reinhard", "reinhard"), ("pixel-hsv-hue", "hue")):
        made[name] = pixel_edit(kind, source, mask, rgb)
    return made


def sheet(rows: list[list[np.ndarray]]) -> Image.Image:
    height = 200
    scaled = [
        [Image.fromarray(p).resize((max(1, round(p.shape[1] * height / p.shape[0])), height)) for p in r] for r in rows
    ]
    width = max(sum(p.width + 6 for p in r) for r in scaled)
    out = Image.new("RGB", (width, len(rows) * (height + 6)), "white")
    for y, r in enumerate(scaled):
        x = 0
        for p in r:
            out.paste(p, (x, y * (height + 6)))
            x += p.width + 6
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("."))
    parser.add_argument("--photos", help="only these of scikit-image's photos (their loaders' names)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    from skimage import data

    chosen = args.photos.split(",") if args.photos else [loader for loader, *_ in PHOTOS.values()]
    results, pictures = {}, []
    for name, (loader, prompt, polygon, cut, edge) in PHOTOS.items():
        if loader not in chosen:
            continue
        source = np.ascontiguousarray(getattr(data, loader)()[..., :3])
        mask = hand_mask((source.shape[1], source.shape[0]), polygon, cut)
        made = {color: edits(source, mask, prompt, target) for color, target in TARGETS.items()}
        results[name] = {
            f"{method}, to {color}": judged(source, edited, mask)
            for color, by_method in made.items()
            for method, edited in by_method.items()
        }
        left, top, right, bottom = edge
        zoom = [
            np.asarray(
                Image.fromarray(p[top:bottom, left:right]).resize(
                    (4 * (right - left), 4 * (bottom - top)), Image.NEAREST
                )
            )
            for p in (source, made["blue"]["coloredit"])
        ]
        pictures.append(
            [source, made["blue"]["coloredit"], made["grey"]["coloredit"], made["blue"]["pixel-hsv-hue"], *zoom]
        )
    args.out.mkdir(parents=True, exist_ok=True)
    sheet(pictures).save(args.out / "real-photos.png")
    if args.json:
        print(json.dumps(results))
        return
    for name, rows in results.items():
        print(f"\n{name}\n| edit | leftover | texture kept (L* SSIM) |\n|---|---|---|")
        for edit, scores in rows.items():
            print(f"| {edit} | {scores['leftover']:.4f} | {scores['texture kept (L* SSIM)']:.3f} |")


if __name__ == "__main__":
    main()
