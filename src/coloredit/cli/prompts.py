"""Masks from what a person types or clicks (a phrase, points, a box), checked before any model, and how sure."""

from __future__ import annotations

import argparse
import sys
from typing import NamedTuple

import numpy as np

from ..config import DEFAULT_SAM
from ..errors import ColorEditError


def _numbers(text: str, count: int, what: str) -> tuple[float, ...]:
    try:
        values = tuple(float(v) for v in text.split(","))
    except ValueError:
        values = ()
    if len(values) != count:
        raise ColorEditError(f"bad {what} {text!r}: give {count} numbers separated by commas")
    return values


class Found(NamedTuple):
    """A mask found from prompts, and how sure the image's own edges make it (`masks.mask_confidence`)."""

    mask: np.ndarray
    confidence: float


def mask_from_prompts(args: argparse.Namespace, image, pipe_loader) -> Found | None:
    """The object mask the prompts of `args` ask for (None when there are none)."""
    found = prompted_mask(args, image, args.mask_text, args.point, args.negative_point, args.box, pipe_loader)
    return _trusted(found, "the object's mask", args.strict)


def reference_mask_from_prompts(args: argparse.Namespace, reference, pipe_loader) -> Found | None:
    """Where the color is in the reference image, by the `--reference-*` prompts (None when there are none)."""
    found = prompted_mask(
        args, reference, args.reference_text, args.reference_point, [], args.reference_box, pipe_loader
    )
    return _trusted(found, "the reference's mask", args.strict)


def _trusted(found: Found | None, what: str, strict: bool) -> Found | None:
    """A one-line warning for an uncertain mask, or with `strict` a ColorEditError (exit 2)."""
    from ..masks import CONFIDENT

    if found is not None and found.confidence < CONFIDENT:
        message = (
            f"{what} was found with low confidence ({found.confidence:.2f} < {CONFIDENT:.2f}: its outline is not "
            "on the image's edges); check it, or give a mask"
        )
        if strict:
            raise ColorEditError(message)
        print(f"coloredit: warning: {message}", file=sys.stderr)
    return found


def checked_prompts(image, text: str | None, points: list[str], negative: list[str], box: str | None) -> tuple:
    """The prompts parsed, (points, negative points, box), checked against the image: a one-line
    ColorEditError before any model loads."""
    from ..photos import open_photo
    from ..validate import check_prompts

    points = [_numbers(p, 2, "point") for p in points]
    negative = [_numbers(p, 2, "point") for p in negative]
    box = _numbers(box, 4, "box") if box else None
    if text and (points or negative or box):
        raise ColorEditError("give a phrase, or points and a box, not both")
    if points or negative or box:
        check_prompts(open_photo(image)[0].size, points, negative, box)
    return points, negative, box


def prompted_mask(
    args: argparse.Namespace,
    image,
    text: str | None,
    points: list[str],
    negative: list[str],
    box: str | None,
    pipe_loader,
) -> Found | None:
    """A phrase's mask (the model's attention, or Grounding DINO + SAM with `--detector-model`), or SAM's for
    points and a box, with its confidence; None when nothing is asked. The pipeline is loaded only for an
    attention mask."""
    from .. import masks
    from ..photos import open_photo

    points, negative, box = checked_prompts(image, text, points, negative, box)
    sam = args.sam_model or DEFAULT_SAM
    if points or negative or box:
        mask = masks.sam_mask(image, points, negative, box, model=sam)
    elif text and args.detector_model:
        mask = masks.grounded_mask(image, text, args.detector_model, sam)
    elif text:
        mask = masks.attention_mask(pipe_loader(), image, text)
    else:
        return None
    return Found(mask, masks.mask_confidence(np.asarray(open_photo(image)[0]), mask))


def rounded_confidence(found: Found | None) -> float | None:
    return None if found is None else round(found.confidence, 4)
