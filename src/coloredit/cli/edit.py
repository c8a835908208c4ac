"""`coloredit edit`: recolor the masked object(s) of an image."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from ..config import preset
from ..errors import ColorEditError
from .loading import editor
from .prompts import checked_prompts, mask_from_prompts, reference_mask_from_prompts, rounded_confidence


def run_edit(args: argparse.Namespace) -> int:
    from ..images import check_output, load_mask, save_atomic

    config, references, kind, prompts, reference_prompted = checked_arguments(args)
    output = Path(args.output or f"{Path(args.image).stem}_edited.png")
    check_output(output, args.force)

    # Check every input before the (slow) model load.
    from ..photos import open_photo, read_photo, to_write
    from ..validate import check_inputs

    photo = read_photo(args.image, "image")  # read once: checked here, edited below
    image = photo.srgb
    for notice in photo.notices:
        print(f"coloredit: {notice}", file=sys.stderr)
    given = [load_mask(mask, image.size) for mask in args.mask]  # each mask file read once, here
    for mask, ref in zip(given, references, strict=False):
        check_inputs(mask, photo, **{kind: ref}, reference_mask=args.reference_mask)
    checked_prompts(args.image, args.mask_text, args.point, args.negative_point, args.box)
    if reference_prompted:
        open_photo(references[0], "reference image")
        checked_prompts(references[0], args.reference_text, args.reference_point, [], args.reference_box)

    started = time.perf_counter()
    pipe = editor(args, config)
    load_seconds = time.perf_counter() - started
    found = None if args.mask else mask_from_prompts(args, image, lambda: pipe)
    masks = given or [found.mask]
    reference_mask, reference_found = args.reference_mask, None
    if reference_prompted:
        reference_found = reference_mask_from_prompts(args, references[0], lambda: pipe)
        reference_mask = reference_found.mask

    from ..outputs import ObjectEdit

    edits = [
        ObjectEdit(
            mask=mask,
            reference_prompt=args.reference_prompt,
            reference_mask=reference_mask,
            prompt=prompt,
            **{kind: ref},
        )
        for mask, ref, prompt in zip(masks, references, prompts, strict=True)
    ]
    results = pipe.edit_objects(prompts[0], edits, image=photo, seed=args.seed, config=config)
    save_atomic(to_write(results[-1].images, 0), output, force=args.force)

    print_result(args, output, config, results, load_seconds, found, reference_found)
    return 0


def checked_arguments(args: argparse.Namespace) -> tuple:
    """The edit's config, its references (colors or images) and their kind, one prompt per object, and
    whether the reference's object is marked by prompts; one line for arguments that do not fit together."""
    config = preset(args.preset)
    changes = {k: v for k, v in (("num_inference_steps", args.steps), ("inversion", args.inversion)) if v is not None}
    config = config.replace(**changes).with_overrides(args.overrides)
    references = args.reference or args.color
    kind = "reference" if args.reference else "color"
    prompted = bool(args.mask_text or args.point or args.negative_point or args.box)
    if prompted == bool(args.mask):
        raise ColorEditError("give --mask, or one of --mask-text, --point, --box")
    if prompted and len(references) != 1:
        raise ColorEditError("a mask prompt marks one object: give one --reference/--color")
    if not prompted and len(references) != len(args.mask):
        raise ColorEditError(f"{len(args.mask)} --mask but {len(references)} --reference/--color: give one each")
    if len(args.prompt) not in (1, len(references)):
        raise ColorEditError(f"{len(args.prompt)} --prompt for {len(references)} objects: give one, or one each")
    prompts = args.prompt * len(references) if len(args.prompt) == 1 else args.prompt
    reference_prompted = bool(args.reference_text or args.reference_point or args.reference_box)
    if reference_prompted and (kind != "reference" or len(references) != 1 or args.reference_mask):
        raise ColorEditError(
            "--reference-text/-point/-box mark the object of one --reference, in place of --reference-mask"
        )
    return config, references, kind, prompts, reference_prompted


def print_result(args, output: Path, config, results: list, load_seconds: float, found, reference_found) -> None:
    """`wrote OUTPUT`, or with --json one object: the config, seconds and U-Net calls per stage, the prompts,
    masks' change and confidence, and which engine ran and why."""
    if args.json:
        seconds = {"load": round(load_seconds, 4)}
        unet = {"calls": 0, "rows": 0}
        for result in results:
            for stage, value in result.seconds.items():
                seconds[stage] = round(seconds.get(stage, 0.0) + value, 4)
            unet["calls"] += result.unet["calls"]
            unet["rows"] += result.unet["rows"]
        unet["by_stage"] = _merge_stages([r.unet["by_stage"] for r in results])
        print(
            json.dumps(
                {
                    "output": str(output),
                    "config": config.to_dict(),
                    "seconds": seconds,
                    "unet": unet,
                    "reference_prompts": [r.reference_prompt for r in results],
                    "mask_change": [round(r.mask_change, 4) for r in results],
                    "mask_confidence": rounded_confidence(found),
                    "engine": [{"engine": r.engine, "why": r.engine_reason} for r in results],
                    "reference_mask_confidence": rounded_confidence(reference_found),
                }
            )
        )
    else:
        print(f"wrote {output}", file=sys.stderr)


def _merge_stages(stages: list[dict]) -> dict:
    merged: dict[str, dict[str, int]] = {}
    for by_stage in stages:
        for stage, counts in by_stage.items():
            slot = merged.setdefault(stage, {"calls": 0, "rows": 0})
            slot["calls"] += counts["calls"]
            slot["rows"] += counts["rows"]
    return merged
