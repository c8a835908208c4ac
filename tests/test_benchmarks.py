"""The speed benchmark runs end to end and counts what the formulas say an edit costs."""

import json
import subprocess
import sys
from pathlib import Path

BENCHMARK = Path(__file__).parents[1] / "benchmarks" / "edit_speed.py"


def test_edit_speed_benchmark_counts_rows_side_by_side(tmp_path):
    steps = 3
    out = tmp_path / "speed.json"
    command = [
        sys.executable,
        str(BENCHMARK),
        "--model",
        "tiny",
        "--steps",
        str(steps),
        "--json",
        "--json-out",
        str(out),
    ]
    proc = subprocess.run(command, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    assert result == json.loads(out.read_text())
    floor, paper, fast, cached = (result[k] for k in ("floor", "paper", "fast", "fast_cached"))
    assert (floor["unet_calls"], floor["unet_rows"]) == (steps, 2 * steps)  # CFG: two rows a step
    # fast: DDIM-invert the photo and the reference (a row a step each), then the target's and the source's
    # conditional rows a step (no guidance)
    assert (fast["unet_calls"], fast["unet_rows"]) == (3 * steps, steps + steps + 2 * steps)
    assert (cached["unet_calls"], cached["unet_rows"]) == (2 * steps, steps + 2 * steps)  # reference cached
    assert paper["unet_rows"] > 2 * fast["unet_rows"]  # null-text optimization and the reference in the batch
    assert result["ratios"]["paper/fast unet_rows"] == round(paper["unet_rows"] / fast["unet_rows"], 3)
    assert all(stage["seconds"] > 0 and stage["peak_mb"] > 0 for stage in (floor, paper, fast, cached))
    # colorways (default preset: a color's reference is the source recolored, no rows of its own): one
    # inversion, then the source row once and a target's row per color, every step
    for colors in (1, 3, 8):
        stage = result[f"colors_{colors}"]
        assert (stage["unet_calls"], stage["unet_rows"]) == (2 * steps, steps + steps * (1 + colors))
    assert result["ratios"]["3 colors/1 unet_rows"] <= 2.0 and result["ratios"]["8 colors/1 unet_rows"] <= 4.0


def test_edit_speed_benchmark_runs_the_xl_family_against_diffusers_xl_generation():
    steps = 2
    command = [sys.executable, str(BENCHMARK), "--model", "tiny-xl", "--steps", str(steps), "--stages", "floor,fast"]
    proc = subprocess.run([*command, "--json"], capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    assert result["floor"]["unet_rows"] == 2 * steps  # StableDiffusionXLPipeline: CFG, two rows a step
    assert result["fast"]["unet_rows"] == steps + steps + 2 * steps  # as SD 1.x: the family changes no step
