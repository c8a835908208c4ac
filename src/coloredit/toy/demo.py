"""`coloredit demo`: one real edit on the shipped toy model, offline, judged against the oracle render."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
from PIL import Image

from ..config import EditConfig
from ..images import save_atomic
from .evaluate import oracle_scores, plate
from .render import draw, recolor, render
from .scene import KNOWN

# a glossy red cup with white stripes takes the navy of a reference cube; the stripes and highlight stay white
SOURCE = dict(
    seed=20261126,
    shape="cup",
    color="red",
    objects=1,
    glossy=True,
    pattern="stripes",
    pattern_color=(255, 255, 255),
    jpeg=0,
)
REFERENCE = dict(seed=20261127, shape="cube", color="navy", objects=1, pattern=None, jpeg=0)
FILES = ("source.png", "reference.png", "mask.png", "edited.png", "oracle.png", "sheet.png")


def sheet(images: list[np.ndarray], scale: int = 4, gap: int = 4) -> Image.Image:
    """Images side by side, enlarged with nearest-neighbour so a person can see the pixels."""
    big = [np.kron(image, np.ones((scale, scale, 1), dtype=np.uint8)) for image in images]
    height = max(b.shape[0] for b in big)
    canvas = np.full((height, sum(b.shape[1] for b in big) + gap * (len(big) - 1), 3), 255, np.uint8)
    x = 0
    for b in big:
        canvas[: b.shape[0], x : x + b.shape[1]] = b
        x += b.shape[1] + gap
    return Image.fromarray(canvas)


def run_demo(pipe, out: Path, config: EditConfig, force: bool = False) -> dict:
    """Render a source and a reference of another color, recolor the source, write the files, score it
    against the oracle (the source scene rendered with the reference's base color)."""
    out = Path(out)
    clashes = [name for name in FILES if (out / name).exists()]
    if clashes and not force:
        from ..errors import ColorEditError

        raise ColorEditError(f"{out} already has {', '.join(clashes)}; pass --force to overwrite")
    source, reference = render(**SOURCE), render(**REFERENCE)
    oracle = draw(recolor(source.spec, 0, reference.spec.objects[0].color)).image
    started = time.perf_counter()
    result = pipe(
        source.caption,
        source.mask,
        image=source.image,
        reference=reference.image,
        reference_mask=reference.mask,
        config=config.replace(**KNOWN),  # the renderer's light and masks are known exactly
    )
    seconds = time.perf_counter() - started
    edited = np.asarray(result.image)
    mask_rgb = np.repeat(source.mask[..., None].astype(np.uint8) * 255, 3, axis=-1)
    pictures = {
        "source.png": source.image,
        "reference.png": reference.image,
        "mask.png": mask_rgb,
        "edited.png": edited,
        "oracle.png": oracle,
    }
    for name, picture in pictures.items():
        save_atomic(Image.fromarray(picture), out / name, force=True)
    save_atomic(sheet(list(pictures.values())), out / "sheet.png", force=True)
    scores = oracle_scores(source, oracle, edited, config.feather if config.paste_back else 0.0, plate(source))
    return {
        "source": source.caption,
        "reference": reference.caption,
        **{k: round(float(v), 4) for k, v in scores.items()},
        "seconds": round(seconds, 2),
        "unet": result.unet,
        "files": [str(out / name) for name in FILES],
    }
