import colorsys

import numpy as np
import pytest

from coloredit.colors import (
    delta_e00,
    hsv_to_rgb,
    hue_distance,
    mean_hue,
    name_color,
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
    ("rgb", "name", "basic"),
    [
        ((250, 10, 10), "red", "red"),
        ((20, 40, 230), "blue", "blue"),
        ((5, 5, 5), "black", "black"),
        ((128, 128, 130), "grey", "grey"),
        ((250, 250, 250), "white", "white"),
        ((255, 150, 0), "orange", "orange"),
        ((20, 30, 110), "navy", "blue"),
        ((0, 125, 125), "teal", "grey"),  # a dark teal is nearer grey than cyan among the 12 basic terms
        ((120, 20, 30), "maroon", "red"),
        ((130, 80, 40), "brown", "brown"),
        ((70, 70, 70), "dark grey", "black"),
    ],
)
def test_name_color_is_the_nearest_term_by_ciede2000(rgb, name, basic):
    assert name_color(rgb) == name
    assert name_color(rgb, basic=True) == basic


def test_ciede2000_matches_scikit_image_and_sharma_data():
    from skimage.color import deltaE_ciede2000

    rng = np.random.default_rng(0)
    lab1 = np.stack([rng.uniform(0, 100, 500), rng.uniform(-90, 90, 500), rng.uniform(-90, 90, 500)], axis=-1)
    lab2 = lab1 + rng.normal(0, 15, lab1.shape)
    assert np.allclose(delta_e00(lab1, lab2), deltaE_ciede2000(lab1, lab2), atol=1e-8)
    # pairs 1 and 17 of Sharma, Wu and Dalal's test data (2005)
    assert delta_e00(np.array([50, 2.6772, -79.7751]), np.array([50, 0, -82.7485])) == pytest.approx(2.0425, abs=1e-4)
    assert delta_e00(np.array([50, 2.5, 0]), np.array([73, 25, -18])) == pytest.approx(27.1492, abs=1e-4)


def test_prompt_color_words():
    assert remove_color_words("a Red car on the blue street.") == "a car on the street."
    assert with_color_word("a green car", "red") == "a red car"
    assert with_color_word("a dark green car", "red") == "a red car"  # "dark green" is one color term
    assert with_color_word("a green car", "dark red") == "a dark red car"
    assert with_color_word("a photo of a car", "blue") == "a photo of a blue car"


def test_lab_matches_scikit_image_and_inverts():
    from skimage.color import rgb2lab

    rgb = np.random.default_rng(1).random((200, 3))
    from coloredit.colors import lab_to_rgb, rgb_to_lab

    assert np.allclose(rgb_to_lab(rgb), rgb2lab(rgb[None])[0], atol=1e-2)  # skimage rounds its matrix differently
    assert np.allclose(lab_to_rgb(rgb_to_lab(rgb)), rgb, atol=1e-6)


def test_bytes_of_linear_light_by_lookup_are_the_formulas_rounding():
    """`linear_to_byte` (a lookup) gives the byte of `round(255 * sRGB(x))` with the power law, for values
    spread over [0, 1], crowded near black, a hair either side of every byte's start, and out of range."""
    from coloredit.colors import linear_to_byte, linear_to_srgb, srgb_to_linear

    rng = np.random.default_rng(2)
    starts = srgb_to_linear((np.arange(1, 256) - 0.5) / 255.0)
    values = np.concatenate(
        [rng.random(200_000), rng.random(50_000) * 0.01, starts * (1 - 1e-9), starts * (1 + 1e-9), [-0.5, 0, 1, 2]]
    )
    expected = (linear_to_srgb(values) * 255.0).round().astype(np.uint8)
    assert np.array_equal(linear_to_byte(values), expected)
    photo = rng.random((700, 600, 3))  # a picture's shape, over one of the slices it is converted in
    assert np.array_equal(linear_to_byte(photo), (linear_to_srgb(photo) * 255.0).round().astype(np.uint8))


def test_lightness_is_cielabs_l():
    from coloredit.colors import lightness, rgb_to_lab

    pixels = np.random.default_rng(4).integers(0, 256, (300, 3)).astype(np.uint8)
    np.testing.assert_allclose(lightness(pixels), rgb_to_lab(pixels)[:, 0], atol=1e-9)
