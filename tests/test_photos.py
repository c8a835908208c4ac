"""Real photos as they come: EXIF orientation, alpha, 16-bit, size limits, crop-to-object editing, outputs."""

import os
import stat

import numpy as np
import pytest
from PIL import Image

from coloredit import photos
from coloredit.cli import main
from coloredit.errors import ColorEditError
from coloredit.photos import MAX_PIXELS, object_box, open_photo


def displayed_photo() -> np.ndarray:
    """A 96x64 (W x H) picture, clearly not symmetric: a red block at the top left on a grey gradient."""
    y, x = np.mgrid[0:64, 0:96]
    image = np.stack([x * 2, y * 3, 100 + x], axis=-1).astype(np.uint8)
    image[8:28, 10:40] = (200, 30, 30)
    return image


def test_exif_orientation_is_applied_and_the_edit_comes_out_as_displayed(pipe, fast_config, tmp_path):
    displayed = displayed_photo()
    stored = Image.fromarray(displayed).transpose(Image.Transpose.ROTATE_90)  # a camera held sideways
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 clockwise to display"
    stored.save(tmp_path / "photo.jpg", quality=98, exif=exif)
    image, _, _ = open_photo(tmp_path / "photo.jpg")
    assert image.size == (96, 64)
    assert np.abs(np.asarray(image).astype(int) - displayed).mean() < 3  # JPEG, but the right way up
    mask = np.zeros((64, 96), bool)
    mask[8:28, 10:40] = True  # drawn on the picture as the user sees it
    out = pipe("a red car", mask, image=tmp_path / "photo.jpg", color="blue", config=fast_config)
    assert out.image.size == (96, 64)


def test_alpha_is_kept_byte_for_byte(pipe, fast_config, tmp_path):
    rgba = np.concatenate([displayed_photo(), np.full((64, 96, 1), 255, np.uint8)], axis=-1)
    rgba[:, 60:, 3] = np.arange(36, dtype=np.uint8)[None] * 7  # a transparent right side
    Image.fromarray(rgba).save(tmp_path / "cutout.png")
    mask = np.zeros((64, 96), bool)
    mask[8:28, 10:40] = True
    out = pipe("a red car", mask, image=tmp_path / "cutout.png", color="blue", config=fast_config)
    assert out.image.mode == "RGBA" and np.array_equal(np.asarray(out.image)[..., 3], rgba[..., 3])


def test_16_bit_grayscale_is_converted_with_a_notice_not_white(tmp_path):
    ramp = (np.mgrid[0:32, 0:48][1] * 1300).astype(np.uint16)
    Image.fromarray(ramp).save(tmp_path / "deep.png")
    image, alpha, notices = open_photo(tmp_path / "deep.png")
    assert alpha is None and image.mode == "RGB" and any("16-bit" in n for n in notices)
    gray = np.asarray(image)[..., 0].astype(float)
    assert np.allclose(gray, ramp / 65535 * 255, atol=1) and gray.min() < 5 and gray.max() < 250


def test_a_float_tiff_says_it_was_floating_point(tmp_path):
    """Its notice names what was lost (it said "16-bit" before), and its 0-1 values map to 0-255."""
    Image.fromarray(np.linspace(0, 1, 600, dtype=np.float32).reshape(20, 30), "F").save(tmp_path / "f.tif")
    image, _, notices = open_photo(tmp_path / "f.tif")
    assert notices == ["image: 32-bit floating point converted to 8-bit"]
    assert np.asarray(image)[..., 0].max() == 255 and np.asarray(image)[..., 0].min() == 0


def test_huge_images_are_refused_with_one_line(tmp_path, capsys):
    side = int(np.sqrt(MAX_PIXELS)) + 100
    Image.new("1", (side, side)).save(tmp_path / "huge.png")
    with pytest.raises(ColorEditError, match="MP limit"):
        open_photo(tmp_path / "huge.png")
    Image.new("L", (side, side)).resize((8, 8)).save(tmp_path / "mask.png")
    code = main(
        [
            "edit",
            str(tmp_path / "huge.png"),
            "--mask",
            str(tmp_path / "mask.png"),
            "--color",
            "red",
            "--prompt",
            "a car",
            "-o",
            str(tmp_path / "out.png"),
        ]
    )
    err = capsys.readouterr().err
    assert code == 2 and len(err.strip().splitlines()) == 1 and "MP limit" in err
    assert not (tmp_path / "out.png").exists()


def test_object_box_holds_the_object_and_never_upsamples():
    mask = np.zeros((1200, 1600), bool)
    mask[600:632, 900:932] = True  # a 32-px ball in a 1600x1200 photo
    left, top, right, bottom = object_box(mask, native=512)
    assert (right - left, bottom - top) == (512, 512)
    assert left <= 900 and right >= 932 and top <= 600 and bottom >= 632
    mask[:, :] = False
    mask[0:900, 0:1500] = True  # a big object near the corner: box grows with it, stays in the image
    left, top, right, bottom = object_box(mask, native=512)
    assert (left, top) == (0, 0) and right <= 1600 and bottom <= 1200 and right - left >= 1500


def test_small_object_in_a_big_photo_is_edited_in_its_crop(pipe, fast_config):
    photo = np.asarray(Image.fromarray(displayed_photo()).resize((384, 256)))
    mask = np.zeros((256, 384), bool)
    mask[100:116, 200:216] = True
    config = fast_config.replace(crop_to_object=True, exact_color=True, scene_light="none")  # the hex's own pixels
    out = np.asarray(pipe("a red car", mask, image=photo, color="#1030e0", config=config).image)
    left, top, right, bottom = object_box(mask, pipe.native_size)
    outside = np.ones(mask.shape, bool)
    outside[top:bottom, left:right] = False
    assert out.shape == photo.shape and np.array_equal(out[outside], photo[outside])
    assert np.abs(out[mask].astype(int) - [0x10, 0x30, 0xE0]).mean(axis=0).max() < 40  # the object changed


def test_output_is_checked_before_the_edit_and_gets_the_umask_mode(photo, model_dir, tmp_path, capsys):
    image, mask = photo
    folder = tmp_path / "a-folder"
    folder.mkdir()
    args = [
        "edit",
        str(image),
        "--mask",
        str(mask),
        "--color",
        "red",
        "--prompt",
        "a car",
        "--model",
        str(model_dir),
        "--steps",
        "2",
    ]
    assert main([*args, "-o", str(folder)]) == 2 and "is a folder" in capsys.readouterr().err
    assert main([*args, "-o", str(tmp_path / "x.unknownformat")]) == 2
    previous = os.umask(0o022)
    try:
        assert main([*args, "-o", str(tmp_path / "out.png")]) == 0
    finally:
        os.umask(previous)
    assert stat.S_IMODE((tmp_path / "out.png").stat().st_mode) == 0o644


def adobe_rgb() -> bytes:
    """The Adobe RGB (1998) profile scikit-image's rocket.jpg carries: a real camera profile, not ours."""
    from pathlib import Path

    from skimage import data

    with Image.open(Path(data.__file__).parent / "rocket.jpg") as rocket:
        return rocket.info["icc_profile"]


def from_profile(pixels: np.ndarray, profile: bytes) -> np.ndarray:
    """What a color-managed viewer shows: the pixels through their profile, in sRGB (LittleCMS, not ours)."""
    import io

    from PIL import ImageCms

    source = ImageCms.ImageCmsProfile(io.BytesIO(profile))
    shown = ImageCms.profileToProfile(
        Image.fromarray(pixels), source, ImageCms.createProfile("sRGB"), ImageCms.Intent.RELATIVE_COLORIMETRIC, "RGB"
    )
    return np.asarray(shown).astype(int)


def test_an_adobe_rgb_photo_keeps_its_profile_and_its_unedited_pixels(photo, model_dir, tmp_path):
    from coloredit.images import feather_radius, feather_weights

    profile = adobe_rgb()
    encoded = np.asarray(Image.open(photo[0]).convert("RGB")).copy()
    encoded[60:80, 90:120] = (0, 255, 0)  # an Adobe RGB green outside sRGB's gamut: any round trip clips it
    Image.fromarray(encoded).save(tmp_path / "adobe.png", icc_profile=profile)
    mask = np.asarray(Image.open(photo[1]).resize((128, 96), Image.Resampling.NEAREST)) > 127
    args = ["edit", str(tmp_path / "adobe.png"), "--mask", str(photo[1]), "--color", "#2040e0", "--prompt", "a car"]
    args += ["--model", str(model_dir), "--steps", "2", "--mask-refine", "off"]
    assert main([*args, "-o", str(tmp_path / "kept.png")]) == 0
    assert main([*args, "--output-profile", "srgb", "-o", str(tmp_path / "srgb.png")]) == 0

    with Image.open(tmp_path / "kept.png") as kept:
        assert kept.info.get("icc_profile") == profile
        kept_pixels = np.asarray(kept.convert("RGB"))
    with Image.open(tmp_path / "srgb.png") as srgb:
        assert photos._is_srgb(srgb.info["icc_profile"])
        srgb_pixels = np.asarray(srgb.convert("RGB")).astype(int)
    outside = feather_weights(mask, feather_radius(0.02, mask.shape)) == 0
    assert np.array_equal(kept_pixels[outside], encoded[outside])  # byte for byte, the out-of-gamut green too
    assert not np.array_equal(srgb_pixels[outside], encoded[outside])  # what converting to sRGB would have done
    # inside, the edit shows the colors of the sRGB one (the hex reached in the photo's own space), but for
    # 8-bit steps in Adobe RGB, coarser than sRGB's: the object's mean color within 0.3 CIEDE2000 (scikit-image)
    from skimage.color import deltaE_ciede2000, rgb2lab

    shown = from_profile(kept_pixels, profile)[mask]
    assert np.abs(shown - srgb_pixels[mask]).max() <= 5
    means = [rgb2lab(pixels.mean(axis=0)[None, None] / 255)[0, 0] for pixels in (shown, srgb_pixels[mask])]
    assert deltaE_ciede2000(*means) < 0.3


def test_a_patched_photo_reads_and_writes_as_the_photo_with_its_patch_pasted(tmp_path):
    """What is written of an edit without making the photo whole (`PatchedPhoto`) is PIL's own pasted image:
    every crop the PNG writer and a colorway's color read, the PNG's bytes, a JPEG made whole; its contact-sheet
    thumbnail within one level of resizing the whole (the patch's region resized apart)."""
    from coloredit.images import save_atomic
    from coloredit.photos import PatchedPhoto

    rng = np.random.default_rng(0)
    full = Image.fromarray(rng.integers(0, 256, (300, 420, 3), dtype=np.uint8))
    patch = Image.fromarray(rng.integers(0, 256, (90, 130, 3), dtype=np.uint8))
    whole = full.copy()
    whole.paste(patch, (250, 170))
    patched = PatchedPhoto(full, patch, (250, 170), {})
    for box in [(0, 0, 420, 300), (240, 160, 260, 180), (0, 0, 10, 10), (300, 200, 420, 300), (379, 0, 420, 175)]:
        assert np.array_equal(np.asarray(patched.crop(box)), np.asarray(whole.crop(box)))
    for size in [(140, 100), (256, 183)]:
        reference = np.asarray(whole.resize(size, reducing_gap=3.0), int)
        difference = np.abs(np.asarray(patched.resize(size, 3.0), int) - reference)
        assert difference.max() <= 1 and (difference > 0).mean() < 0.01
    save_atomic(patched, tmp_path / "patched.png")
    save_atomic(whole, tmp_path / "whole.png")
    assert (tmp_path / "patched.png").read_bytes() == (tmp_path / "whole.png").read_bytes()
    save_atomic(patched, tmp_path / "patched.jpg")
    save_atomic(whole, tmp_path / "whole.jpg")
    assert (tmp_path / "patched.jpg").read_bytes() == (tmp_path / "whole.jpg").read_bytes()
