"""Real photos as they come: orientation, alpha, bit depth and color profiles in; the object's crop edited at
the model's resolution; the full-resolution photo out.

Why: a 4000x3000 photo edited at 512 px and scaled back up loses its edges, and a small object in it gets a
few latent cells; a photo in Adobe RGB converted to sRGB changes every pixel. `prepare` opens the photo as it
is displayed (EXIF orientation), converts it to 8-bit sRGB to work in (with a notice where that loses
something), and cuts the object's box plus context, never smaller than the model's native size, so the model
sees the object large; `restore` pastes the edited crop back, converts only the pixels the edit changed back
into the photo's own color profile (every other pixel keeps its bytes, the profile is embedded), and puts
the alpha channel back byte for byte.
"""

from __future__ import annotations

import io
import warnings
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image, ImageCms, UnidentifiedImageError

from .errors import ColorEditError
from .images import ImageLike, displayed, load_mask

MAX_PIXELS = 64_000_000  # larger photos are refused with one line (PIL's own bomb check is at ~179 MP)
CONTEXT = 0.5  # context around the object's box, as a share of the box's size on each side


@dataclass
class Photo:
    """A photo as read: 8-bit sRGB to edit, and what it takes to write the edit back in the photo's form."""

    srgb: Image.Image  # 8-bit RGB in sRGB, displayed orientation
    alpha: np.ndarray | None = None  # the alpha channel, kept byte for byte
    notices: list[str] = field(default_factory=list)  # what was converted, one line each
    profile: bytes | None = None  # the photo's ICC profile, embedded in the output
    encoded: Image.Image | None = None  # its RGB pixels in its own profile, where that is not sRGB


@dataclass
class Restore:
    """What `restore` needs to give the edit back in the photo's own form."""

    size: tuple[int, int]  # the full photo's (width, height), displayed orientation
    box: tuple[int, int, int, int]  # the edited crop (left, top, right, bottom)
    full: Image.Image  # the full photo in 8-bit sRGB
    alpha: np.ndarray | None = None  # the photo's alpha channel, kept byte for byte
    notices: list[str] = field(default_factory=list)  # what was converted, one line each
    profile: bytes | None = None  # the photo's ICC profile
    encoded: Image.Image | None = None  # the full photo in its own profile (None: it is sRGB)
    output_profile: str = "photo"  # "photo": write back in the photo's profile; "srgb": in sRGB


def open_photo(source: ImageLike | Photo, what: str = "image") -> tuple[Image.Image, np.ndarray | None, list[str]]:
    """(8-bit sRGB image in displayed orientation, alpha or None, notices) from a path, PIL image or array."""
    photo = read_photo(source, what)
    return photo.srgb, photo.alpha, photo.notices


def read_photo(source: ImageLike | Photo, what: str = "image") -> Photo:
    """The photo in 8-bit sRGB to edit, with its profile and own-encoded pixels to write the edit back in; a
    `Photo` already read is itself (a front end reads a large photo once, checks it, then edits it)."""
    if isinstance(source, Photo):
        return source
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
                    image = opened  # loaded: leaving the block closes the file only, the pixels stay
        except Image.DecompressionBombError:
            raise ColorEditError(
                f"{what} {path} is over the {MAX_PIXELS / 1e6:.0f} MP limit: downscale it first"
            ) from None
        except (UnidentifiedImageError, OSError) as error:
            raise ColorEditError(f"{what} {path} is not a readable image ({error.__class__.__name__})") from None
    image = displayed(image)
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
    profile = image.info.get("icc_profile") or None
    if image.mode == "CMYK":
        notices.append(f"{what}: CMYK converted to RGB, written in sRGB")
        return Photo(_to_srgb(image, profile, what, notices), alpha, notices)
    image = image if image.mode == "RGB" else image.convert("RGB")
    if profile is None or _is_srgb(profile):
        return Photo(image, alpha, notices, profile)
    srgb = _to_srgb(image, profile, what, notices)
    return Photo(srgb, alpha, notices, profile, image if srgb is not image else None)


def _is_srgb(profile: bytes) -> bool:
    try:
        return "srgb" in ImageCms.getProfileDescription(ImageCms.ImageCmsProfile(io.BytesIO(profile))).lower()
    except (OSError, ImageCms.PyCMSError):
        return False


def _to_srgb(image: Image.Image, profile: bytes | None, what: str, notices: list[str]) -> Image.Image:
    if profile:
        try:
            source = ImageCms.ImageCmsProfile(io.BytesIO(profile))
            return ImageCms.profileToProfile(
                image, source, ImageCms.createProfile("sRGB"), ImageCms.Intent.RELATIVE_COLORIMETRIC, "RGB"
            )
        except (OSError, ImageCms.PyCMSError):
            notices.append(f"{what}: its color profile could not be read; taken as sRGB")
    return image.convert("RGB")


def _from_srgb(image: Image.Image, profile: bytes) -> Image.Image:
    """sRGB pixels in the photo's own profile (relative colorimetric: a hex stays that color on screen)."""
    target = ImageCms.ImageCmsProfile(io.BytesIO(profile))
    return ImageCms.profileToProfile(
        image, ImageCms.createProfile("sRGB"), target, ImageCms.Intent.RELATIVE_COLORIMETRIC, "RGB"
    )


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
    image: ImageLike, mask: ImageLike, native: int, crop: bool = True, output_profile: str = "photo"
) -> tuple[Image.Image, np.ndarray, Restore]:
    """(the image to edit, its mask, how to restore): the object's crop when `crop`, else the whole photo."""
    photo = read_photo(image)
    full = photo.srgb
    full_mask = load_mask(mask, full.size)
    box = object_box(full_mask, native) if crop else (0, 0, *full.size)
    work = full if box == (0, 0, *full.size) else full.crop(box)  # no copy of a photo the object fills
    work_mask = full_mask[box[1] : box[3], box[0] : box[2]]
    how = Restore(full.size, box, full, photo.alpha, photo.notices, photo.profile, photo.encoded, output_profile)
    return work, work_mask, how


def restore(edited: Image.Image, how: Restore, at: tuple[int, int] = (0, 0)) -> Image.Image:
    """The edited crop pasted into the full photo in the photo's own profile (embedded), its alpha put back;
    `edited` may be a part of the crop only, its top-left corner `at` (x, y) in the crop (`EditPatches`)."""
    full = how.full.copy()
    left, top = how.box[0] + at[0], how.box[1] + at[1]
    full.paste(edited if edited.mode == "RGB" else edited.convert("RGB"), (left, top))
    profile = how.profile
    if how.encoded is not None and how.output_profile == "photo":
        region = (left, top, left + edited.width, top + edited.height)
        after = np.asarray(full.crop(region))
        changed = (np.asarray(how.full.crop(region)) != after).any(axis=-1)
        pixels = np.array(how.encoded)
        part = pixels[region[1] : region[3], region[0] : region[2]]
        part[changed] = np.asarray(_from_srgb(Image.fromarray(after), how.profile))[changed]
        full = Image.fromarray(pixels)
    elif how.encoded is not None:  # sRGB asked for: the converted photo carries LittleCMS's sRGB profile
        profile = how.full.info.get("icc_profile")
    if how.alpha is not None:
        full.putalpha(Image.fromarray(how.alpha))
    if profile:
        full.info["icc_profile"] = profile
    return full


Patch = tuple[tuple[int, int], np.ndarray]  # ((x, y) in the picture, the RGB pixels there)


class PatchedPhoto:
    """A photo with an edit's patch in it, not made whole: the PNG writer reads it a band of rows at a time
    (`crop`), a colorway's color is read from its object's box and its thumbnail made from the photo's
    (`resize`), so an edit of a 12 MP photo is written with no second photo in memory. `whole` makes it whole,
    for any other use."""

    def __init__(self, full: Image.Image, patch: Image.Image, at: tuple[int, int], info: dict):
        self.full, self.patch, self.at, self.info = full, patch, at, info
        self.size, self.mode = full.size, full.mode

    def getbands(self) -> tuple[str, ...]:
        return self.full.getbands()

    def crop(self, box: tuple[int, int, int, int]) -> Image.Image:
        """The pixels of `box` (left, top, right, bottom), as `whole().crop(box)`."""
        out = self.full.crop(box)
        left, top = self.at
        x0, y0 = max(box[0], left), max(box[1], top)
        x1, y1 = min(box[2], left + self.patch.width), min(box[3], top + self.patch.height)
        if x0 < x1 and y0 < y1:
            out.paste(self.patch.crop((x0 - left, y0 - top, x1 - left, y1 - top)), (x0 - box[0], y0 - box[1]))
        return out

    def whole(self) -> Image.Image:
        whole = self.crop((0, 0, *self.size))
        whole.info.update(self.info)
        return whole

    def resize(self, size: tuple[int, int], reducing_gap: float | None = None) -> Image.Image:
        """As PIL's `resize` of the whole (bicubic), for a smaller size: the photo resized, then the part of
        it the patch reaches (and the filter's reach around it) resized again from the patched pixels."""
        scale_x, scale_y = self.size[0] / size[0], self.size[1] / size[1]
        left, top = self.at
        u0, v0 = max(int(left / scale_x) - 2, 0), max(int(top / scale_y) - 2, 0)
        u1 = min(int(np.ceil((left + self.patch.width) / scale_x)) + 2, size[0])
        v1 = min(int(np.ceil((top + self.patch.height) / scale_y)) + 2, size[1])
        reach = 3 * max(scale_x, scale_y, 1.0)  # bicubic reads 2 output pixels either side
        x0, y0 = max(int(u0 * scale_x - reach), 0), max(int(v0 * scale_y - reach), 0)
        x1 = min(int(np.ceil(u1 * scale_x + reach)), self.size[0])
        y1 = min(int(np.ceil(v1 * scale_y + reach)), self.size[1])
        region = (u0 * scale_x - x0, v0 * scale_y - y0, u1 * scale_x - x0, v1 * scale_y - y0)
        out = self.full.resize(size, reducing_gap=reducing_gap)
        part = self.crop((x0, y0, x1, y1)).resize((u1 - u0, v1 - v0), box=region, reducing_gap=reducing_gap)
        out.paste(part, (u0, v0))
        return out


class EditPatches(Sequence):
    """An edit's images, each made when it is read: its patch, the part of the picture it changes, then the
    whole picture: a photo's dozen colorways are made and written one at a time, never a dozen photos (nor a
    dozen object boxes) in memory. Reading an image twice makes it twice (keep it to use it again)."""

    def __init__(
        self, source: Image.Image | np.ndarray | None, how: Restore | None, patches: list[Callable[[], Patch]]
    ):
        """`source`: the picture the patches go into where there is no photo to `restore` (`how` None)."""
        self.source, self.how, self.patches = source, how, patches

    def __len__(self) -> int:
        return len(self.patches)

    def patched(self, index: int) -> Image.Image | PatchedPhoto:
        """Image `index` to be written: a `PatchedPhoto` where the photo needs nothing put back (no alpha, no
        color profile to convert into), else whole."""
        how = self.how
        if how is None or how.alpha is not None or how.encoded is not None:
            return self[index]
        at, pixels = self.patches[index]()
        info = {**how.full.info, **({"icc_profile": how.profile} if how.profile else {})}  # as `restore` has it
        return PatchedPhoto(how.full, Image.fromarray(pixels), (how.box[0] + at[0], how.box[1] + at[1]), info)

    def __getitem__(self, index):
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        at, pixels = self.patches[index]()
        patch = Image.fromarray(pixels)
        if self.how is not None:
            return restore(patch, self.how, at)
        whole = Image.fromarray(self.source) if isinstance(self.source, np.ndarray) else self.source.copy()
        whole.paste(patch, at)
        return whole


def restore_edit(
    edits: Iterable[Image.Image], source: Image.Image, mask: np.ndarray, how: Restore | None
) -> tuple[list[Image.Image], Image.Image, np.ndarray]:
    """An edit's images, its source and the mask it used, as the full photo (as they are without a crop);
    `edits` may be made one at a time (a generator): each crop is let go once it is restored."""
    if how is None:
        return list(edits), source, mask
    return [restore(edited, how) for edited in edits], restored_source(source, how), restore_mask(mask, how)


def restored_source(source: Image.Image | np.ndarray, how: Restore) -> Image.Image:
    """The edit's source (the photo's crop) as the full photo: the photo as read, not a copy, where putting its own
    crop back changes nothing (no alpha, no color profile to write back): a photo less in memory."""
    if how.alpha is None and how.encoded is None and not how.profile:
        return how.full
    return restore(Image.fromarray(source) if isinstance(source, np.ndarray) else source, how)


def restore_mask(mask: np.ndarray, how: Restore) -> np.ndarray:
    """The crop's mask placed in the full photo (False outside the crop)."""
    full = np.zeros((how.size[1], how.size[0]), dtype=bool)
    left, top, right, bottom = how.box
    full[top:bottom, left:right] = mask
    return full


def to_write(images: Sequence[Image.Image], index: int) -> Image.Image | PatchedPhoto:
    """An edit's image `index` as it is best written: `EditPatches.patched` where the edit is a photo's patches."""
    return images.patched(index) if isinstance(images, EditPatches) else images[index]
