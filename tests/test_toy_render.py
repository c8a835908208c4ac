import numpy as np
import pytest
from scipy import ndimage

from coloredit.colors import NAMED_HUES, hue_distance
from coloredit.toy.evaluate import classify_shape, iou, nearest_named_color, object_hue, object_mask
from coloredit.toy.render import COLORS, SHAPES, render


def interior(mask: np.ndarray) -> np.ndarray:
    """Mask pixels whose 4 neighbours are in the mask too (no anti-aliased edge)."""
    core = mask.copy()
    core[1:, :] &= mask[:-1, :]
    core[:-1, :] &= mask[1:, :]
    core[:, 1:] &= mask[:, :-1]
    core[:, :-1] &= mask[:, 1:]
    return core


def test_render_is_deterministic_by_seed():
    a, b, c = render(7), render(7), render(8)
    assert np.array_equal(a.image, b.image) and np.array_equal(a.mask, b.mask) and a.caption == b.caption
    assert not np.array_equal(a.image, c.image)


@pytest.mark.parametrize("color", COLORS)
def test_named_colors_render_their_nominal_hue(color):
    for seed in range(5):
        scene = render(seed, color=color, shape=SHAPES[seed])
        assert scene.color == color and scene.caption == f"a {color} {SHAPES[seed]}"
        hue = object_hue(scene.image, interior(scene.mask))
        assert hue_distance(hue, NAMED_HUES[color]) <= 6 + 3  # +-6 deg jitter, +3 for shading and noise
        assert nearest_named_color(hue) == color


@pytest.mark.parametrize("hue", [90.0, 150.0, 205.0, 250.0, 300.0, 340.0])
def test_hues_between_names_render_right(hue):
    scene = render(3, hue=hue, shape="square")
    assert scene.color is None and scene.caption == "a square"
    assert hue_distance(object_hue(scene.image, interior(scene.mask)), hue) <= 3


def test_mask_is_exactly_the_object():
    for seed in range(20):
        scene = render(seed)
        background = ndimage.binary_erosion(~scene.mask, np.ones((3, 3)))  # 8-neighbours away from the object
        assert iou(object_mask(scene.image), scene.mask) > 0.75
        assert not object_mask(scene.image)[background].any()  # backgrounds are never object-saturated


def test_shape_metric_recognises_held_out_renders():
    scenes = [render(70_000_000 + i, shape=SHAPES[i % 5]) for i in range(60)]
    from_pixels = np.mean([classify_shape(object_mask(s.image)) == s.shape for s in scenes])
    assert from_pixels >= 0.95
    assert classify_shape(np.zeros((32, 32), bool)) is None
