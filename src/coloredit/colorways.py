"""Colorways: one product in many colors from one inversion (the pipeline batches the targets); here the
color list, the files, and a labelled contact sheet a designer can judge at a glance."""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont
from tqdm.auto import tqdm

from .colors import delta_e00, name_color, parse_color, rgb_to_lab, to_hex
from .engine import PROGRESS_DELAY
from .errors import ColorEditError
from .exact import WORKING_PIXELS, base_color, object_box
from .images import check_output, rgb_pixels, save_atomic
from .light import SceneLight, scene_light
from .photos import PatchedPhoto, to_write

SHEET_HEIGHT = 256  # pixels of each picture on the sheet
WRITERS = 1  # colorways being written while the next is made (each PNG is deflated on every core: `png.py`)


def split_colors(text: str) -> list[str]:
    """Colors from one string: separated by ';' or new lines, or by commas, where three integers in a row
    are one 'r,g,b' color ("navy,#33cc99,200,40,40" is three colors)."""
    if ";" in text or "\n" in text:
        return [part.strip() for part in re.split(r"[;\n]", text) if part.strip()]
    parts, colors = [part.strip() for part in text.split(",") if part.strip()], []
    while parts:
        if len(parts) >= 3 and all(p.isdigit() for p in parts[:3]):
            colors.append(",".join(parts[:3]))
            parts = parts[3:]
        else:
            colors.append(parts.pop(0))
    return colors


def color_slug(color: str) -> str:
    """The color reduced to letters, digits and dashes, for file names ("#1F4FFF" -> "1F4FFF")."""
    return "-".join(filter(None, re.split(r"[^0-9A-Za-z]+", color))) or "color"


def file_name(index: int, color: str) -> str:
    """`<index>-<color>.png`."""
    return f"{index}-{color_slug(color)}.png"


def achieved(image: Image.Image | PatchedPhoto, mask: np.ndarray, target: str, seen_in: SceneLight) -> dict:
    """What the edit reached: the object's base color read back from the edited picture, its lit color over
    the light the edit was seen in (`seen_in`, the source's), as hex, and its CIEDE2000 to the target."""
    reached = base_color(*_object_part(image, mask), scene_light=seen_in)
    wanted = parse_color(target)
    error = delta_e00(rgb_to_lab(np.array(reached) / 255.0), rgb_to_lab(np.array(wanted) / 255.0))
    return {
        "color": target,
        "target_hex": to_hex(wanted),
        "achieved_hex": to_hex(reached),
        "delta_e00": round(float(error), 2),
    }


def thumbnail(picture: Image.Image | PatchedPhoto) -> Image.Image:
    """The picture at the contact sheet's height (a thumbnail is its own thumbnail)."""
    width = max(1, round(picture.size[0] * SHEET_HEIGHT / picture.size[1]))
    picture = picture if picture.mode == "RGB" else picture.convert("RGB")
    return picture.resize((width, SHEET_HEIGHT), reducing_gap=3.0)


def _object_part(image: Image.Image | PatchedPhoto, mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The pixels and mask of the object's box, its corner on the grid `base_color` samples a large object on
    (`exact.at_working_size`): the same color read, from the box's pixels, not a copy of the whole photo."""
    step = max(1, int(np.ceil(np.sqrt(mask.sum() / WORKING_PIXELS))))
    rows, cols = object_box(mask, 0)
    top, left = rows.start - rows.start % step, cols.start - cols.start % step
    return rgb_pixels(image.crop((left, top, cols.stop, rows.stop))), mask[top : rows.stop, left : cols.stop]


def contact_sheet(source: Image.Image, images: Sequence[Image.Image], labels: list[str]) -> Image.Image:
    """The source and every colorway side by side at one height, each labelled underneath."""
    font = ImageFont.load_default()
    scaled = [thumbnail(p) for p in (source, *images)]
    gap, text_height = 8, 30
    width = sum(s.width for s in scaled) + gap * (len(scaled) + 1)
    sheet = Image.new("RGB", (width, SHEET_HEIGHT + text_height + 2 * gap), "white")
    draw, x = ImageDraw.Draw(sheet), gap
    for picture, label in zip(scaled, ["source", *labels], strict=True):
        sheet.paste(picture, (x, gap))
        for line, text in enumerate(label.split("\n")[:2]):
            draw.text((x, SHEET_HEIGHT + gap + 2 + 13 * line), text, fill="black", font=font)
        x += picture.width + gap
    return sheet


def output_paths(folder: Path, colors: list[str], force: bool) -> list[Path]:
    """`folder/<index>-<color>.png` for each color, then `folder/sheet.png`; checked writable (and not there,
    unless `force`), so a run fails before its slow steps."""
    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise ColorEditError(f"output {folder} is a file: give a folder")
    paths = [folder / file_name(i + 1, color) for i, color in enumerate(colors)] + [folder / "sheet.png"]
    for path in paths:
        check_output(path, force)
    return paths


def write_colorways(
    images: Sequence[Image.Image],
    source: Image.Image,
    mask: np.ndarray,
    colors: list[str],
    folder: Path,
    force: bool,
    light_mode: str = "auto",
) -> list[dict]:
    """The colorways and their sheet at `output_paths`, each written atomically; one record per color
    (file, target and achieved color, read in the source's light as `light_mode` has it). The colorways are
    read one at a time (`images` may make each as it is read: `photos.EditPatches`), and no more of them are
    held than are being written."""
    paths = output_paths(folder, colors, force)
    seen_in = scene_light(rgb_pixels(source), mask, mode=light_mode)
    records, thumbnails, in_flight = [], [], deque()
    # PNG compression lets go of the interpreter: the files are written on other cores while each colorway's
    # color is read back here
    bar = tqdm(total=len(colors), desc="colorways", unit="color", delay=PROGRESS_DELAY)
    with ThreadPoolExecutor(WRITERS) as writers, bar:
        for index, (path, color) in enumerate(zip(paths, colors, strict=False)):
            image = to_write(images, index)  # made while the one before is written
            while len(in_flight) >= WRITERS:
                in_flight.popleft().result()
            in_flight.append(writers.submit(save_atomic, image, path, force))
            records.append({"file": str(path), **achieved(image, mask, color, seen_in)})
            thumbnails.append(thumbnail(image))
            del image
            bar.update()
        labels = [f"{r['color']}\nreached {r['achieved_hex']}  dE00 {r['delta_e00']:.1f}" for r in records]
        in_flight.append(writers.submit(save_atomic, contact_sheet(source, thumbnails, labels), paths[-1], force))
        for done in in_flight:
            done.result()
    return records


def derived_prompt(image: np.ndarray, mask: np.ndarray, phrase: str = "") -> str:
    """'a {the object's color} {phrase or object}': what the edit's prompt needs when the user gives none."""
    return f"a {name_color(base_color(image, mask))} {phrase.strip() or 'object'}"
