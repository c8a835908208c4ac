"""Loading and validating images and masks, feathering, paste-back and atomic writes."""

from __future__ import annotations

import os
import tempfile
import warnings
import zlib
from pathlib import Path

import numpy as np
from PIL import ExifTags, Image, ImageOps, UnidentifiedImageError
from scipy import ndimage

from . import png
from .errors import ColorEditError

ImageLike = str | os.PathLike | Image.Image | np.ndarray
# PNGs are written fast: zlib level 1 over run lengths of the filtered rows, the same pixels; 8-bit images on
# every core (`png.write_png`), others by PIL at these settings (benchmarks/full_resolution.py)
PNG_OPTIONS = {"compress_level": 1, "compress_type": zlib.Z_RLE}


def load_image(source: ImageLike, what: str = "image") -> Image.Image:
    """An RGB PIL image from a path, PIL image or HxWx3 uint8/float array."""
    if isinstance(source, Image.Image):
        return source.convert("RGB")
    if isinstance(source, np.ndarray):
        array = source
        if array.dtype != np.uint8:
            array = (np.clip(array, 0.0, 1.0) * 255.0).round().astype(np.uint8)
        if array.ndim == 2:
            array = np.repeat(array[..., None], 3, axis=-1)
        if array.ndim != 3 or array.shape[-1] not in (3, 4):
            raise ColorEditError(f"{what}: array must be HxW, HxWx3 or HxWx4, got shape {array.shape}")
        return Image.fromarray(array[..., :3])
    path = Path(source)
    if not path.is_file():
        raise ColorEditError(f"{what} not found: {path}")
    try:
        with Image.open(path) as image:
            return image.convert("RGB")
    except (UnidentifiedImageError, OSError) as error:
        raise ColorEditError(f"{what} {path} is not a readable image ({error.__class__.__name__})") from None


def rgb_pixels(image: Image.Image | np.ndarray) -> np.ndarray:
    """An image's 8-bit RGB pixels as an array, with no intermediate copy where it is RGB already (an H x W x 3
    uint8 array is its own pixels)."""
    if isinstance(image, np.ndarray):
        return image
    return np.asarray(image if image.mode == "RGB" else image.convert("RGB"))


def load_mask(source: ImageLike, size: tuple[int, int], what: str = "mask", whole_ok: bool = False) -> np.ndarray:
    """A boolean HxW object mask resized to `size` = (width, height): a bool array as it is; gray levels,
    alpha and JPEG masks thresholded at 50% (not "non-zero": a JPEG's ringing would count), with a warning
    when many pixels are neither near black nor near white; a mask file in its displayed (EXIF) orientation.

    The mask may have any resolution of the image's aspect ratio; an empty mask is an error (nothing to
    recolor), and so is a full one unless `whole_ok` (a reference's color may fill it; an edit needs a
    background to keep). `what` names it in errors.
    """
    if isinstance(source, np.ndarray) and source.dtype == bool and source.shape == (size[1], size[0]):
        view = source.view()  # already the image's mask: nothing to threshold, resize or copy
        view.flags.writeable = False
        return _checked(view, what, whole_ok)
    if isinstance(source, np.ndarray) and source.ndim == 2:
        array = np.asarray(source)
        levels = array.astype(np.float64) * (255.0 if array.dtype == bool or array.max() <= 1 else 1.0)
    else:
        if isinstance(source, np.ndarray | Image.Image):
            image = source if isinstance(source, Image.Image) else load_image(source, "mask")
        else:
            path = Path(source)
            if not path.is_file():
                raise ColorEditError(f"{what} not found: {path}")
            try:
                with Image.open(path) as opened:
                    image = displayed(opened)
                    image.load()
            except (UnidentifiedImageError, OSError) as error:
                raise ColorEditError(f"{what} {path} is not a readable image ({error.__class__.__name__})") from None
        if image.mode in ("RGBA", "LA") and np.asarray(image.getchannel("A")).min() < 255:
            image = image.getchannel("A")
        levels = np.asarray(image if image.mode == "L" else image.convert("L"))  # 8-bit: a photo's mask is large
    between = float(np.count_nonzero((levels > 25) & (levels < 230)) / levels.size)
    if between > 0.05:
        warnings.warn(
            f"mask: {between:.0%} of its pixels are neither black nor white (a JPEG or soft mask?); thresholded at 50%",
            stacklevel=2,
        )
    on = levels >= 127.5
    width, height = size
    mask_height, mask_width = on.shape
    if abs(mask_width * height - mask_height * width) > max(width, height, mask_width):
        raise ColorEditError(
            f"{what} is {mask_width}x{mask_height} but the image is {width}x{height}: "
            f"the {what} must have the image's aspect ratio"
        )
    if on.shape != (height, width):
        on = np.asarray(Image.fromarray(on).resize((width, height), Image.Resampling.NEAREST))
    return _checked(on, what, whole_ok)


def displayed(image: Image.Image) -> Image.Image:
    """The image in its displayed orientation (EXIF), itself where it is so already: a photo is not copied for
    nothing."""
    orientation = image.getexif().get(ExifTags.Base.Orientation, 1)
    return image if orientation == 1 else ImageOps.exif_transpose(image)


def _checked(mask: np.ndarray, what: str, whole_ok: bool) -> np.ndarray:
    if not mask.any():
        raise ColorEditError(f"{what} is empty: mark the object in white (over 50% gray)")
    if mask.all() and not whole_ok:
        raise ColorEditError(f"{what} covers the whole image: leave some background unmarked")
    return mask


def working_size(width: int, height: int, native: int, multiple: int) -> tuple[int, int]:
    """The size the model works at: longer side `native`, both sides multiples of `multiple`."""
    scale = native / max(width, height)
    snap = lambda v: max(multiple, round(v * scale / multiple) * multiple)  # noqa: E731
    return snap(width), snap(height)


def feather_radius(fraction: float, size: tuple[int, ...]) -> float:
    """The feather's width in pixels: a fraction of the longer side, at least 2 pixels (so that the
    anti-aliased edge just outside a tight mask is blended, not kept in the old color)."""
    return max(fraction * max(size), 2.0) if fraction > 0 else 0.0


def feather_weights(mask: np.ndarray, radius: float) -> np.ndarray:
    """Blend weight of the edit per pixel: 1 on the object, falling linearly to exactly 0 at `radius`
    pixels outside it, so every pixel farther away keeps the original's bytes."""
    if radius <= 0:
        return mask.astype(np.float32)
    outside = ndimage.distance_transform_edt(~mask)
    return np.clip(1.0 - outside / radius, 0.0, 1.0).astype(np.float32)


def paste_back(edited: Image.Image, original: Image.Image, weights: np.ndarray) -> Image.Image:
    """The edit inside the feathered mask, the original's exact pixels where the weight is 0."""
    edit = np.asarray(edited.convert("RGB").resize(original.size, Image.Resampling.LANCZOS), dtype=np.float32)
    base = np.asarray(original.convert("RGB"), dtype=np.float32)
    w = weights[..., None]
    mixed = np.clip(np.round(w * edit + (1.0 - w) * base), 0, 255).astype(np.uint8)
    return Image.fromarray(np.where(w > 0, mixed, np.asarray(original.convert("RGB"))))


def save_atomic(image: Image.Image, path: str | os.PathLike, force: bool = False) -> Path:
    """Write an image through a temporary file and a rename, so no partial file is ever left. `image` may be a
    `photos.PatchedPhoto`: a PNG is written from it a band at a time, any other format from it made whole."""
    path = Path(path)
    check_output(path, force)
    path.parent.mkdir(parents=True, exist_ok=True)
    suffix = path.suffix or ".png"
    fd, temp = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=suffix, dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            form = Image.registered_extensions().get(suffix.lower(), "PNG")
            if hasattr(image, "whole") and not (form == "PNG" and png.writable(image)):
                image = image.whole()
            if form == "JPEG" and image.mode == "RGBA":
                image = image.convert("RGB")
            options = {"quality": 95} if form == "JPEG" else dict(PNG_OPTIONS) if form == "PNG" else {}
            if image.info.get("icc_profile"):  # the photo's own color profile goes with it
                options["icc_profile"] = image.info["icc_profile"]
            if form == "PNG" and png.writable(image):
                png.write_png(image, handle, options.get("icc_profile"))
            else:
                image.save(handle, format=form, **options)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(temp, 0o666 & ~umask)  # mkstemp makes 0600; a saved image gets the user's usual mode
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise
    return path


def check_output(path: str | os.PathLike, force: bool = False) -> None:
    """Fail now, not after a slow edit, where the output cannot be written."""
    path = Path(path)
    if path.is_dir():
        raise ColorEditError(f"output {path} is a folder: give a file name such as {path / 'edited.png'}")
    if path.exists() and not force:
        raise ColorEditError(f"{path} exists; pass --force (force=True) to overwrite it")
    if path.suffix and path.suffix.lower() not in Image.registered_extensions():
        raise ColorEditError(f"output {path}: unknown image format {path.suffix!r}; use .png (lossless) or .jpg, .tif")
    existing = path.parent if str(path.parent) else Path(".")
    while not existing.exists() and existing != existing.parent:  # the folders to create, up to one that is
        existing = existing.parent
    if not existing.is_dir():
        raise ColorEditError(f"output {path}: cannot create a folder under {existing}, which is a file")
    if not os.access(existing, os.W_OK):
        raise ColorEditError(f"output {path}: folder {existing} is not writable")


def to_uint8_array(image: Image.Image) -> np.ndarray:
    return np.asarray(image.convert("RGB"), dtype=np.uint8)
