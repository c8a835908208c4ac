"""`coloredit batch`: a folder of photos in some colors, or a JSON-lines file of edits."""

from __future__ import annotations

import argparse
import json
import sys

from ..config import preset
from ..errors import ColorEditError
from .loading import editor


def run_batch(args: argparse.Namespace) -> int:
    from ..batch import folder_jobs, read_jobs
    from ..batch import run_batch as run_jobs
    from ..colorways import split_colors

    if args.jobs.is_dir():  # every photo, mask and color checked before the model loads
        jobs = folder_jobs(args.jobs, split_colors(args.colors or ""), args.masks, args.mask_text, args.prompt)
    elif any(v is not None for v in (args.masks, args.mask_text, args.colors, args.prompt)):
        raise ColorEditError("--masks, --mask-text, --colors and --prompt go with a folder of photos, not a jobs file")
    else:
        jobs = read_jobs(args.jobs)  # every line checked before the model loads
    if args.output.exists() and not args.output.is_dir():
        raise ColorEditError(f"output {args.output} is a file: give a folder")
    config = preset(args.preset)
    if args.steps is not None:
        config = config.replace(num_inference_steps=args.steps)
    config = config.with_overrides(args.overrides)
    pipe = editor(args, config)
    records = run_jobs(pipe, jobs, args.output, config)
    if args.json:
        print(json.dumps({"done": len(records), "jobs": len(jobs), "records": records}))
    else:
        print(
            f"{len(records)} edits written to {args.output} ({len(jobs)} jobs in all; an output already there is done)",
            file=sys.stderr,
        )
    return 0
