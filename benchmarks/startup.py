"""How fast the CLI answers before any model: `--help`, `edit --help` and an offline missing model, each
beside `python -c "import numpy"` in the same run (the floor: Python and NumPy starting), as ratios.

    python benchmarks/startup.py [--repeats 5] [--json]

The first ten minutes of a user are mostly these answers; the README promises each within 3x the floor.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image


def seconds(command: list[str], repeats: int, env: dict) -> float:
    """The median wall time of `command` over `repeats` runs."""
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        subprocess.run(command, capture_output=True, env=env, check=False)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        image, mask = Path(folder) / "photo.png", Path(folder) / "mask.png"
        Image.fromarray(np.full((64, 64, 3), 128, np.uint8)).save(image)
        Image.fromarray(np.pad(np.full((30, 30), 255, np.uint8), 17)).save(mask)
        env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_HUB_CACHE": str(Path(folder) / "empty-cache")}
        env.pop("COLOREDIT_MODEL", None)
        cli = [sys.executable, "-m", "coloredit.cli"]
        offline = [*cli, "edit", str(image), "--mask", str(mask), "--color", "red", "--prompt", "a box"]
        commands = {
            "import numpy": [sys.executable, "-c", "import numpy"],
            "coloredit --help": [*cli, "--help"],
            "coloredit edit --help": [*cli, "edit", "--help"],
            "offline, model not cached": [*offline, "-o", str(Path(folder) / "out.png")],
        }
        timed = {name: seconds(command, args.repeats, env) for name, command in commands.items()}
    floor = timed["import numpy"]
    result = {
        "seconds": {name: round(value, 3) for name, value in timed.items()},
        "ratios": {
            f"{name} / import numpy": round(value / floor, 2) for name, value in timed.items() if value != floor
        },
    }
    if args.json:
        print(json.dumps(result))
        return
    for name, value in timed.items():
        print(f"{name:28s} {value:6.3f} s  {value / floor:5.2f}x")


if __name__ == "__main__":
    main()
