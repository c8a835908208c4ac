"""PNG files written on every core: a 12 MP photo's PNG took PIL's one-threaded encoder longer than the edit.

Why: PNG's pixels are one zlib stream, which PIL deflates on one core. Run-length deflate (`zlib.Z_RLE`)
looks back one byte only, so the rows can be cut into bands deflated apart, each flushed to a byte boundary
(`Z_FULL_FLUSH`, as pigz does), and the bands joined make one valid stream: the same file PIL's encoder would
make at that strategy, but with each band on a core of its own (zlib lets go of the interpreter). Rows are
filtered with PNG's "Sub" filter (each byte less the pixel to its left), read from the image a band at a time,
so no second copy of the photo is made.
"""

from __future__ import annotations

import os
import struct
import zlib
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Executor, ThreadPoolExecutor
from functools import cache
from typing import BinaryIO

import numpy as np
from PIL import Image

LEVEL = 1  # zlib's fastest level: on run lengths a higher one gains a few percent for twice the time
BAND_BYTES = 1 << 22  # raw bytes a band holds: enough to keep a core busy, few enough to keep memory small
COLOR_TYPES = {"L": 0, "RGB": 2, "LA": 4, "RGBA": 6}  # the modes written here (8 bits a channel)
SUB_FILTER = 1
ZLIB_HEADER = b"\x78\x01"  # deflate, 32 KB window, "fastest" (a multiple of 31, as RFC 1950 asks)

CORES = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
WORKERS = min(CORES, 8)


@cache
def _pool() -> Executor:
    return ThreadPoolExecutor(WORKERS, thread_name_prefix="png")


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def _bands(image: Image.Image) -> Iterator[bytes]:
    """The image's rows, a band at a time, each row its filter byte then its bytes less the pixel to their left."""
    width, height = image.size
    channels = len(image.getbands())
    rows = max(1, BAND_BYTES // (width * channels + 1))
    for top in range(0, height, rows):
        pixels = np.asarray(image.crop((0, top, width, min(top + rows, height)))).reshape(-1, width * channels)
        filtered = np.empty((len(pixels), width * channels + 1), dtype=np.uint8)
        filtered[:, 0] = SUB_FILTER
        filtered[:, 1 : 1 + channels] = pixels[:, :channels]
        np.subtract(pixels[:, channels:], pixels[:, :-channels], out=filtered[:, 1 + channels :])  # wraps mod 256
        yield filtered.tobytes()


def _deflate(raw: bytes, last: bool = False) -> bytes:
    compressor = zlib.compressobj(LEVEL, zlib.DEFLATED, -zlib.MAX_WBITS, 9, zlib.Z_RLE)
    return compressor.compress(raw) + compressor.flush(zlib.Z_FINISH if last else zlib.Z_FULL_FLUSH)


def writable(image: Image.Image) -> bool:
    """Whether `write_png` writes this image (8-bit grey or color, with or without alpha)."""
    return image.mode in COLOR_TYPES


def write_png(image: Image.Image, handle: BinaryIO, icc_profile: bytes | None = None) -> None:
    """`image` (a `writable` mode) as a PNG to `handle`, its color profile embedded when given."""
    width, height = image.size
    handle.write(b"\x89PNG\r\n\x1a\n")
    handle.write(_chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, COLOR_TYPES[image.mode], 0, 0, 0)))
    if icc_profile:
        handle.write(_chunk(b"iCCP", b"ICC Profile\0\0" + zlib.compress(icc_profile)))
    idat = lambda data: handle.write(_chunk(b"IDAT", data))  # noqa: E731  (a stream may span many IDATs)
    idat(ZLIB_HEADER)
    in_flight, checksum = deque(), 1
    for band in _bands(image):
        checksum = zlib.adler32(band, checksum)
        in_flight.append(_pool().submit(_deflate, band))
        if len(in_flight) > 2 * WORKERS:  # written in order, a few bands ahead
            idat(in_flight.popleft().result())
    ending = _deflate(b"", last=True)  # an empty final block closes the byte-aligned bands' stream
    idat(b"".join(f.result() for f in in_flight) + ending + struct.pack(">I", checksum))
    handle.write(_chunk(b"IEND", b""))
