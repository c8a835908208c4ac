"""Real photos as they come: orientation, alpha, bit depth and color profiles in; the object's crop edited at
the model's resolution; the full-resolution photo out.

Why: a 4000x3000 photo edited at 512 px and scaled back up loses its edges, and a small object in it gets a
few latent cells. `prepare` opens the photo as it is displayed (EXIF orientation), converts it to 8-bit sRGB
(with a notice where that loses something), and cuts the object's box plus context, never smaller than the
model's native size, so the model sees the object large; `restore` pastes the edited crop back, puts the
alpha channel back byte for byte, and leaves every pixel outside the crop as it was.
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image, ImageCms, ImageOps, UnidentifiedImageError

from .errors import ColorEditError
from .images import ImageLike, load_mask

MAX_PIXELS = 64_000_000  # larger photos are refused with one line (PIL's own bomb check is at ~179 MP)
CONTEXT = 0.5  # context around the object's box, as a share of the box's size on each side


@dataclass
class Restore:
    """What `restore` needs to give the edit back in the photo's own form."""

    size: tuple[int, int]  # the full photo's (width, height), displayed orientation
    box: tuple[int, int, int, int]  # the edited crop (left, top, right, bottom)
    full: Image.Image  # the full photo in 8-bit sRGB
    alpha: np.ndarray | None = None  # the photo's alpha channel, kept byte for byte
    notices: list[str] = field(default_factory=list)  # what was converted, one line each


def open_photo(source: ImageLike, what: str = "image") -> tuple[Image.Image, np.ndarray | None, list[str]]:
    """(8-bit sRGB image in displayed orientation, alpha or None, notices) from a path, PIL image or array."""
    notices: list[str] = []
    if isinstance(source, np.ndarray | Image.Image):
        image = Image.fromarray(source) if isinstance(source, np.ndarray) else source
        if isinstance(source, np.ndarray) and source.dtype != np.uint8:
            image = Image.fromarray((np.clip(source, 0.0, 1.0) * 255).round().astype(np.uint8))
    else:
        path = Path(source)
        if path.is_dir():
            raise ColorEditError(f"{what} {path} is a folder: give an image file")
        if not path.is_file():
            raise ColorEditError(f"{what} not found: {path}")
        try:
            with warnings.catch_warnings():  # our own limit speaks, not PIL's warning
                warnings.simplefilter("ignore", Image.DecompressionBombWarning)
                with Image.open(path) as opened:
                    if opened.width * opened.height > MAX_PIXELS:
                        raise ColorEditError(
                            f"{what} {path} is {opened.width}x{opened.height} "
                            f"({opened.width * opened.height / 1e6:.0f} MP), over the {MAX_PIXELS / 1e6:.0f} MP "
                            "limit: downscale it first"
                        )
                    opened.load()
                    image = opened.copy()
        except Image.DecompressionBombError:
            raise ColorEditError(
                f"{what} {path} is over the {MAX_PIXELS / 1e6:.0f} MP limit: downscale it first"
            ) from None
        except (UnidentifiedImageError, OSError) as error:
            raise ColorEditError(f"{what} {path} is not a readable image ({error.__class__.__name__})") from None
    image = ImageOps.exif_transpose(image)
    if image.mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        depth = {"F": "32-bit floating point", "I": "32-bit"}.get(image.mode, "16-bit")
        array = np.asarray(image, dtype=np.float64)
        top = 65535.0 if image.mode.startswith("I") else max(float(array.max()), 1.0)
        image = Image.fromarray((np.clip(array / top, 0, 1) * 255).round().astype(np.uint8), "L")
        notices.append(f"{what}: {depth} converted to 8-bit")
    alpha = None
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        alpha = np.asarray(rgba.getchannel("A")).copy()
        image = rgba.convert("RGB")
    profile = image.info.get("icc_profile")
    if image.mode == "CMYK" or profile:
        image = _to_srgb(image, profile, what, notices)
    return image.convert("RGB"), alpha, notices


def _to_srgb(image: Image.Image, profile: bytes | None, what: str, notices: list[str]) -> Image.Image:
    if profile:
        try:
            source = ImageCms.ImageCmsProfile(io.BytesIO(profile))
            if "srgb" not in ImageCms.getProfileDescription(source).lower():
                converted = ImageCms.profileToProfile(image, source, ImageCms.createProfile("sRGB"), outputMode="RGB")
                notices.append(f"{what}: converted from its color profile to sRGB")
                return converted
        except (OSError, ImageCms.PyCMSError):
            notices.append(f"{what}: its color profile could not be read; taken as sRGB")
    if image.mode == "CMYK":
        notices.append(f"{what}: CMYK converted to RGB")
    return image.convert("RGB")


def object_box(mask: np.ndarray, native: int, context: float = CONTEXT) -> tuple[int, int, int, int]:
    """The object's bounding box grown by `context` of its size on each side and to at least the model's
    native size (never upsampling a crop), kept inside the image."""
    height, width = mask.shape
    ys, xs = np.nonzero(mask)
    left, right, top, bottom = xs.min(), xs.max() + 1, ys.min(), ys.max() + 1
    box_w = max(round((right - left) * (1 + 2 * context)), min(native, width))
    box_h = max(round((bottom - top) * (1 + 2 * context)), min(native, height))
    cx, cy = (left + right) / 2, (top + bottom) / 2
    x0 = int(np.clip(round(cx - box_w / 2), 0, max(0, width - box_w)))
    y0 = int(np.clip(round(cy - box_h / 2), 0, max(0, height - box_h)))
    return x0, y0, min(width, x0 + box_w), min(height, y0 + box_h)


def prepare(
    image: ImageLike, mask: ImageLike, native: int, crop: bool = True
) -> tuple[Image.Image, np.ndarray, Restore]:
    """(the image to edit, its mask, how to restore): the object's crop when `crop`, else the whole photo."""
    full, alpha, notices = open_photo(image)
    full_mask = load_mask(mask, full.size)
    box = object_box(full_mask, native) if crop else (0, 0, *full.size)
    work = full.crop(box)
    work_mask = full_mask[box[1] : box[3], box[0] : box[2]]
    return work, work_mask, Restore(full.size, box, full, alpha, notices)


def restore(edited: Image.Image, how: Restore) -> Image.Image:
    """The edited crop pasted into the full photo, its alpha put back."""
    full = how.full.copy()
    full.paste(edited.convert("RGB"), how.box[:2])
    if how.alpha is not None:
        full.putalpha(Image.fromarray(how.alpha))
    return full


def restore_mask(mask: np.ndarray, how: Restore) -> np.ndarray:
    """The crop's mask placed in the full photo (False outside the crop)."""
    full = np.zeros((how.size[1], how.size[0]), dtype=bool)
    left, top, right, bottom = how.box
    full[top:bottom, left:right] = mask
    return full
