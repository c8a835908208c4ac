"""A designer's job at full resolution, side by side in one run: one product photo (12 MP, the object about a
quarter of it) recolored once and in 12 colorways by the engine alone (`--engine exact`, what `auto` runs for
such an object), each as a ratio to the I/O floor (reading the photo and writing the same PNGs); the engine's
own seconds per megapixel per color; PNG writing at zlib level 6 (PIL's default) and 1; the peak memory over
the photo's decoded size.

    python benchmarks/full_resolution.py [--width 4000 --height 3000] [--json]
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).parent))
from photos import draw_photo  # the same drawn photo as the photo benchmark

COLORS = ["navy", "#33cc99", "240,200,40", "crimson", "teal", "#ff8800"]
COLORS += ["olive", "plum", "#1f4fff", "gold", "tan", "sienna"]


def timed(work) -> tuple[float, object]:
    started = time.perf_counter()
    result = work()
    return time.perf_counter() - started, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--width", type=int, default=4000)
    parser.add_argument("--height", type=int, default=3000)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    from coloredit import exact, preset
    from coloredit.engine import ExactEditor

    radius = int(0.3 * min(args.width, args.height))
    image, mask = draw_photo(args.width, args.height, radius, (200, 40, 40))
    megapixels = args.width * args.height / 1e6
    config = preset().replace(engine="exact")
    with tempfile.TemporaryDirectory() as folder:
        photo, mask_path = Path(folder) / "photo.png", Path(folder) / "mask.png"
        Image.fromarray(image).save(photo)
        Image.fromarray(mask.astype(np.uint8) * 255).save(mask_path)

        def floor(count: int, level: int) -> None:
            read = Image.open(photo).convert("RGB")
            for i in range(count):
                read.save(Path(folder) / f"floor{i}.png", compress_level=level)

        def edit(colors: list[str]) -> None:
            out = ExactEditor()("a red ball", mask_path, image=photo, color=colors, config=config)
            for i, edited in enumerate(out.images):
                edited.save(Path(folder) / f"edit{i}.png")

        seconds = {
            "floor, 1 PNG (level 6)": timed(lambda: floor(1, 6))[0],
            "floor, 12 PNGs (level 6)": timed(lambda: floor(12, 6))[0],
            "floor, 12 PNGs (level 1)": timed(lambda: floor(12, 1))[0],
            "one edit, engine alone": timed(lambda: edit(COLORS[:1]))[0],
            "12 colorways, engine alone": timed(lambda: edit(COLORS))[0],
        }
        decompose, source = timed(lambda: exact.decompose(image, mask))
        recolor = timed(lambda: exact.recolor(image, mask, (32, 64, 224), source=source))[0]
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    result = {
        "megapixels": round(megapixels, 2),
        "object_share": round(float(mask.mean()), 3),
        "seconds": {k: round(v, 2) for k, v in seconds.items()},
        "ratios": {
            name: round(seconds[over] / seconds[under], 2)
            for name, over, under in (
                ("one edit / floor", "one edit, engine alone", "floor, 1 PNG (level 6)"),
                ("12 colorways / floor", "12 colorways, engine alone", "floor, 12 PNGs (level 6)"),
                ("PNG level 1 / level 6", "floor, 12 PNGs (level 1)", "floor, 12 PNGs (level 6)"),
            )
        },
        "engine_seconds_per_megapixel": {
            "decomposition (once per object)": round(decompose / megapixels, 3),
            "recolor (per color)": round(recolor / megapixels, 3),
        },
        "peak_memory_over_photo": round(peak_mb / (image.nbytes / 2**20), 1),
    }
    print(json.dumps(result) if args.json else json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
