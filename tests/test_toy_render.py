"""The toy renderer v2: deterministic, exact masks, honest captions, and an oracle that changes one object only."""

import numpy as np
import pytest
from scipy import ndimage

from coloredit.colors import BASIC_COLORS, COLOR_TERMS, delta_e00, name_color, rgb_to_lab
from coloredit.measure import object_lab
from coloredit.toy.evaluate import basic_name
from coloredit.toy.models import MAX_TOKENS, toy_tokenizer
from coloredit.toy.render import draw, recolor, render, sample_scene
from coloredit.toy.scene import COLORS, SHAPES, STYLES


def test_render_is_deterministic_by_seed():
    a, b, c = render(7), render(7), render(8)
    assert np.array_equal(a.image, b.image) and a.caption == b.caption
    assert all(np.array_equal(x, y) for x, y in zip(a.masks, b.masks, strict=True))
    assert not np.array_equal(a.image, c.image)


def test_vocabulary_and_scenes_cover_what_the_issue_names():
    assert len(COLOR_TERMS) >= 20 and set(COLORS) == set(BASIC_COLORS) and len(COLORS) == 12
    assert {"navy", "teal", "lime", "beige", "maroon", "gold", "light red", "dark blue"} <= set(COLOR_TERMS)
    assert {"ball", "square", "triangle", "star", "ring"} <= set(SHAPES) and len(SHAPES) >= 8
    specs = [sample_scene(i) for i in range(300)]
    counts = [len(s.objects) for s in specs]
    assert set(counts) == {1, 2, 3}
    objects = [o for s in specs for o in s.objects]
    lightness = np.array([rgb_to_lab(np.array(o.color) / 255.0)[0] for o in objects])
    assert (lightness < 20).mean() > 0.03 and (lightness > 90).mean() > 0.03  # blacks and whites
    assert 0.2 < np.mean([o.glossy for o in objects]) < 0.6 and np.mean([o.pattern is not None for o in objects]) > 0.1
    assert {s.texture for s in specs} == {"plain", "noise", "tiles", "wood"}
    assert 0.1 < np.mean([s.jpeg > 0 for s in specs]) < 0.4


def test_every_caption_word_is_one_token_and_captions_fit():
    tokenizer = toy_tokenizer()
    for seed in range(200):
        for caption in sample_scene(seed).captions(MAX_TOKENS - 2):
            words = caption.split()
            assert len(words) <= MAX_TOKENS - 2
            assert len(tokenizer(caption).input_ids) == len(words) + 2  # start, one token a word, end


@pytest.mark.parametrize("style", STYLES)
def test_masks_are_exactly_the_visible_objects(style):
    """Painting one object magenta, then green, changes exactly its mask's pixels (its second color
    and its white highlight aside, and the outlines a toon object keeps black)."""
    for seed in range(12):
        scene = render(seed, style=style, jpeg=0)
        for i, mask in enumerate(scene.masks):
            magenta, green = (draw(recolor(scene.spec, i, rgb)).image for rgb in ((255, 0, 255), (0, 255, 0)))
            changed = np.abs(magenta.astype(int) - green.astype(int)).max(axis=-1) > 60
            own = mask & ~scene.pattern_masks[i]
            assert changed[own].mean() > (0.75 if style == "toon" else 0.9)
            assert not changed[~ndimage.binary_dilation(mask, iterations=3)].any()
            for j in range(i + 1, len(scene.masks)):
                assert not (mask & scene.masks[j]).any()


@pytest.mark.parametrize("color", COLORS)
def test_a_basic_color_renders_as_that_color(color):
    """An object of a basic color (no second color), its pixels' mean nearest that color's nominal value:
    the detector-side definition the generation score uses."""
    for seed in range(10):
        scene = render(1000 + seed, shape=SHAPES[seed], color=color, objects=1, pattern=None)
        assert scene.caption.replace("shiny ", "") == f"a {color} {SHAPES[seed]}"
        assert basic_name(object_lab(scene.image, scene.mask)) == color


def test_captions_name_each_object_by_the_nearest_term():
    for seed in range(50):
        scene = render(seed)
        for obj in scene.spec.objects:
            assert obj.caption().replace("shiny ", "").startswith(f"a {name_color(obj.color)} {obj.shape}")
            assert name_color(obj.color) == min(
                COLOR_TERMS,
                key=lambda t: delta_e00(
                    rgb_to_lab(np.array(COLOR_TERMS[t]) / 255), rgb_to_lab(np.array(obj.color) / 255)
                ),
            )


@pytest.mark.parametrize("style", STYLES)
def test_oracle_changes_only_the_recolored_object(style):
    for seed in range(8):
        scene = render(20 + seed, style=style, jpeg=0)
        oracle = draw(recolor(scene.spec, 0, (30, 200, 90)))
        near = ndimage.binary_dilation(scene.mask, iterations=3)  # thin star tips cover pixels under 50%
        assert np.array_equal(oracle.image[~near], scene.image[~near])  # same texture, same noise
        assert all(np.array_equal(a, b) for a, b in zip(oracle.masks, scene.masks, strict=True))
        base_change = delta_e00(*(rgb_to_lab(np.array(c) / 255) for c in (scene.spec.objects[0].color, (30, 200, 90))))
        if base_change > 20:
            assert delta_e00(object_lab(oracle.image, scene.mask), object_lab(scene.image, scene.mask)) > 5


def test_styles_differ():
    v2, toon = render(3), render(3, style="toon")
    assert v2.spec.objects[0].shape == toon.spec.objects[0].shape and not np.array_equal(v2.image, toon.image)
    with pytest.raises(ValueError, match="unknown style"):
        render(3, style="photo")


def test_the_package_gives_the_renderer_functions():
    from coloredit.toy import recolor, render

    scene = render(7)
    assert callable(render) and scene.image.shape == (64, 64, 3)
    assert recolor(scene.spec, 0, (1, 2, 3)).objects[0].color == (1, 2, 3)
