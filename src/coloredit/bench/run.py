"""`coloredit bench run`: every (sample, method) once, resumable, splittable over processes.

Each process appends one JSON line per finished (sample, method) to its own shard file
(`results.r{rank}-of-{world}.jsonl`), each line in one write, flushed and synced, after the edited image
was written atomically. A rerun reads every shard and skips what is done, so a run killed at any moment
resumes with nothing lost or duplicated (a torn last line, from a kill mid-write, is dropped and redone).
Samples are split over processes by index (`accelerate launch` sets RANK and WORLD_SIZE); every process
then merges all shards into `results.jsonl` under a file lock.
"""

from __future__ import annotations

import fcntl
import json
import os
import time
from pathlib import Path

import numpy as np
from PIL import Image
from tqdm import tqdm

from ..images import save_atomic
from .manifest import Sample, load_manifest, write_json
from .metrics import MeanMetric, pixel_metrics

MERGED = "results.jsonl"


def read_records(path: Path) -> list[dict]:
    """The complete JSON lines of a results file; a torn last line is left out."""
    if not path.exists():
        return []
    records = []
    for line in path.read_text().splitlines():
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError:
            continue
    return records


class ResultStore:
    def __init__(self, out: Path, rank: int = 0, world: int = 1):
        self.out = out
        out.mkdir(parents=True, exist_ok=True)
        self.shard = out / f"results.r{rank}-of-{world}.jsonl"
        self._drop_torn_tail(self.shard)

    @staticmethod
    def _drop_torn_tail(path: Path) -> None:
        if path.exists() and path.stat().st_size and not path.read_bytes().endswith(b"\n"):
            data = path.read_bytes()
            with open(path, "r+b") as handle:
                handle.truncate(data.rfind(b"\n") + 1)

    def all_records(self) -> list[dict]:
        """Every record of every shard and of the merged file, each (id, method) once."""
        unique: dict[tuple[str, str], dict] = {}
        for path in sorted(self.out.glob("results*.jsonl")):
            for record in read_records(path):
                unique.setdefault((record["id"], record["method"]), record)
        return list(unique.values())

    def append(self, record: dict) -> None:
        line = (json.dumps(record) + "\n").encode()
        fd = os.open(self.shard, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(fd, line)
            os.fsync(fd)
        finally:
            os.close(fd)

    def merge(self) -> Path:
        """Write every record so far into results.jsonl (atomically, one merger at a time)."""
        with open(self.out / ".merge.lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            records = sorted(self.all_records(), key=lambda r: (r["id"], r["method"]))
            temp = self.out / f".{MERGED}.tmp"
            temp.write_text("".join(json.dumps(r) + "\n" for r in records))
            os.replace(temp, self.out / MERGED)
        return self.out / MERGED


def score(
    metrics: list[MeanMetric], sample: Sample, root: Path, edited: np.ndarray, feather: float = 0.0
) -> dict[str, float]:
    """Every metric of one edit; each reads what it needs of the sample's images, its tags and the feather past
    which the method promised the source's bytes."""

    def image(field: str, mode: str = "RGB") -> np.ndarray | None:
        return np.asarray(Image.open(sample.path(root, field)).convert(mode)) if getattr(sample, field) else None

    source, mask, detected = image("source"), image("mask", "L") > 127, image("detected_mask", "L")
    if edited.shape != source.shape:
        edited = np.asarray(Image.fromarray(edited).resize((source.shape[1], source.shape[0])))
    inputs = dict(
        oracle=image("oracle"),
        source=source,
        edited=edited,
        mask=mask,
        target_rgb=sample.target_rgb,
        target_color=sample.target_color,
        object=sample.object,
        plate=image("plate"),
        detected_mask=None if detected is None else detected > 127,
        tags=sample.tags,
        feather=feather,
    )
    return {metric.name: metric.update(**inputs) for metric in metrics}


def run_benchmark(
    pipe,
    bench: Path,
    out: Path,
    methods: list,
    metrics: list[MeanMetric] | None = None,
    overrides: dict | None = None,
    rank: int = 0,
    world: int = 1,
    progress: bool = True,
    limit: int | None = None,
) -> Path:
    """Run every method on the benchmark's samples (its first `limit` only, when given) not yet done."""
    samples = load_manifest(bench)[:limit][rank::world]
    metrics = metrics if metrics is not None else pixel_metrics()
    store = ResultStore(out, rank, world)
    record_bench(bench, out)
    done = {(r["id"], r["method"]) for r in store.all_records()}
    todo = [(s, m) for s in samples for m in methods if (s.id, m.name) not in done]
    cache = getattr(pipe, "inversion_cache", None)
    for sample, method in tqdm(todo, desc=f"bench r{rank}", disable=not progress):
        if cache is not None:
            cache.clear()  # each edit pays for its own inversions: seconds and U-Net rows compare fairly
        started = time.perf_counter()
        edited = method.edit(pipe, sample, bench, overrides)
        seconds = time.perf_counter() - started
        image_path = Path("images") / method.name / f"{sample.id}.png"
        save_atomic(edited.image, out / image_path, force=True)
        record = {
            "id": sample.id,
            "method": method.name,
            "split": sample.split,
            "tags": list(sample.tags),
            "image": str(image_path),
            "seconds": round(seconds, 3),
            "unet_rows": edited.unet_rows,
            **score(metrics, sample, bench, np.asarray(edited.image.convert("RGB")), method.feather(overrides)),
        }
        store.append(record)
    return store.merge()


def record_bench(bench: Path, out: Path) -> None:
    """Which benchmark the results come from, with what it says of itself (a PBR build's noise floor), in
    the run's `bench.json`: the report prints it."""
    info = bench / "bench.json"
    described = json.loads(info.read_text()) if info.exists() else {}
    write_json(out / "bench.json", {**described, "bench": str(Path(bench).resolve())})


def process_split() -> tuple[int, int]:
    """(rank, world size) from the launcher's environment (accelerate, torchrun), else (0, 1)."""
    return int(os.environ.get("RANK", 0)), int(os.environ.get("WORLD_SIZE", 1))
