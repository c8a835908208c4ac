"""`coloredit colorways`: one product in many colors, with a contact sheet."""

from __future__ import annotations

import argparse
import json
import sys
import time

from ..config import preset
from ..errors import ColorEditError
from .loading import editor
from .prompts import mask_from_prompts, rounded_confidence


def run_colorways(args: argparse.Namespace) -> int:
    from ..colors import parse_color
    from ..colorways import output_paths, split_colors, write_colorways
    from ..images import load_mask
    from ..photos import read_photo

    config = preset(args.preset)
    if args.steps is not None:
        config = config.replace(num_inference_steps=args.steps)
    config = config.with_overrides(args.overrides)
    colors = split_colors(args.colors)
    if not colors:
        raise ColorEditError("--colors: give at least one color")
    if args.batch < 1:
        raise ColorEditError("--batch must be at least 1")
    prompted = bool(args.mask_text or args.point or args.negative_point or args.box)
    if prompted == bool(args.mask):
        raise ColorEditError("give --mask, or one of --mask-text, --point, --box")
    output_paths(args.output, colors, args.force)  # every input checked before the (slow) model load
    for color in colors:
        parse_color(color)
    photo = read_photo(args.image, "image")  # read once: checked here, edited below
    image = photo.srgb
    for notice in photo.notices:
        print(f"coloredit: {notice}", file=sys.stderr)
    given = load_mask(args.mask, image.size) if args.mask else None  # the mask file read once, here

    started = time.perf_counter()
    pipe = editor(args, config)
    load_seconds = time.perf_counter() - started
    found = None if args.mask else mask_from_prompts(args, image, lambda: pipe)
    mask = given if given is not None else found.mask
    result = pipe(
        args.prompt, mask, image=photo, color=colors, seed=args.seed, config=config, targets_per_batch=args.batch
    )
    records = write_colorways(
        result.images,
        result.source_image,
        load_mask(mask, image.size),
        colors,
        args.output,
        args.force,
        config.scene_light,
    )
    if args.json:
        seconds = {"load": round(load_seconds, 4), **{k: round(v, 4) for k, v in result.seconds.items()}}
        described = {"output": str(args.output), "colorways": records, "seconds": seconds, "unet": result.unet}
        described["engine"] = {"engine": result.engine, "why": result.engine_reason}
        print(json.dumps({**described, "mask_confidence": rounded_confidence(found)}))
    else:
        for record in records:
            print(f"{record['file']}: {record['color']} reached {record['achieved_hex']} (dE00 {record['delta_e00']})")
        print(f"wrote {args.output / 'sheet.png'}", file=sys.stderr)
    return 0
