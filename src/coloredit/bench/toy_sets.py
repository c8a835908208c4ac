"""The toy world's edits as COLORBENCH folders: `bench build --model toy`, and the ablation's sets, so one runner,
one store and one report measure them all.

Why a module: the edits (`toy.edit_sets`) are the toy world's; writing them as samples (with the room behind
the object for the object IoU, the detector's object for a generated source, and the edit's own kind of
target) is the benchmark's.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from ..colors import name_color
from ..toy.edit_sets import Edit, edits_from, make_edits
from ..toy.evaluate import plate
from .manifest import Sample, load_manifest, mask_image, save_image, write_manifest

TOY_SEED = 40_000_000  # `bench build --model toy`'s scenes (the ablation's sets have their own seeds)
EDIT_SEED = 0  # the ablation edits its sources as given, with the pipeline's default seed


def write_sample(
    out: Path, sid: str, edit: Edit, seed: int, kind: str | None = None, reference_prompt: bool = False
) -> Sample:
    """One edit as a sample: its source, mask, reference (with its mask for a "reference" kind), oracle and
    the room behind the object (rendered sources), or the detector's object (generated ones). `kind`
    overrides the edit's own kind of target; `reference_prompt` gives the reference's caption as its prompt
    (else the pipeline finds its own, as the ablation always edited)."""
    kind = kind or edit.kind
    source, generated = edit.source, edit.oracle is None
    detected = getattr(source, "found", None)
    return Sample(
        id=sid,
        split="real",
        source=save_image(out, "sources", f"{sid}.png", source.image),
        source_prompt=source.caption,
        object=source.shape,
        mask=save_image(out, "masks", f"{sid}.png", mask_image(source.mask)),
        target_color=name_color(edit.target_rgb),
        target_rgb=edit.target_rgb,
        reference=save_image(out, "references", f"{sid}.png", edit.reference.image),
        reference_prompt=edit.reference.caption if reference_prompt else "",
        seed=seed,
        reference_mask=save_image(out, "reference_masks", f"{sid}.png", mask_image(edit.reference.mask))
        if kind == "reference"
        else "",
        oracle="" if generated else save_image(out, "oracles", f"{sid}.png", edit.oracle),
        target_kind="hex" if kind == "hex" else "reference",
        tags=tuple(kind if tag == edit.kind else tag for tag in edit.tags),
        plate="" if generated else save_image(out, "plates", f"{sid}.png", plate(source)),
        detected_mask=save_image(out, "detected", f"{sid}.png", mask_image(detected)) if detected is not None else "",
    )


def build_toy(out: Path, count: int, seed: int = TOY_SEED) -> list[Sample]:
    """Rendered sources with exact masks (split "real": they must be inverted), recolored to a color drawn
    over the whole gamut; the reference is a single object of that base color in another scene, with its
    mask, and the oracle (the source scene rendered with the target color) is saved for the oracle metrics."""
    out.mkdir(parents=True, exist_ok=True)
    edits = edits_from(seed, "v2", count, "toy")
    samples = [write_sample(out, f"toy-{i:04d}", edit, seed + i, "reference", True) for i, edit in enumerate(edits)]
    write_manifest(out, samples)
    return samples


def ablation_set(out: Path, split: str, count: int, pipe=None) -> list[Sample]:
    """The ablation's set `split` ("tune", "test", "ood", or "generated" by `pipe`) of `count` edits, each its
    own kind of target, as a benchmark folder; written once (the manifest last), then read back."""
    if not (out / "manifest.jsonl").exists():
        out.mkdir(parents=True, exist_ok=True)
        write_manifest(out, [write_sample(out, e.name, e, EDIT_SEED) for e in make_edits(split, count, pipe)])
    return load_manifest(out)


def reconstruction_set(out: Path, count: int) -> list[Sample]:
    """The first `count` test sources asked for their own base color as a hex, each source its own oracle: how
    far an edit that should change nothing moves the object."""
    if not (out / "manifest.jsonl").exists():
        out.mkdir(parents=True, exist_ok=True)
        samples = []
        for edit in make_edits("test", count):
            own = replace(edit, target_rgb=tuple(edit.source.spec.objects[0].color), oracle=edit.source.image)
            samples.append(write_sample(out, f"{edit.name}-own", own, EDIT_SEED, "hex"))
        write_manifest(out, samples)
    return load_manifest(out)
