"""The shipped toy model (v2, 4000 U-Net steps): small, loads offline in stock diffusers, draws the prompted
colors and shapes, and the demo's numbers are true."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest
import torch
from PIL import Image

from coloredit import ColorEditPipeline
from coloredit.toy.evaluate import score_generation


@pytest.fixture(scope="module")
def toy():
    pipe = ColorEditPipeline.from_pretrained("toy")
    pipe.set_progress_bar_config(disable=True)
    return pipe


def test_toy_model_ships_small_in_fp16_and_loads_in_stock_diffusers():
    from diffusers import StableDiffusionPipeline

    from coloredit.pipeline import TOY_MODEL

    files = list(TOY_MODEL.rglob("*.safetensors"))
    assert len(files) == 3 and not list(TOY_MODEL.rglob("*.bin"))
    assert sum(f.stat().st_size for f in TOY_MODEL.rglob("*") if f.is_file()) <= 25 * 2**20
    sd = StableDiffusionPipeline.from_pretrained(TOY_MODEL, safety_checker=None, torch_dtype=torch.float32)
    sd.set_progress_bar_config(disable=True)
    image = sd("a red ball", num_inference_steps=4, generator=torch.Generator().manual_seed(0)).images[0]
    assert image.size == (64, 64) and sd.vae_scale_factor == 4 and sd.tokenizer.model_max_length >= 16


def test_toy_model_generates_the_prompted_colors(toy):
    """A regression guard: on these 120 samples the shipped model draws the prompted basic color word 0.975
    of the time and the prompted shape 0.80 (the previous model, with a VAE trained a quarter as long: 0.625
    and 0.70), far above chance (1/12, 1/10); the toy-world issue asks 0.85 per word and shape (see
    docs/toy-world.md)."""
    scores = score_generation(toy, per_pair=1, steps=50, guidance=7.5, seed=0, two_object=0)
    assert scores["samples"] == 120  # 12 basic color words x 10 shapes, each its own seed
    assert scores["color_accuracy"] >= 0.9 and scores["shape_accuracy"] >= 0.7, scores


def test_demo_prints_what_its_images_show(tmp_path):
    from coloredit.toy.demo import SOURCE
    from coloredit.toy.evaluate import oracle_scores, plate
    from coloredit.toy.render import render

    out = tmp_path / "demo"
    env = dict(os.environ, HF_HUB_OFFLINE="1")
    run = lambda: subprocess.run(  # noqa: E731
        [sys.executable, "-m", "coloredit.cli", "demo", "-o", str(out), "--json"],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    proc = run()
    assert proc.returncode == 0, proc.stderr
    printed = json.loads(proc.stdout)
    load = lambda name: np.asarray(Image.open(out / name).convert("RGB"))  # noqa: E731
    source = render(**SOURCE)
    assert np.array_equal(load("source.png"), source.image)
    recomputed = oracle_scores(source, load("oracle.png"), load("edited.png"), 0.02, plate(source))
    for key, value in recomputed.items():
        assert printed[key] == pytest.approx(float(value), abs=1e-4), key
    assert printed["delta_e"] <= 4.0 and printed["background_identical"]
    sheet = Image.open(out / "sheet.png")
    assert sheet.width >= 5 * 4 * 64 and sheet.height == 4 * 64  # enlarged side by side
    again = run()
    assert again.returncode == 2 and "--force" in again.stderr


def test_detector_finds_held_out_objects_and_their_shapes():
    from coloredit.toy.detector import Detector
    from coloredit.toy.render import render

    detector = Detector()
    ious, shapes = [], []
    for seed in range(60_500_000, 60_500_040):  # held-out renders the detector never saw
        scene = render(seed)
        found = detector.detect(scene.image)
        for obj, mask in zip(scene.spec.objects, scene.masks, strict=True):
            if mask.sum() < 20:
                continue
            best = max(found, key=lambda f: (f.mask & mask).sum(), default=None)
            ious.append(0.0 if best is None else (best.mask & mask).sum() / (best.mask | mask).sum())
            shapes.append(best is not None and best.shape == obj.shape)
    assert np.median(ious) >= 0.8 and np.mean(shapes) >= 0.85, (np.median(ious), np.mean(shapes))
