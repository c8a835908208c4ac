"""The PNG writer: the same pixels as the image, read back by PIL and by zlib and PNG's own filter rule."""

import io
import struct
import zlib

import numpy as np
import pytest
from PIL import Image

from coloredit import png


def chunks(data: bytes) -> list[tuple[bytes, bytes]]:
    """(type, data) of each chunk, each one's CRC checked."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    at, found = 8, []
    while at < len(data):
        (length,) = struct.unpack(">I", data[at : at + 4])
        kind, body = data[at + 4 : at + 8], data[at + 8 : at + 8 + length]
        assert struct.unpack(">I", data[at + 8 + length : at + 12 + length])[0] == zlib.crc32(kind + body)
        found.append((kind, body))
        at += 12 + length
    return found


def unfiltered(raw: bytes, height: int, width: int, channels: int) -> np.ndarray:
    """PNG's rows from the decompressed stream, by the specification's Sub rule (every row here uses it)."""
    rows = np.frombuffer(raw, dtype=np.uint8).reshape(height, 1 + width * channels)
    assert (rows[:, 0] == 1).all()
    pixels = rows[:, 1:].reshape(height, width, channels).astype(np.int64)
    return (np.cumsum(pixels, axis=1) % 256).astype(np.uint8)


@pytest.mark.parametrize("mode", ["L", "LA", "RGB", "RGBA"])
def test_every_pixel_comes_back_in_bands_deflated_apart(mode, monkeypatch):
    monkeypatch.setattr(png, "BAND_BYTES", 500)  # many bands, each deflated on its own
    channels = len(mode)
    rng = np.random.default_rng(channels)
    pixels = rng.integers(0, 256, (61, 47, channels), dtype=np.uint8)
    pixels[:20] = pixels[:20] // 64 * 64  # runs of one color, as in a photo's flat background
    image = Image.fromarray(pixels[..., 0] if channels == 1 else pixels, mode)
    handle = io.BytesIO()
    png.write_png(image, handle)
    found = chunks(handle.getvalue())
    assert [kind for kind, _ in found[:1]] == [b"IHDR"] and found[-1][0] == b"IEND"
    assert sum(kind == b"IDAT" for kind, _ in found) > 3
    raw = zlib.decompress(b"".join(body for kind, body in found if kind == b"IDAT"))  # checks the Adler-32
    assert np.array_equal(unfiltered(raw, 61, 47, channels), pixels)
    with Image.open(io.BytesIO(handle.getvalue())) as read:
        assert read.mode == mode and np.array_equal(np.asarray(read).reshape(pixels.shape), pixels)


def test_the_profile_is_embedded_and_files_stay_about_pils_size():
    rng = np.random.default_rng(0)
    ramp = np.linspace(0, 255, 400)[None, :, None] + rng.normal(0, 3, (300, 400, 3))  # a smooth photo's noise
    image = Image.fromarray(np.clip(ramp, 0, 255).astype(np.uint8))
    ours, pils = io.BytesIO(), io.BytesIO()
    png.write_png(image, ours, icc_profile=b"a profile's bytes")
    image.save(pils, format="PNG", compress_level=1, compress_type=zlib.Z_RLE)
    with Image.open(io.BytesIO(ours.getvalue())) as read:
        assert read.info["icc_profile"] == b"a profile's bytes"
        assert np.array_equal(np.asarray(read), np.asarray(image))
    assert len(ours.getvalue()) < 1.1 * len(pils.getvalue())


def test_images_of_other_modes_are_left_to_pil():
    assert not png.writable(Image.new("I;16", (4, 4))) and not png.writable(Image.new("P", (4, 4)))
    assert png.writable(Image.new("RGB", (4, 4)))
