"""A designer's job at full resolution, side by side in one run: one product photo (12 MP, the object about a
fifth of it) recolored once (`coloredit edit`) and in 12 colorways (`coloredit colorways`, files, read-back
and contact sheet), both with `--engine exact` (what `auto` runs for such an object) and each as a ratio to the
I/O floor (reading the photo and writing the same PNGs with PIL's defaults; one edit also over the floor at
coloredit's own PNG writer, so that the encoder's share of the gain shows); the app's edit of one
color beside `coloredit edit`; the engine's own seconds per megapixel: the object's decomposition and its
recolor's preparation (once per object), then each color; each command's peak memory, in a process of its own
beyond what its imports take, over the photo's decoded size.

    python benchmarks/full_resolution.py [--width 4000 --height 3000] [--json]
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import subprocess
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


def command(argv: list[str]) -> None:
    """A `coloredit` command in this process (no interpreter start-up), its printing kept quiet."""
    from coloredit.cli.main import main

    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        code = main(argv)
    if code != 0:
        raise SystemExit(f"coloredit {' '.join(argv)} exited {code}")


def app_edit(photo: Path, mask: np.ndarray, folder: Path) -> None:
    """The app's edit of one color, as the web page asks for it: the upload decoded, the PNG and its zip written."""
    from coloredit.app import App
    from coloredit.engine import ExactEditor

    App(ExactEditor(), out=folder / "app").recolor(np.asarray(Image.open(photo)), mask, [COLORS[0]], None, "a red ball")


def peak_mb(argv: list[str]) -> float:
    """The peak memory of a `coloredit` command in a process of its own, less that of a process which only
    imports what the command imports (the interpreter and its libraries are not the photo's)."""

    def peak(code: str) -> float:
        # the process's own high-water mark (VmHWM): ru_maxrss would count this benchmark's pages, forked
        report = "print(next(line.split()[1] for line in open('/proc/self/status') if line.startswith('VmHWM')))"
        program = f"import sys; {code}; sys.stdout = sys.__stdout__; {report}"
        run = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, check=True)
        return int(run.stdout.split()[-1]) / 1024

    imported = "import coloredit.cli.main, coloredit.engine, coloredit.colorways, coloredit.edges"
    ran = f"from coloredit.cli.main import main; sys.stdout = open('/dev/null', 'w'); main({argv!r})"
    return peak(ran) - peak(imported)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--width", type=int, default=4000)
    parser.add_argument("--height", type=int, default=3000)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    from coloredit import exact
    from coloredit.images import save_atomic
    from coloredit.recoloring import Recoloring

    radius = int(0.3 * min(args.width, args.height))
    image, mask = draw_photo(args.width, args.height, radius, (200, 40, 40))
    megapixels = args.width * args.height / 1e6
    with tempfile.TemporaryDirectory() as folder:
        photo, mask_path = Path(folder) / "photo.png", Path(folder) / "mask.png"
        Image.fromarray(image).save(photo)
        Image.fromarray(mask.astype(np.uint8) * 255).save(mask_path)
        common = [str(photo), "--mask", str(mask_path), "--prompt", "a red ball", "--engine", "exact", "--force"]

        def floor(count: int, own_writer: bool = False) -> None:
            read = Image.open(photo).convert("RGB")
            for i in range(count):
                path = Path(folder) / f"floor{i}.png"
                if own_writer:
                    save_atomic(read, path, force=True)
                else:
                    read.save(path)

        seconds = {
            "floor, 1 PNG": timed(lambda: floor(1))[0],
            "floor, 12 PNGs": timed(lambda: floor(12))[0],
            "floor, 1 PNG by coloredit's writer": timed(lambda: floor(1, own_writer=True))[0],
            "coloredit edit": timed(lambda: command(["edit", *common, "--color", COLORS[0], "-o", f"{folder}/e.png"]))[
                0
            ],
            "coloredit colorways (12)": timed(
                lambda: command(["colorways", *common, "--colors", ";".join(COLORS), "-o", f"{folder}/ways"])
            )[0],
            "the app's edit (reading the upload included)": timed(lambda: app_edit(photo, mask, Path(folder)))[0],
        }
        decompose, source = timed(lambda: exact.decompose(image, mask))
        prepare, recoloring = timed(lambda: Recoloring(image, mask, source))
        per_color = timed(lambda: recoloring.patch((32, 64, 224)))[0]
        edit_argv = ["edit", *common, "--color", COLORS[0], "-o", f"{folder}/e.png"]
        ways_argv = ["colorways", *common, "--colors", ";".join(COLORS), "-o", f"{folder}/ways"]
        peaks = {name: peak_mb(argv) for name, argv in (("edit", edit_argv), ("colorways", ways_argv))}
    decoded_mb = image.nbytes / 2**20
    result = {
        "megapixels": round(megapixels, 2),
        "object_share": round(float(mask.mean()), 3),
        "seconds": {k: round(v, 2) for k, v in seconds.items()},
        "ratios": {
            "one edit / floor": round(seconds["coloredit edit"] / seconds["floor, 1 PNG"], 2),
            "12 colorways / floor": round(seconds["coloredit colorways (12)"] / seconds["floor, 12 PNGs"], 2),
            "the app's edit / coloredit edit": round(
                seconds["the app's edit (reading the upload included)"] / seconds["coloredit edit"], 2
            ),
            "one edit / floor by coloredit's PNG writer": round(
                seconds["coloredit edit"] / seconds["floor, 1 PNG by coloredit's writer"], 2
            ),
        },
        "engine_seconds_per_megapixel": {
            "decomposition (once per object)": round(decompose / megapixels, 3),
            "recolor prepared (once per object)": round(prepare / megapixels, 3),
            "recolor (per color)": round(per_color / megapixels, 3),
        },
        "peak_memory_over_photo": {name: round(peak / decoded_mb, 1) for name, peak in peaks.items()},
    }
    print(json.dumps(result) if args.json else json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
