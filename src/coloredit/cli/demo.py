"""`coloredit demo`: the toy world's edit, offline, in under a minute."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from ..config import preset


def run_demo(args: argparse.Namespace) -> int:
    from ..pipeline import ColorEditPipeline
    from ..toy.demo import run_demo as demo

    config = preset(args.preset).with_overrides(args.overrides)
    pipe = ColorEditPipeline.from_pretrained("toy")
    pipe.set_progress_bar_config(disable=True)
    result = demo(pipe, Path(args.output), config, force=args.force)
    if args.json:
        print(json.dumps(result))
    else:
        print(f"{result['source']} -> color of {result['reference']} in {result['seconds']:.1f} s")
        print(f"ΔE00 to the oracle render {result['delta_e']:.2f} (appearance, per pixel: {result['appearance']:.2f})")
        print(f"IoU with the oracle's object {result['iou']:.3f}")
        print(f"background outside the feathered mask byte-identical: {result['background_identical']}")
        print(f"wrote {', '.join(result['files'])}")
    return 0
