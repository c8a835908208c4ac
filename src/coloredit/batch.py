"""Batches: many edits from a folder of photos or a JSON-lines file, resumable after a kill and split over
processes.

Why: a designer's catalogue is hundreds of (photo, mask, color) edits; a crash at edit 300 must not redo the
first 299, and nobody should write a jobs file by hand for "these photos, these colors". Each edit's output is
written atomically, so an output that exists is a finished edit: a rerun skips it, and the folder of results
holds the results and nothing else. `accelerate launch` (RANK, WORLD_SIZE) splits the jobs by index. Edits of
one photo share its inversion, and edits to one reference its inversion, through the pipeline's content cache.
"""

from __future__ import annotations

import os
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image
from tqdm import tqdm

from .colorways import color_slug, derived_prompt
from .errors import ColorEditError
from .images import check_output, load_mask, save_atomic
from .photos import to_write
from .validate import check_colors, check_inputs, json_object

PHOTO_SUFFIXES = (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".webp", ".bmp")

FIELDS = {
    "image": str,
    "mask": str,
    "prompt": str,
    "color": str,
    "reference": str,
    "reference_mask": str,
    "reference_prompt": str,
    "output": str,
    "seed": int,
}


@dataclass
class Job:
    index: int
    image: Path
    mask: Path | None  # None: found from `mask_text` when the job runs
    prompt: str | None  # None: derived from the object's color, as the app does
    color: str | None = None
    reference: Path | None = None
    reference_mask: Path | None = None
    reference_prompt: str | None = None
    output: str | None = None
    seed: int = 0
    mask_text: str | None = None

    @property
    def name(self) -> str:
        return self.output or f"{self.index:05d}-{self.image.stem}.png"


def read_jobs(path: Path) -> list[Job]:
    """Every line validated before any edit; an error names the line."""
    if not path.is_file():
        raise ColorEditError(f"jobs file not found: {path}")
    jobs, root = [], path.parent
    for number, text in enumerate(path.read_text().splitlines(), start=1):
        if not text.strip():
            continue
        where = f"{path.name} line {number}"
        record = json_object(text, where)
        unknown = set(record) - set(FIELDS)
        missing = [k for k in ("image", "mask", "prompt") if k not in record]
        if unknown or missing:
            raise ColorEditError(f"{where}: " + (f"unknown {sorted(unknown)}" if unknown else f"missing {missing}"))
        if ("color" in record) == ("reference" in record):
            raise ColorEditError(f"{where}: give exactly one of color or reference")
        for key, kind in FIELDS.items():
            if key in record and not isinstance(record[key], kind):
                raise ColorEditError(f"{where}: {key} must be {kind.__name__}")
        paths = {k: root / record[k] for k in ("image", "mask", "reference", "reference_mask") if k in record}
        for key, file in paths.items():
            if not file.is_file():
                raise ColorEditError(f"{where}: {key} {file} not found")
        try:  # every image, mask, color and reference read now: a bad line fails before any edit
            check_inputs(
                paths["mask"], paths["image"], paths.get("reference"), record.get("color"), paths.get("reference_mask")
            )
        except ColorEditError as error:
            raise ColorEditError(f"{where}: {error}") from None
        jobs.append(Job(len(jobs), **{**record, **paths}))
    if not jobs:
        raise ColorEditError(f"{path} has no jobs")
    names = [job.name for job in jobs]
    if len(set(names)) != len(names):
        raise ColorEditError(f"{path}: two jobs write the same output; give each an 'output'")
    return jobs


def folder_jobs(
    folder: Path, colors: list[str], masks: Path | None = None, mask_text: str | None = None, prompt: str | None = None
) -> list[Job]:
    """A job for every photo of `folder` and every color: the mask of the same name (any image suffix) in
    `masks`, or the object `mask_text` names; each photo and mask checked before any edit."""
    if not folder.is_dir():
        raise ColorEditError(f"photo folder not found: {folder}")
    if (masks is None) == (mask_text is None):
        raise ColorEditError("a folder of photos takes --masks MASKDIR or --mask-text PHRASE, one of them")
    if masks is not None and not masks.is_dir():
        raise ColorEditError(f"mask folder not found: {masks}")
    if not colors:
        raise ColorEditError("a folder of photos takes --colors: one or several, separated by ';'")
    check_colors(colors)
    photos = sorted(p for p in folder.iterdir() if p.suffix.lower() in PHOTO_SUFFIXES and not p.name.startswith("."))
    if not photos:
        raise ColorEditError(f"{folder} holds no photos ({', '.join(PHOTO_SUFFIXES)})")
    jobs: list[Job] = []
    for photo in photos:
        mask = None
        if masks is not None:
            matches = sorted(m for m in masks.glob(f"{photo.stem}.*") if m.suffix.lower() in PHOTO_SUFFIXES)
            if not matches:
                raise ColorEditError(f"no mask for {photo.name} in {masks} (looked for {photo.stem}.png and the like)")
            mask = matches[0]
            try:
                check_inputs(mask, photo, color=colors[0])
            except ColorEditError as error:
                raise ColorEditError(f"{photo.name}: {error}") from None
        for color in colors:
            output = f"{photo.stem}-{color_slug(color)}.png"
            jobs.append(Job(len(jobs), photo, mask, prompt, color=color, output=output, mask_text=mask_text))
    names = [job.name for job in jobs]
    if len(set(names)) != len(names):
        raise ColorEditError(f"{folder}: two photos (or colors) give the same output name; rename one")
    return jobs


def run_batch(pipe, jobs: list[Job], out: Path, config, rank: int | None = None, world: int | None = None) -> list:
    """Run this process's share of the jobs whose output does not exist yet; return their records."""
    rank = int(os.environ.get("RANK", 0)) if rank is None else rank
    world = int(os.environ.get("WORLD_SIZE", 1)) if world is None else world
    out.mkdir(parents=True, exist_ok=True)
    mine = [job for job in jobs if job.index % world == rank and not (out / job.name).exists()]
    for job in mine:
        check_output(out / job.name, force=True)
        for torn in out.glob(f".{Path(job.name).stem}.*"):  # a temporary file of a run killed with -9
            torn.unlink(missing_ok=True)
    cache = getattr(pipe, "inversion_cache", None)  # the engine alone (`ExactEditor`) inverts nothing
    if cache is not None:
        cache.size = max(cache.size, 64)
    found: dict[Path, np.ndarray] = {}  # per photo, for all its colors: the phrase's mask, the derived prompt
    derived: dict[Path, str] = {}
    records = []
    for job in tqdm(mine, desc=f"batch (process {rank + 1} of {world})", disable=not mine):
        colour = (
            {"color": job.color}
            if job.color is not None
            else {
                "reference": job.reference,
                "reference_mask": job.reference_mask,
                "reference_prompt": job.reference_prompt,
            }
        )
        mask = job.mask if job.mask is not None else found.setdefault(job.image, _find(pipe, job))
        if job.prompt is None and job.image not in derived:
            derived[job.image] = _derived(job.image, mask, job.mask_text)
        prompt = job.prompt or derived[job.image]
        result = pipe(prompt, mask, image=job.image, seed=job.seed, config=config, **colour)
        save_atomic(to_write(result.images, 0), out / job.name, force=True)
        records.append({"id": str(job.index), "output": job.name, "unet": result.unet, "seconds": result.seconds})
    return records


def _find(pipe, job: Job) -> np.ndarray:
    """The object `job.mask_text` names in the photo, with a warning where it is uncertain."""
    from .masks import CONFIDENT, attention_mask, mask_confidence
    from .photos import open_photo

    image = np.asarray(open_photo(job.image)[0])
    mask = attention_mask(pipe, image, job.mask_text)
    confidence = mask_confidence(image, mask)
    if confidence < CONFIDENT:
        warnings.warn(
            f"{job.image.name}: {job.mask_text!r} found with low confidence ({confidence:.2f}); check its edits",
            stacklevel=2,
        )
    return mask


def _derived(image: Path, mask, phrase: str | None) -> str:
    from .photos import open_photo

    picture = np.asarray(open_photo(image)[0])
    return derived_prompt(picture, load_mask(mask, Image.fromarray(picture).size), phrase or "")
