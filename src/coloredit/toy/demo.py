"""`coloredit demo`: one real edit on the shipped toy model, offline, with its images and scores."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
from PIL import Image

from ..config import EditConfig
from ..images import save_atomic
from .evaluate import edit_scores
from .render import render

SOURCE = dict(seed=20261126, shape="ring", color="red")
REFERENCE = dict(seed=20261127, shape="square", color="blue")
FILES = ("source.png", "reference.png", "mask.png", "edited.png", "sheet.png")


def sheet(images: list[np.ndarray], scale: int = 8, gap: int = 4) -> Image.Image:
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
    """Render a source and a reference of another color, recolor the source, write the files, score it."""
    out = Path(out)
    clashes = [name for name in FILES if (out / name).exists()]
    if clashes and not force:
        from ..errors import ColorEditError

        raise ColorEditError(f"{out} already has {', '.join(clashes)}; pass --force to overwrite")
    source, reference = render(**SOURCE), render(**REFERENCE)
    started = time.perf_counter()
    result = pipe(
        source.caption,
        source.mask,
        image=source.image,
        reference=reference.image,
        reference_mask=reference.mask,
        config=config,
    )
    seconds = time.perf_counter() - started
    edited = np.asarray(result.image)
    mask_rgb = np.repeat(source.mask[..., None].astype(np.uint8) * 255, 3, axis=-1)
    pictures = {
        "source.png": source.image,
        "reference.png": reference.image,
        "mask.png": mask_rgb,
        "edited.png": edited,
    }
    for name, picture in pictures.items():
        save_atomic(Image.fromarray(picture), out / name, force=True)
    save_atomic(sheet([source.image, mask_rgb, reference.image, edited]), out / "sheet.png", force=True)
    return {
        "source": source.caption,
        "reference": reference.caption,
        **edit_scores(source.image, source.mask, reference.image, reference.mask, edited),
        "seconds": round(seconds, 2),
        "unet": result.unet,
        "files": [str(out / name) for name in FILES],
    }
