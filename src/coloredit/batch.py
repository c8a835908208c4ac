"""Batches: many edits from a JSON-lines file, resumable after a kill and split over processes.

Why: a designer's catalogue is hundreds of (photo, mask, color) edits; a crash at edit 300 must not redo the
first 299. Each finished edit's output is written atomically, then one line is appended to this process's
shard of the record (the same store as `coloredit bench run`); a rerun skips every recorded edit.
`accelerate launch` (RANK, WORLD_SIZE) splits the jobs by index. Edits to one reference share its inversion
through the pipeline's content cache.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from tqdm import tqdm

from .bench.manifest import json_object
from .bench.run import ResultStore
from .errors import ColorEditError
from .images import check_output, save_atomic
from .validate import check_inputs

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
    mask: Path
    prompt: str
    color: str | None = None
    reference: Path | None = None
    reference_mask: Path | None = None
    reference_prompt: str | None = None
    output: str | None = None
    seed: int = 0

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


def run_batch(pipe, jobs: list[Job], out: Path, config, rank: int | None = None, world: int | None = None) -> list:
    """Run this process's share of the jobs that are not done yet; return their records."""
    rank = int(os.environ.get("RANK", 0)) if rank is None else rank
    world = int(os.environ.get("WORLD_SIZE", 1)) if world is None else world
    store = ResultStore(out, rank, world)
    done = {record["id"] for record in store.all_records()}
    mine = [job for job in jobs if job.index % world == rank and str(job.index) not in done]
    for job in mine:
        check_output(out / job.name, force=True)
    pipe.inversion_cache_size = max(pipe.inversion_cache_size, 64)
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
        result = pipe(job.prompt, job.mask, image=job.image, seed=job.seed, config=config, **colour)
        save_atomic(result.image, out / job.name, force=True)
        record = {
            "id": str(job.index),
            "method": "edit",
            "output": job.name,
            "unet": result.unet,
            "seconds": result.seconds,
        }
        store.append(record)
        records.append(record)
    store.merge()
    return records
