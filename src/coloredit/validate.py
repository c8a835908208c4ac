"""Bad input caught up front: every front end (the CLI, the app, batch jobs, the Python API) checks images,
masks, references, colors and outputs here before any model loads, so a mistake costs a second and one line
(a ColorEditError), never a slow step and a traceback."""

from __future__ import annotations

import json
from collections.abc import Sequence

from .colors import parse_color
from .errors import ColorEditError
from .images import ImageLike, check_output, load_mask
from .photos import open_photo

__all__ = ["check_colors", "check_inputs", "check_output", "check_prompts", "check_reference", "json_object"]


def check_colors(colors: Sequence[str]) -> None:
    for spec in colors:
        parse_color(spec)


def check_reference(reference: ImageLike, reference_mask: ImageLike | None = None) -> None:
    """A reference must show an object to take the color from: a readable image whose mask (when given)
    marks something, and that is not wholly transparent (its alpha would mark nothing)."""
    image, alpha, _ = open_photo(reference, "reference image")
    if reference_mask is not None:
        load_mask(reference_mask, image.size, what="reference mask", whole_ok=True)
    elif alpha is not None and not (alpha >= 128).any():
        raise ColorEditError("reference image is fully transparent: no object to take the color from")


def check_inputs(
    mask: ImageLike,
    image: ImageLike | None = None,
    reference: ImageLike | None = None,
    color: str | Sequence[str | None] | None = None,
    reference_mask: ImageLike | None = None,
) -> None:
    """Raise ColorEditError for bad input to one edit: an unreadable image, a mask that does not fit it, an
    unknown color, a reference with nothing to take a color from; exactly one of a reference or colors."""
    colors = [c for c in ([color] if color is None or isinstance(color, str) else color) if c is not None]
    if (reference is None) == (not colors):
        raise ColorEditError("give exactly one of a reference image or a color")
    if image is not None:
        load_mask(mask, open_photo(image)[0].size)
    check_colors(colors)
    if reference is not None:
        check_reference(reference, reference_mask)


def check_prompts(size: tuple[int, int], points, negative, box) -> None:
    """Points inside the image and a box of some area, or a one-line ColorEditError."""
    width, height = size
    for x, y in [*points, *negative]:
        if not (0 <= x < width and 0 <= y < height):
            raise ColorEditError(f"point {x:g},{y:g} is outside the {width}x{height} image")
    if box is not None:
        x0, y0, x1, y1 = box
        if x1 <= x0 or y1 <= y0:
            raise ColorEditError(f"box {x0:g},{y0:g},{x1:g},{y1:g} has no area: give X0,Y0,X1,Y1 with X1>X0, Y1>Y0")
    if not points and not negative and box is None:
        raise ColorEditError("give a point or a box")


def json_object(text: str, where: str) -> dict:
    """One JSON-lines record, or a ColorEditError naming `where`."""
    try:
        record = json.loads(text)
    except json.JSONDecodeError as error:
        raise ColorEditError(f"{where}: not valid JSON ({error.msg})") from None
    if not isinstance(record, dict):
        raise ColorEditError(f"{where}: expected a JSON object")
    return record
