"""The benchmark folder format: `manifest.jsonl` (one sample a line) beside the files it names.

Every line is validated on load; an error names the line and the sample, so a broken benchmark of
thousands of samples can be fixed without bisecting it.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from ..errors import ColorEditError
from ..validate import json_object

SPLITS = ("synthetic", "real")
TARGET_KINDS = ("reference", "hex")
IMAGE_FIELDS = ("source", "mask", "reference", "reference_mask", "oracle", "albedo", "plate", "detected_mask")
OPTIONAL_IMAGES = ("reference_mask", "oracle", "albedo", "plate", "detected_mask")
FIELDS = {
    "id": str,
    "split": str,
    "source": str,
    "source_prompt": str,
    "object": str,
    "mask": str,
    "target_color": str,
    "target_rgb": list,
    "reference": str,
    "reference_prompt": str,
    "seed": int,
}


@dataclass(frozen=True)
class Sample:
    id: str
    split: str  # synthetic | real
    source: str  # image path, relative to the benchmark folder
    source_prompt: str
    object: str  # the object word, e.g. "car"
    mask: str
    target_color: str  # a color name
    target_rgb: tuple[int, int, int]
    reference: str
    reference_prompt: str
    seed: int
    reference_mask: str = ""  # optional: where the color is in the reference (empty: all of it)
    oracle: str = ""  # optional: the intended edit, rendered (the toy world draws one), for the oracle metrics
    target_kind: str = "reference"  # what the edit is given: the reference image, or the hex of target_rgb
    albedo: str = ""  # optional: the source's albedo, rendered (the PBR world keeps it for training)
    tags: tuple[str, ...] = ()  # optional: the subsets the sample belongs to (material, light, ...), for reports
    plate: str = ""  # optional: the source's scene without the object (the room behind it), for the object IoU
    detected_mask: str = ""  # optional: the object a detector finds from the pixels (a source with no oracle)

    def path(self, root: Path, field: str) -> Path:
        return root / getattr(self, field)


def parse_line(text: str, number: int, root: Path, check_files: bool = True) -> Sample:
    where = f"manifest.jsonl line {number}"
    record = json_object(text, where)
    where += f" (sample {record.get('id', '?')!r})"
    missing = [k for k in FIELDS if k not in record]
    if missing:
        raise ColorEditError(f"{where}: missing {', '.join(missing)}")
    for key, kind in FIELDS.items():
        if not isinstance(record[key], kind) or (kind is int and isinstance(record[key], bool)):
            raise ColorEditError(f"{where}: {key} must be {kind.__name__}")
    if record["split"] not in SPLITS:
        raise ColorEditError(f"{where}: split must be one of {', '.join(SPLITS)}")
    rgb = record["target_rgb"]
    if len(rgb) != 3 or not all(isinstance(v, int) and 0 <= v <= 255 for v in rgb):
        raise ColorEditError(f"{where}: target_rgb must be [r, g, b] with 0-255 integers")
    optional = {key: record.get(key, "") for key in OPTIONAL_IMAGES}
    for key, value in optional.items():
        if not isinstance(value, str):
            raise ColorEditError(f"{where}: {key} must be str")
    kind, tags = record.get("target_kind", "reference"), record.get("tags", [])
    if kind not in TARGET_KINDS:
        raise ColorEditError(f"{where}: target_kind must be one of {', '.join(TARGET_KINDS)}")
    if not isinstance(tags, list) or not all(isinstance(t, str) and t for t in tags):
        raise ColorEditError(f"{where}: tags must be a list of non-empty strings")
    fields = {k: record[k] for k in FIELDS} | optional | {"target_rgb": tuple(rgb), "tags": tuple(tags)}
    sample = Sample(**fields, target_kind=kind)
    if check_files:
        sizes = {}
        for field in IMAGE_FIELDS:
            if field in OPTIONAL_IMAGES and not getattr(sample, field):
                continue
            path = sample.path(root, field)
            if not path.is_file():
                raise ColorEditError(f"{where}: {field} file {path} not found")
            try:
                with Image.open(path) as image:
                    sizes[field] = image.size
            except OSError:
                raise ColorEditError(f"{where}: {field} file {path} is not a readable image") from None
        if sizes["mask"] != sizes["source"]:
            raise ColorEditError(f"{where}: mask is {sizes['mask']} but the source is {sizes['source']}")
        if sample.reference_mask and sizes["reference_mask"] != sizes["reference"]:
            raise ColorEditError(f"{where}: reference_mask is not the reference's size")
        for field in ("oracle", "albedo", "plate", "detected_mask"):
            if getattr(sample, field) and sizes[field] != sizes["source"]:
                raise ColorEditError(f"{where}: {field} is {sizes[field]} but the source is {sizes['source']}")
    return sample


def load_manifest(root: str | Path, check_files: bool = True) -> list[Sample]:
    """All samples of a benchmark folder, validated; ids must be unique."""
    root = Path(root)
    path = root / "manifest.jsonl"
    if not path.is_file():
        raise ColorEditError(f"{root} is not a benchmark folder: no manifest.jsonl")
    samples, seen = [], {}
    for number, text in enumerate(path.read_text().splitlines(), start=1):
        if not text.strip():
            continue
        sample = parse_line(text, number, root, check_files)
        if sample.id in seen:
            raise ColorEditError(
                f"manifest.jsonl line {number}: id {sample.id!r} already used on line {seen[sample.id]}"
            )
        seen[sample.id] = number
        samples.append(sample)
    if not samples:
        raise ColorEditError(f"{path} has no samples")
    return samples


def sample_line(sample: Sample) -> str:
    record = asdict(sample)
    record["target_rgb"], record["tags"] = list(sample.target_rgb), list(sample.tags)
    return json.dumps(record)


def write_json(path: Path, record: dict) -> None:
    """A JSON file written through a temporary file (one per process) and a rename: never half written."""
    temp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    temp.write_text(json.dumps(record))
    os.replace(temp, path)


def write_manifest(out: Path, samples: list[Sample]) -> Path:
    """The manifest of `samples`, written through a temporary file and a rename (never half written)."""
    path = out / "manifest.jsonl"
    temp = out / ".manifest.jsonl.tmp"
    temp.write_text("".join(sample_line(s) + "\n" for s in samples))
    os.replace(temp, path)
    return path


def save_image(out: Path, folder: str, name: str, image: np.ndarray | Image.Image) -> str:
    """Save an image of a sample atomically under `out/folder`; returns the path the manifest names."""
    from ..images import save_atomic

    save_atomic(image if isinstance(image, Image.Image) else Image.fromarray(image), out / folder / name, force=True)
    return f"{folder}/{name}"


def mask_image(mask: np.ndarray) -> np.ndarray:
    return np.asarray(mask, dtype=np.uint8) * 255
