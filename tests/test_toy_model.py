"""The shipped toy model (v2: the CPU recipe's VAE and decoder; U-Net 3000 steps and grounding 1200, batches
of 256, on a GPU): small, loads offline in stock diffusers, draws the prompted colors and shapes, binds each
color to its object, finds a phrase's object by its own attention, and the demo's numbers are true."""

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

    from coloredit.models import TOY_MODEL

    files = list(TOY_MODEL.rglob("*.safetensors"))
    assert len(files) == 3 and not list(TOY_MODEL.rglob("*.bin"))
    assert sum(f.stat().st_size for f in TOY_MODEL.rglob("*") if f.is_file()) <= 25 * 2**20
    sd = StableDiffusionPipeline.from_pretrained(TOY_MODEL, safety_checker=None, torch_dtype=torch.float32)
    sd.set_progress_bar_config(disable=True)
    image = sd("a red ball", num_inference_steps=4, generator=torch.Generator().manual_seed(0)).images[0]
    assert image.size == (64, 64) and sd.vae_scale_factor == 4 and sd.tokenizer.model_max_length >= 16


def test_toy_model_generates_the_prompted_colors(toy):
    """A regression guard: on these 120 samples the shipped model draws the prompted basic color word every
    time and the prompted shape 0.825 (the CPU recipe's model: 0.975 and 0.74; the model before that, with a
    VAE trained a quarter as long: 0.625 and 0.70), far above chance (1/12, 1/10); the toy-world issue asks
    0.85 per word and shape (see docs/toy-world.md)."""
    scores = score_generation(toy, per_pair=1, steps=50, guidance=7.5, seed=0, two_object=0)
    assert scores["samples"] == 120  # 12 basic color words x 10 shapes, each its own seed
    assert scores["color_accuracy"] >= 0.95 and scores["shape_accuracy"] >= 0.75, scores


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
    # no fringe of the old red along the outline (p90 6.5 ΔE00 to the oracle; 16.5 while the feather blended
    # the original's outline back over exact color's)
    from scipy import ndimage

    from coloredit.colors import delta_e00, rgb_to_lab

    outline = ndimage.binary_dilation(source.mask) & ~ndimage.binary_erosion(source.mask)
    error = delta_e00(rgb_to_lab(load("edited.png")[outline] / 255.0), rgb_to_lab(load("oracle.png")[outline] / 255.0))
    assert np.percentile(error, 90) < 10.0
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


MASK_SEEDS = range(62_000_000, 62_000_012)  # two-object scenes no training, tuning or held-out set draws
MASK_IOU_GUARD = 0.8  # measured 0.945 on these 12 scenes (0.757 before the color-cluster refinement)
BINDING_GUARD = 0.65  # measured 0.775 on these 40 prompts (the CPU recipe's model: 0.60; before grounding: ~0.2)


def named(scene) -> str:
    target = scene.spec.objects[0]
    from coloredit.colors import name_color

    return f"{name_color(target.color)} {target.shape}"


def test_a_phrase_singles_out_its_object_among_two(toy):
    """`mask --text` on the toy model: the model's own cross-attention to the phrase. A regression guard
    at the grounded model's level (see docs/toy-world.md for the held-out numbers)."""
    from coloredit.masks import attention_mask
    from coloredit.toy.evaluate import iou
    from coloredit.toy.render import render

    ious = []
    for seed in MASK_SEEDS:
        scene = render(seed, objects=2)
        ious.append(iou(attention_mask(toy, scene.image, named(scene)), scene.mask))
    assert np.median(ious) >= MASK_IOU_GUARD, ious


def test_both_objects_of_a_two_object_prompt_take_their_colors(toy):
    """Binding: "a red cube and a blue ring" draws each color on its own object (scored from pixels by
    the detector, left to right as the captions order them)."""
    scores = score_generation(toy, per_pair=0, steps=50, guidance=7.5, seed=0, two_object=40)
    assert scores["two_object_samples"] == 40
    assert scores["two_object_colors_right"] >= BINDING_GUARD, scores


def test_edit_by_phrase_recolors_that_object_and_keeps_the_background(toy, tmp_path):
    """`coloredit edit --mask-text`: end to end from the command line, no mask painted."""
    from coloredit.cli import main
    from coloredit.colors import delta_e00, rgb_to_lab
    from coloredit.images import feather_radius, feather_weights
    from coloredit.masks import attention_mask
    from coloredit.measure import object_lab
    from coloredit.toy.render import render

    scene = render(MASK_SEEDS[0], objects=2)
    Image.fromarray(scene.image).save(tmp_path / "scene.png")
    out = tmp_path / "edited.png"
    args = ["edit", str(tmp_path / "scene.png"), "--mask-text", named(scene), "--color", "#2040c0"]
    assert main([*args, "--model", "toy", "--prompt", f"a {named(scene)}", "-o", str(out)]) == 0
    edited = np.asarray(Image.open(out).convert("RGB"))
    mask = attention_mask(toy, scene.image, named(scene))
    outside = feather_weights(mask, feather_radius(0.02, mask.shape)) == 0
    assert np.array_equal(edited[outside], scene.image[outside])
    target = rgb_to_lab(np.array([0x20, 0x40, 0xC0]) / 255.0)
    before, after = (delta_e00(object_lab(image, mask & scene.mask), target) for image in (scene.image, edited))
    assert after < 0.5 * before, (before, after)
