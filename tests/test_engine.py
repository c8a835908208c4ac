"""The engine: where the exact-color engine alone makes the very edit the model would, `auto` makes it
without the model (byte for byte, no U-Net call); a dark object still gets the model; `ExactEditor` edits
with no model at all."""

import numpy as np
import pytest

from coloredit import preset
from coloredit.engine import ExactEditor
from coloredit.toy.render import render

COLORS = ["#2040e0", "teal"]


@pytest.fixture(scope="module")
def lit_scene():
    return render(11, shape="ball", color="red", objects=1, pattern=None, jpeg=0)


@pytest.mark.parametrize("color_reference", ["recolor", "generate"])
def test_auto_gives_the_models_edit_byte_for_byte_without_the_model(pipe, lit_scene, color_reference):
    config = preset().replace(num_inference_steps=4, inversion="ddim", color_reference=color_reference)
    call = dict(image=lit_scene.image, color=COLORS)
    model = pipe("a red ball", lit_scene.mask, config=config.replace(engine="diffusion"), **call)
    auto = pipe("a red ball", lit_scene.mask, config=config, **call)
    assert model.unet["calls"] > 0 and auto.unet["calls"] == 0
    assert (model.engine, auto.engine) == ("diffusion", "exact") and "carry its shading" in auto.engine_reason
    for by_model, by_engine in zip(model.images, auto.images, strict=True):
        assert np.array_equal(np.asarray(by_model), np.asarray(by_engine))
    assert np.array_equal(model.mask, auto.mask) and model.reference_prompts == auto.reference_prompts


def test_a_reference_image_too(pipe, lit_scene):
    reference = render(12, shape="cube", color="green", objects=1, pattern=None, jpeg=0)
    config = preset().replace(num_inference_steps=4, inversion="ddim")
    call = dict(image=lit_scene.image, reference=reference.image, reference_mask=reference.mask)
    model = pipe("a red ball", lit_scene.mask, config=config.replace(engine="diffusion"), **call)
    auto = pipe("a red ball", lit_scene.mask, config=config, **call)
    assert auto.unet["calls"] == 0 and np.array_equal(np.asarray(model.image), np.asarray(auto.image))


def test_a_dark_object_gets_the_model(pipe):
    dark = render(13, shape="ball", color="black", objects=1, pattern=None, jpeg=0)
    out = pipe("a black ball", dark.mask, image=dark.image, color="red", config=preset().replace(num_inference_steps=3))
    assert out.engine == "diffusion" and out.unet["calls"] > 0 and "dark" in out.engine_reason


def test_the_paper_preset_keeps_the_full_method(pipe, lit_scene):
    out = pipe(
        "a red ball",
        lit_scene.mask,
        image=lit_scene.image,
        color="blue",
        config=preset("paper").replace(num_inference_steps=3),
    )
    assert out.engine == "diffusion" and out.unet["calls"] > 0


def test_the_exact_editor_needs_no_model_and_equals_auto(pipe, lit_scene):
    config = preset().replace(num_inference_steps=4, inversion="ddim")
    auto = pipe("a red ball", lit_scene.mask, image=lit_scene.image, color=COLORS, config=config)
    alone = ExactEditor()("a red ball", lit_scene.mask, image=lit_scene.image, color=COLORS, config=config)
    # the toy model's native size is 64 px: the editor's crop (512 px) is the whole 64-px scene, as the pipeline's
    for a, b in zip(auto.images, alone.images, strict=True):
        assert np.array_equal(np.asarray(a), np.asarray(b))


def test_a_long_edit_shows_its_progress_and_a_quick_one_or_a_quiet_one_does_not(lit_scene, capsys, monkeypatch):
    """The engine's bar waits `PROGRESS_DELAY` before it shows (a thumbnail's edit prints nothing); past it, each
    step shows; `set_progress_bar_config(disable=True)` hides it, as for diffusers' pipelines."""
    from coloredit import engine

    editor = ExactEditor()
    editor("a red ball", lit_scene.mask, image=lit_scene.image, color=COLORS)
    assert "exact color" not in capsys.readouterr().err
    monkeypatch.setattr(engine, "PROGRESS_DELAY", 0.0)  # as if the edit were a photo's
    editor("a red ball", lit_scene.mask, image=lit_scene.image, color=COLORS)
    shown = capsys.readouterr().err
    assert "exact color" in shown and "2/2" in shown  # the object read, its recolor prepared (colors: as read)
    editor.set_progress_bar_config(disable=True)
    editor("a red ball", lit_scene.mask, image=lit_scene.image, color=COLORS)
    assert capsys.readouterr().err == ""


def test_auto_loads_the_model_only_for_an_edit_that_needs_it(pipe, model_dir, lit_scene):
    """`ModelOnDemand` (the CLI's `auto`): a lit object's edit is the pipeline's own auto edit, byte for byte,
    with no model loaded; a dark object's loads it, once, and is the pipeline's edit."""
    from coloredit.engine import ModelOnDemand
    from coloredit.models import native_size

    loads = []
    editor = ModelOnDemand(lambda: loads.append(1) or pipe, native_size(model_dir))  # the pipeline's folder
    assert editor.native_size == pipe.native_size
    config = preset().replace(num_inference_steps=3)
    lit = editor("a red ball", lit_scene.mask, image=lit_scene.image, color=COLORS, config=config)
    by_pipeline = pipe("a red ball", lit_scene.mask, image=lit_scene.image, color=COLORS, config=config)
    assert loads == [] and lit.engine == "exact"
    for a, b in zip(lit.images, by_pipeline.images, strict=True):
        assert np.array_equal(np.asarray(a), np.asarray(b))
    dark = render(13, shape="ball", color="black", objects=1, pattern=None, jpeg=0)
    for _ in range(2):
        out = editor("a black ball", dark.mask, image=dark.image, color="red", config=config, seed=3)
    direct = pipe("a black ball", dark.mask, image=dark.image, color="red", config=config, seed=3)
    assert loads == [1] and out.engine == "diffusion" and out.unet["calls"] > 0
    assert np.array_equal(np.asarray(out.image), np.asarray(direct.image))


def test_colorways_held_as_the_objects_box_are_the_whole_photo_recolored():
    """A photo larger than the crop: each colorway, made whole when read (and again when read again), is the
    recolor of the whole photo at once (`recoloring.recolor`, no crop, nothing held back), every other byte the
    photo's."""
    from coloredit.recoloring import recolor

    scene = render(seed=3, size=256)
    photo = np.zeros((600, 900, 3), np.uint8)
    photo[...] = (40, 90, 60)
    photo[200:456, 400:656] = scene.image
    mask = np.zeros((600, 900), bool)
    mask[200:456, 400:656] = scene.mask
    colors = ["navy", "#33cc99", "240,200,40"]
    out = ExactEditor()("a ball", mask, image=photo, color=colors, config=preset().replace(mask_refine="off"))
    assert len(out.images) == 3 and out.image.size == (900, 600)
    for index, rgb in enumerate([(0, 0, 128), (0x33, 0xCC, 0x99), (240, 200, 40)]):
        expected = recolor(photo, mask, rgb)
        assert np.array_equal(np.asarray(out.images[index]), expected)
        assert np.array_equal(np.asarray(out.images[index]), np.asarray(out.images[index]))
    assert np.array_equal(np.asarray(out.source_image), photo)
