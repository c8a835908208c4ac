import colorsys

import numpy as np
import pytest

from coloredit.colors import (
    hsv_to_rgb,
    hue_distance,
    mean_hue,
    nearest_color_name,
    parse_color,
    remove_color_words,
    rgb_to_hsv,
    with_color_word,
)
from coloredit.errors import ColorEditError


@pytest.mark.parametrize(
    ("spec", "rgb"),
    [
        ("red", (255, 0, 0)),
        ("RoyalBlue", (65, 105, 225)),
        ("#0af", (0, 170, 255)),
        ("#102030", (16, 32, 48)),
        ("10, 20,30", (10, 20, 30)),
        ("(1,2,3)", (1, 2, 3)),
    ],
)
def test_parse_color(spec, rgb):
    assert parse_color(spec) == rgb


@pytest.mark.parametrize("spec", ["blurple", "#12345", "300,0,0", "", "1,2"])
def test_parse_color_rejects(spec):
    with pytest.raises(ColorEditError):
        parse_color(spec)


def test_hsv_matches_colorsys_and_inverts():
    rgb = np.random.default_rng(0).random((500, 3))
    hsv = rgb_to_hsv(rgb)
    expected = np.array([colorsys.rgb_to_hsv(*p) for p in rgb])
    assert np.allclose(hsv[:, 0], expected[:, 0] * 360) and np.allclose(hsv[:, 1:], expected[:, 1:])
    assert np.allclose(hsv_to_rgb(hsv), rgb)


def test_hue_distance_is_circular():
    assert hue_distance(350, 10) == 20 and hue_distance(0, 180) == 180 and hue_distance(725, 5) == 0


def test_mean_hue_is_circular_and_saturation_weighted():
    hsv = np.array([[350.0, 1.0, 1.0], [10.0, 1.0, 1.0], [180.0, 0.0, 1.0]])
    assert hue_distance(mean_hue(hsv), 0.0) < 1e-9


@pytest.mark.parametrize(
    ("rgb", "name"),
    [
        ((250, 10, 10), "red"),
        ((20, 40, 230), "blue"),
        ((5, 5, 5), "black"),
        ((128, 128, 130), "gray"),
        ((250, 250, 250), "white"),
        ((255, 150, 0), "orange"),
        ((250, 10, 200), "pink"),
    ],
)
def test_nearest_color_name(rgb, name):
    assert nearest_color_name(rgb) == name


def test_prompt_color_words():
    assert remove_color_words("a Red car on the blue street.") == "a car on the street."
    assert with_color_word("a green car", "red") == "a red car"
    assert with_color_word("a dark green car", "red") == "a dark red car"
    assert with_color_word("a photo of a car", "blue") == "a photo of a blue car"


def test_lab_matches_scikit_image_and_inverts():
    from skimage.color import rgb2lab

    rgb = np.random.default_rng(1).random((200, 3))
    from coloredit.colors import lab_to_rgb, rgb_to_lab

    assert np.allclose(rgb_to_lab(rgb), rgb2lab(rgb[None])[0], atol=1e-2)  # skimage rounds its matrix differently
    assert np.allclose(lab_to_rgb(rgb_to_lab(rgb)), rgb, atol=1e-6)


def test_chroma_lock_moves_mean_chroma_and_keeps_lightness():
    from coloredit.colors import lock_chroma, rgb_to_lab

    rng = np.random.default_rng(2)
    image = np.clip(rng.normal([200, 40, 40], 15, (16, 16, 3)), 0, 255).astype(np.uint8)  # a textured red
    weights = np.zeros((16, 16))
    weights[4:12, 4:12] = 1.0
    blue_ab = rgb_to_lab(np.array([0.1, 0.3, 0.9]))[1:]
    locked = lock_chroma(image, weights, blue_ab)
    before, after = rgb_to_lab(image / 255.0), rgb_to_lab(locked / 255.0)
    inside = weights > 0
    assert np.abs(after[inside][:, 1:].mean(axis=0) - blue_ab).max() < 6  # gamut clipping costs a little
    assert np.abs(after[inside][:, 0] - before[inside][:, 0]).mean() < 6
    assert np.array_equal(locked[~inside], image[~inside])
