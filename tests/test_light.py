"""The scene's light read from one picture (`light.py`), judged on path-traced scenes the model never saw
(seeds no training, tuning or test set draws), against the renderer's own facts; and the training scenes it
learns from."""

from dataclasses import replace

import numpy as np
import pytest

pytest.importorskip("mitsuba")

from coloredit import exact, light
from coloredit.colors import delta_e00, rgb_to_lab
from coloredit.recoloring import recolor
from coloredit.toy import pbr, pbr_scenes
from coloredit.toy.pbr_data import facts, load_sample, render_training_set, training_scene
from coloredit.toy.train_light import train_light

HELD_OUT = 79_000_000  # scenes for these tests only
LUMA = light.LUMA


def lab(rgb):
    return rgb_to_lab(np.asarray(rgb, dtype=np.float64) / 255.0)


@pytest.fixture(scope="module")
def held_out():
    """Twelve plain dielectric scenes of base colors with no dark channel (tinted keys half the time)."""
    scenes = []
    seed = HELD_OUT
    while len(scenes) < 12:
        scene = pbr_scenes.sample_pbr_scene(seed, "studio")
        seed += 1
        base = exact.to_linear(np.array(scene.target.color, dtype=np.float64))
        if scene.target.material in ("metal", "sheen") or scene.target.pattern or base.min() < 0.03:
            continue  # dark channels: the light cannot be read off them
        views = pbr.render_views(scene, 128, 32, seed=0)
        if views.mask.sum() >= 200:
            scenes.append((scene, views))
    return scenes


def test_the_light_is_read_better_than_by_assuming_a_white_key_of_level_one(held_out):
    """Against the renderer's truth (the object's lit color over its base color): the estimate's color and
    level errors are both below those of the old rule (the lit color is the base color)."""
    estimated, assumed = [], []
    for scene, views in held_out:
        lit = exact.decompose(views.image, views.mask).albedo
        truth = np.log(lit / exact.to_linear(np.array(scene.target.color, dtype=np.float64)))
        for guess, out in ((np.log(light.estimate(views.image, views.mask).k), estimated), (np.zeros(3), assumed)):
            error = guess - truth
            out.append((abs(error @ LUMA), np.abs(error - error @ LUMA).max()))
    estimated, assumed = np.median(estimated, axis=0), np.median(assumed, axis=0)
    assert estimated[0] < assumed[0] and estimated[1] < assumed[1], (estimated, assumed)


def test_a_references_base_color_does_not_take_the_tint_of_its_light():
    """One object under a 2900 K key and under a neutral one: its lit colors differ by the light; the base
    colors read from both are closer to each other and to the truth."""
    plain = pbr_scenes.sample_pbr_scene(HELD_OUT + 500, "studio")
    obj = replace(plain.target, shape="sphere", material="diffuse", color=(70, 140, 200), pattern=None)
    scene = replace(plain, objects=(obj,), bleed_color=None, occluder=False, exposure=0.9)
    reads = []
    for kelvin in (2900.0, 6504.0):
        views = pbr.render_views(replace(scene, key_kelvin=kelvin), 128, 32, seed=0)
        seen = light.estimate(views.image, views.mask)
        reads.append((exact.lit_albedo(views.image, views.mask), exact.base_color(views.image, views.mask, None, seen)))
    (warm_lit, warm_base), (neutral_lit, neutral_base) = reads
    assert delta_e00(lab(warm_base), lab(neutral_base)) < delta_e00(lab(warm_lit), lab(neutral_lit))
    assert delta_e00(lab(warm_base), lab(obj.color)) < delta_e00(lab(warm_lit), lab(obj.color))


def test_a_metal_takes_its_new_tint_in_its_highlights_and_the_detector_knows_it():
    """A silver sphere made gold (the hex of the gold tint): recolored as a metal, its white highlights and
    reflections take the tint and it lands nearer the oracle than recolored as paint; `material="auto"`
    finds it is a metal."""
    plain = pbr_scenes.sample_pbr_scene(HELD_OUT + 600, "studio")
    silver = replace(
        plain.target, shape="sphere", material="metal", color=(225, 225, 230), pattern=None, roughness=0.15
    )
    scene = replace(plain, objects=(silver,), bleed_color=None, occluder=False)
    gold = (255, 200, 80)
    views, oracle = pbr.render_edit(scene, gold, 64, 32, seed=0)
    oracle = pbr.to_bytes(oracle)
    seen = light.estimate(views.image, views.mask)
    assert seen.metal > 0.5
    errors = {}
    for material in ("metal", "dielectric", "auto"):
        edited = recolor(views.image, views.mask, gold, scene_light=seen, material=material)
        errors[material] = np.median(delta_e00(lab(edited[views.mask]), lab(oracle[views.mask])))
    assert errors["metal"] < errors["dielectric"] - 0.5 and errors["auto"] == errors["metal"], errors


def test_training_scenes_carry_the_renderers_facts_and_resume(tmp_path):
    assert render_training_set(tmp_path, 3, size=24, spp=4, progress=False) == 3
    before = {p.name: p.stat().st_mtime_ns for p in tmp_path.glob("*.npz")}
    assert render_training_set(tmp_path, 4, size=24, spp=4, progress=False) == 4  # only the new one rendered
    assert all((tmp_path / n).stat().st_mtime_ns == t for n, t in before.items())
    assert not list(tmp_path.glob(".*"))  # no partial file left
    sample = load_sample(tmp_path / "000001.npz")
    assert sample["image"].shape == (24, 24, 3) and sample["mask"].dtype == bool
    scene = training_scene(1)
    assert sample["facts"]["base_color"] == list(scene.target.color) == facts(scene)["base_color"]
    assert sample["facts"]["exposure"] == scene.exposure
    assert len(training_scene(0).objects) == 1 and training_scene(0).target.pattern is None  # reference-like


def test_the_light_model_is_fitted_on_both_worlds_and_loads(tmp_path):
    """Fitted on 48 tiny path-traced scenes and 60 of the simple renderer's, saved as safetensors and loaded:
    it reports held-out errors per world, and reads the simple renderer's white light near level 1."""
    data = tmp_path / "scenes"
    render_training_set(data, 48, size=48, spp=4, progress=False)
    report = train_light(data, tmp_path / "light.safetensors", progress=False, toy_scenes=60)
    assert report["scenes"]["simple"] >= 50 and report["scenes"]["physically based"] >= 40
    errors = report["held-out errors"]
    assert all(np.isfinite(v) for world in errors.values() for v in world.values())
    assert errors["simple"]["light color"] < 0.05  # a white key, learned
    model = light.load(tmp_path / "light.safetensors")
    assert model.scene.shape[1] == 3 and model.share.shape[1] == 2
