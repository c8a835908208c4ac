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


def test_mask_benchmark_judges_perturbed_masks_against_the_true_masks_edit():
    """Two scenes of the simple renderer: every perturbation has a row for refinement on and off, the true
    mask's fringe is zero by definition, and an as-given dilated mask changes the floor it covers."""
    script = Path(__file__).parents[1] / "benchmarks" / "masks.py"
    proc = subprocess.run([sys.executable, str(script), "--toy", "2", "--json"], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    table = json.loads(proc.stdout)["simple renderer"]
    assert set(table) == {"auto", "off"} and len(table["auto"]) == len(table["off"]) == 10
    assert all(table[r]["true mask"]["fringe, median px"] == 0 for r in ("auto", "off"))
    assert table["off"]["dilated 4"]["spill changed, median"] > 0.3


def test_full_resolution_benchmark_times_the_real_commands_side_by_side():
    script = Path(__file__).parents[1] / "benchmarks" / "full_resolution.py"
    command = [sys.executable, str(script), "--width", "480", "--height", "360", "--json"]
    proc = subprocess.run(command, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    assert set(result["ratios"]) == {
        "one edit / floor",
        "12 colorways / floor",
        "one edit / floor by coloredit's PNG writer",
        "the app's edit / coloredit edit",
    }
    assert all(value > 0 for value in result["seconds"].values())
    assert all(value > 0 for value in result["peak_memory_over_photo"].values())


def test_real_photo_benchmark_finds_the_old_color_a_recolor_leaves_and_the_texture_it_keeps(tmp_path):
    """On scikit-image's tabby cat, through its rough hand mask: an unchanged photo keeps all of the cat's
    orange (leftover 1) and all its texture (SSIM 1); the HSV hue slider, which sets every pixel's hue, leaves
    none; the engine, which reads the orange patches of the fur as its main color, leaves under 5 % (2.3 %
    measured), its texture SSIM over 0.8; the contact sheet is written."""
    import importlib.util

    script = Path(__file__).parents[1] / "benchmarks" / "real_photos.py"
    spec = importlib.util.spec_from_file_location("real_photos", script)
    real_photos = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(real_photos)
    from skimage import data

    loader, _, polygon, cut, _ = real_photos.PHOTOS["chelsea (tabby cat)"]
    cat = data.chelsea()
    mask = real_photos.hand_mask((cat.shape[1], cat.shape[0]), polygon, cut)
    assert real_photos.judged(cat, cat, mask) == {"leftover": 1.0, "texture kept (L* SSIM)": 1.0}
    command = [sys.executable, str(script), "--photos", loader, "--out", str(tmp_path), "--json"]
    proc = subprocess.run(command, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    scores = json.loads(proc.stdout)["chelsea (tabby cat)"]
    assert scores["pixel-hsv-hue, to blue"]["leftover"] == 0.0
    assert scores["coloredit, to blue"]["leftover"] < 0.05
    assert scores["coloredit, to blue"]["texture kept (L* SSIM)"] > 0.8
    assert (tmp_path / "real-photos.png").is_file()
