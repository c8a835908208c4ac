"""`coloredit mask`: an object mask from a phrase, clicks or a box."""

from __future__ import annotations

import argparse
import json
import sys

import numpy as np

from ..errors import ColorEditError
from .loading import load_pipeline
from .prompts import mask_from_prompts


def run_mask(args: argparse.Namespace) -> int:
    from PIL import Image

    from ..images import check_output, save_atomic
    from ..photos import open_photo

    check_output(args.output, args.force)
    image = open_photo(args.image)[0]
    found = mask_from_prompts(args, image, lambda: load_pipeline(args.model, None, "auto"))
    if found is None:
        raise ColorEditError("give --text, --point or --box")
    confidence, found = found.confidence, found.mask
    save_atomic(Image.fromarray(found.astype(np.uint8) * 255), args.output, force=args.force)
    if args.json:
        ys, xs = np.nonzero(found)
        box = [int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1] if found.any() else None
        source = (
            "sam"
            if args.point or args.negative_point or args.box
            else ("grounding-dino+sam" if args.detector_model else "attention")
        )
        described = {"output": str(args.output), "pixels": int(found.sum()), "box": box, "source": source}
        print(json.dumps({**described, "confidence": round(confidence, 4)}))
    else:
        print(f"wrote {args.output}", file=sys.stderr)
    return 0
