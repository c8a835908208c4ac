"""The shipped toy model: loads offline, draws the prompted colors, and the demo's numbers are true."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from coloredit import ColorEditPipeline
from coloredit.toy.evaluate import edit_scores, score_generation
from coloredit.toy.render import COLORS, SHAPES


@pytest.fixture(scope="module")
def toy():
    pipe = ColorEditPipeline.from_pretrained("toy")
    pipe.set_progress_bar_config(disable=True)
    return pipe


def test_toy_model_ships_small_in_fp16():
    from coloredit.pipeline import TOY_MODEL

    files = list(TOY_MODEL.rglob("*.safetensors"))
    assert len(files) == 3 and not list(TOY_MODEL.rglob("*.bin"))
    assert sum(f.stat().st_size for f in TOY_MODEL.rglob("*") if f.is_file()) <= 15 * 2**20


def test_toy_model_generates_the_prompted_colors(toy):
    scores = score_generation(toy, per_pair=1, steps=50, guidance=7.5, seed=0)
    assert scores["samples"] == len(COLORS) * len(SHAPES) == 40
    assert scores["color_accuracy"] >= 0.9, scores


def test_demo_prints_what_its_images_show(tmp_path):
    out = tmp_path / "demo"
    env = dict(os.environ, HF_HUB_OFFLINE="1")
    proc = subprocess.run(
        [sys.executable, "-m", "coloredit.cli", "demo", "-o", str(out), "--json"],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    printed = json.loads(proc.stdout)
    load = lambda name: np.asarray(Image.open(out / name).convert("RGB"))  # noqa: E731
    recomputed = edit_scores(
        load("source.png"), load("mask.png")[..., 0] > 127, load("reference.png"), _reference_mask(), load("edited.png")
    )
    for key, value in recomputed.items():
        assert printed[key] == pytest.approx(value, abs=1e-6), key
    sheet = Image.open(out / "sheet.png")
    assert sheet.width >= 4 * 8 * 32 and sheet.height == 8 * 32  # enlarged side by side
    again = subprocess.run(
        [sys.executable, "-m", "coloredit.cli", "demo", "-o", str(out)],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert again.returncode == 2 and "--force" in again.stderr


def _reference_mask() -> np.ndarray:
    from coloredit.toy.demo import REFERENCE
    from coloredit.toy.render import render

    return render(**REFERENCE).mask
