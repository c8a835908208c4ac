import numpy as np
import pytest
from PIL import Image

from coloredit.errors import ColorEditError
from coloredit.images import feather_weights, load_mask, paste_back, save_atomic, working_size


def test_mask_any_size_of_same_aspect_is_resized(tmp_path):
    small = np.zeros((12, 16), np.uint8)
    small[3:9, 4:12] = 255
    Image.fromarray(small).save(tmp_path / "m.png")
    mask = load_mask(tmp_path / "m.png", (128, 96))
    assert mask.shape == (96, 128) and mask.dtype == bool
    assert mask[24:72, 32:96].all() and mask.sum() == 48 * 64


def test_jpeg_and_gray_masks_are_thresholded_at_half_with_a_warning(tmp_path):
    """A JPEG-saved mask once counted 85% of the image as object ("non-zero"); now 50% decides."""
    mask = np.zeros((64, 96), np.uint8)
    mask[16:48, 24:72] = 255
    Image.fromarray(mask).save(tmp_path / "m.jpg", quality=60)
    loaded = load_mask(tmp_path / "m.jpg", (96, 64))
    assert abs(int(loaded.sum()) - 32 * 48) <= 40
    soft = np.tile(np.linspace(0, 255, 96, dtype=np.uint8), (64, 1))
    with pytest.warns(UserWarning, match="neither black nor white"):
        assert load_mask(soft, (96, 64)).sum() == 64 * (np.linspace(0, 255, 96) >= 127.5).sum()


def test_mask_alpha_channel_marks_the_object():
    rgba = np.zeros((8, 8, 4), np.uint8)
    rgba[2:5, 2:5, 3] = 255
    assert load_mask(Image.fromarray(rgba), (8, 8)).sum() == 9


def test_mask_errors():
    with pytest.raises(ColorEditError, match="aspect ratio"):
        load_mask(np.ones((10, 40)), (64, 64))
    with pytest.raises(ColorEditError, match="empty"):
        load_mask(np.zeros((64, 64)), (64, 64))


def test_feather_is_one_inside_and_exactly_zero_beyond_radius():
    mask = np.zeros((40, 40), bool)
    mask[10:20, 10:20] = True
    weights = feather_weights(mask, 4.0)
    assert (weights[mask] == 1).all()
    assert weights[10, 21] == pytest.approx(0.5)  # 2 px from the mask
    assert (weights[:, 24:] == 0).all() and (weights[:6] == 0).all()


def test_paste_back_keeps_original_bytes_where_weight_is_zero():
    rng = np.random.default_rng(0)
    original = Image.fromarray(rng.integers(0, 256, (30, 40, 3), dtype=np.uint8))
    edited = Image.fromarray(rng.integers(0, 256, (24, 32, 3), dtype=np.uint8))  # other size: resized
    weights = np.zeros((30, 40), np.float32)
    weights[5:10, 5:10] = 1.0
    weights[5:10, 10] = 0.5
    out = np.asarray(paste_back(edited, original, weights))
    keep = weights == 0
    assert np.array_equal(out[keep], np.asarray(original)[keep])
    assert not np.array_equal(out[~keep], np.asarray(original)[~keep])


def test_working_size_keeps_aspect_and_multiple():
    assert working_size(1024, 768, 512, 64) == (512, 384)
    assert working_size(100, 100, 64, 32) == (64, 64)


def test_save_atomic_writes_and_refuses_overwrite(tmp_path):
    path = save_atomic(Image.new("RGB", (4, 4), (1, 2, 3)), tmp_path / "a" / "out.png")
    assert np.asarray(Image.open(path))[0, 0].tolist() == [1, 2, 3]
    with pytest.raises(ColorEditError, match="exists"):
        save_atomic(Image.new("RGB", (4, 4)), path)
    save_atomic(Image.new("RGB", (4, 4)), path, force=True)
    assert sorted(p.name for p in path.parent.iterdir()) == ["out.png"]


def test_feather_is_at_least_two_pixels():
    from coloredit.images import feather_radius

    assert feather_radius(0.02, (32, 32)) == 2.0 and feather_radius(0.02, (512, 384)) == pytest.approx(10.24)
    assert feather_radius(0.0, (512, 512)) == 0.0


def test_pngs_are_written_fast_with_the_same_pixels_and_only_their_own_profile(tmp_path):
    """The fast PNG settings keep every pixel; a profile written with one image is never written with the next."""
    rng = np.random.default_rng(0)
    pixels = rng.integers(0, 256, (64, 80, 3)).astype(np.uint8)
    with_profile = Image.fromarray(pixels)
    with_profile.info["icc_profile"] = b"a profile's bytes"
    save_atomic(with_profile, tmp_path / "a.png")
    save_atomic(Image.fromarray(pixels), tmp_path / "b.png")
    with Image.open(tmp_path / "a.png") as a, Image.open(tmp_path / "b.png") as b:
        assert np.array_equal(np.asarray(a), pixels) and np.array_equal(np.asarray(b), pixels)
        assert a.info.get("icc_profile") == b"a profile's bytes" and "icc_profile" not in b.info


def test_a_mask_already_of_the_images_size_is_taken_as_it_is_and_still_checked():
    mask = np.zeros((30, 40), bool)
    mask[5:20, 8:30] = True
    taken = load_mask(mask, (40, 30))
    assert np.array_equal(taken, mask) and taken is not mask  # a copy: the caller's array is its own
    with pytest.raises(ColorEditError, match="empty"):
        load_mask(np.zeros((30, 40), bool), (40, 30))
    with pytest.raises(ColorEditError, match="whole image"):
        load_mask(np.ones((30, 40), bool), (40, 30))
