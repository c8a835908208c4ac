"""Exact color from pixels, judged against the toy renderer's oracle (the same scene drawn in the target
color): the color lands, shading, highlights and second colors stay."""

import numpy as np
import pytest
from scipy import ndimage

from coloredit import exact
from coloredit.baselines import pixel_mean_shift, pixel_reinhard
from coloredit.colors import COLOR_TERMS, delta_e00, hue_distance, name_color, rgb_to_lab
from coloredit.exact import decompose, lit_albedo
from coloredit.light import SceneLight, estimate
from coloredit.masks import salient_object
from coloredit.measure import appearance, delta_e_object, interior
from coloredit.recoloring import Recoloring, pasted
from coloredit.recoloring import recolor as recolor_in_light
from coloredit.toy.render import draw, render, sample_color
from coloredit.toy.render import recolor as recolor_spec

SEEDS = range(50_000_000, 50_000_024)  # a range no training, tuning or test set draws from


def recolor(*args, **kwargs):
    """The engine given the simple renderer's light, which is known: white, of level 1 (its lit color is its
    base color by construction). The estimated light is tested apart, below."""
    return recolor_in_light(*args, scene_light=SceneLight.white(), **kwargs)


def hint(scene):
    return COLOR_TERMS[name_color(scene.spec.objects[0].color)]


def edits():
    for seed in SEEDS:
        scene = render(seed, jpeg=0)
        target = sample_color(np.random.default_rng(seed))
        yield scene, target, draw(recolor_spec(scene.spec, 0, target)).image


def test_recolor_lands_on_the_oracle_and_beats_the_pixel_shift():
    ours, shift = [], []
    for scene, target, oracle in edits():
        edited = recolor(scene.image, scene.mask, target, hint_rgb=hint(scene))
        ours.append((delta_e_object(edited, scene.mask, oracle), appearance(edited, oracle, scene.mask)))
        shifted = pixel_mean_shift(scene.image, scene.mask, rgb_to_lab(np.array(target) / 255.0))
        shift.append((delta_e_object(shifted, scene.mask, oracle), appearance(shifted, oracle, scene.mask)))
        assert np.array_equal(
            edited[~ndimage.binary_dilation(scene.mask)], scene.image[~ndimage.binary_dilation(scene.mask)]
        )
    ours, shift = np.array(ours), np.array(shift)
    assert np.median(ours[:, 0]) <= 3.0 and np.median(ours[:, 1]) <= 4.0
    assert np.median(ours[:, 1]) < np.median(shift[:, 1])


def test_with_the_estimated_light_the_simple_renderers_edits_stay_close():
    """With the light read from the picture (`light.py`, `scene_light="auto"`) on this renderer, whose light
    it was also fitted on, edits cost some accuracy against the known light (median 3.6 here, 1.7 with it:
    the learned level is off by ~14 % on this world's held-out scenes)."""
    errors = []
    for scene, target, oracle in edits():
        seen = estimate(scene.image, scene.mask, hint(scene))
        edited = recolor_in_light(scene.image, scene.mask, target, hint_rgb=hint(scene), scene_light=seen)
        errors.append(delta_e_object(edited, scene.mask, oracle))
    assert np.median(errors) <= 4.5


def test_second_colors_and_highlights_stay():
    scene = render(
        7, shape="cylinder", color="red", objects=1, pattern="stripes", pattern_color=(255, 255, 255), jpeg=0
    )
    edited = recolor(scene.image, scene.mask, (20, 40, 160), hint_rgb=hint(scene))
    stripes = ndimage.binary_erosion(scene.pattern_masks[0]) & scene.mask
    assert stripes.sum() > 20
    kept = delta_e00(rgb_to_lab(edited[stripes] / 255.0), rgb_to_lab(scene.image[stripes] / 255.0))
    assert np.median(kept) < 2.0
    ball = render(8, shape="ball", color="yellow", objects=1, glossy=True, pattern=None, jpeg=0)
    lightness = rgb_to_lab(ball.image / 255.0)[..., 0]
    highlight = ball.mask & (lightness >= np.percentile(lightness[ball.mask], 99))
    edited = recolor(ball.image, ball.mask, (30, 30, 120))
    assert rgb_to_lab(edited[highlight] / 255.0)[:, 0].min() > 80  # still white on a dark blue ball


def test_a_striped_objects_outline_follows_its_body_not_the_stripes():
    """Along the outline a pixel mixes the object with the background; where the object is striped, the
    body's pixels must take the body's new color (they kept a fringe of the old one while the outline took
    the average change of body and stripes: p90 15-22 ΔE00 on these cups). Against the oracle."""
    navy, worst = COLOR_TERMS["navy"], []
    for seed in range(10, 20):
        scene = render(
            seed, shape="cup", color="red", objects=1, pattern="stripes", pattern_color=(255, 255, 255), jpeg=0
        )
        oracle = draw(recolor_spec(scene.spec, 0, navy)).image
        edited = recolor(scene.image, scene.mask, navy, hint_rgb=hint(scene))
        outline = ndimage.binary_dilation(scene.mask) & ~ndimage.binary_erosion(scene.mask)
        error = delta_e00(rgb_to_lab(edited[outline] / 255.0), rgb_to_lab(oracle[outline] / 255.0))
        worst.append(np.percentile(error, 90))
    assert np.median(worst) < 12.0, worst


def test_own_color_reconstructs_and_dark_sources_take_rendered_shading():
    for scene, _, _ in edits():
        own = recolor(scene.image, scene.mask, lit_albedo(scene.image, scene.mask, hint(scene)), hint_rgb=hint(scene))
        # < 1.1: raised from < 1.0 when pixels of the main color's hue began to count as it (the worst of
        # these 24 scenes went from 0.80 to 1.04: such pixels take the model's chromaticity)
        assert delta_e_object(own, scene.mask, scene.image) < 1.1
    black = render(9, shape="ball", color="black", objects=1, glossy=False, pattern=None, jpeg=0)
    target = (230, 200, 40)
    oracle = draw(recolor_spec(black.spec, 0, target)).image
    with_render = recolor(black.image, black.mask, target, rendered=oracle)
    alone = recolor(black.image, black.mask, target)
    assert appearance(with_render, oracle, black.mask) < appearance(alone, oracle, black.mask)


def test_lit_albedo_of_a_reference_is_its_base_color():
    errors = []
    for seed in SEEDS:
        color = sample_color(np.random.default_rng(seed + 1))
        reference = render(seed, color=color, objects=1, pattern=None, jpeg=0)
        estimate = lit_albedo(reference.image, reference.mask)
        errors.append(delta_e00(rgb_to_lab(np.array(estimate) / 255), rgb_to_lab(np.array(color) / 255)))
    assert np.median(errors) < 4.0


def test_pixel_baselines_follow_their_formulas():
    scene = render(3, objects=1, jpeg=0)
    target = np.array([60.0, 20.0, -30.0])
    shifted = pixel_mean_shift(scene.image, scene.mask, target)
    assert np.abs(rgb_to_lab(shifted[scene.mask] / 255.0).mean(axis=0) - target).max() < 1.5  # 8-bit, gamut
    kept = pixel_mean_shift(scene.image, scene.mask, target, keep_lightness=True)
    before = rgb_to_lab(scene.image[scene.mask] / 255.0)
    assert abs(rgb_to_lab(kept[scene.mask] / 255.0)[:, 0].mean() - before[:, 0].mean()) < 1.5
    std = np.array([5.0, 3.0, 2.0])
    matched = rgb_to_lab(pixel_reinhard(scene.image, scene.mask, target, std)[scene.mask] / 255.0)
    assert np.abs(matched.std(axis=0) - std).max() < 1.0
    assert np.array_equal(shifted[~scene.mask], scene.image[~scene.mask])


def test_reference_object_found_without_a_mask():
    ious = []
    for seed in SEEDS:
        scene = render(seed, objects=1)
        found = salient_object(scene.image)
        ious.append((found & scene.mask).sum() / (found | scene.mask).sum())
    assert np.median(ious) >= 0.8


@pytest.mark.parametrize("color", ["black", "white", "grey", "navy", "light pink"])
def test_decomposition_reads_achromatic_and_light_colors(color):
    scene = render(12, shape="cube", color=color, objects=1, pattern=None, glossy=False, jpeg=0)
    albedo = decompose(scene.image, scene.mask).srgb()
    assert delta_e00(rgb_to_lab(np.array(albedo) / 255), rgb_to_lab(np.array(COLOR_TERMS[color]) / 255)) < 6.0


def test_highlights_on_black_and_grey_objects_do_not_count_as_their_color():
    """A white highlight on a black or grey object has the object's own chromaticity, so only its shape (a
    small bright bump) tells it from the lit surface; counted as lit surface it made a black ball read as
    dark grey (15-28 ΔE00 off before bumps were looked for). Against the renderer's base color."""
    errors = []
    for color in [(25, 25, 25), (60, 58, 55), (128, 128, 128)]:
        for shape in ("ball", "cube", "heart"):
            for seed in range(3):
                scene = render(seed, shape=shape, color=color, objects=1, glossy=True, pattern=None, jpeg=0)
                read = lit_albedo(scene.image, scene.mask)
                errors.append(delta_e00(rgb_to_lab(np.array(read) / 255), rgb_to_lab(np.array(color) / 255)))
    assert np.median(errors) < 1.5 and max(errors) < 4.0, np.round(errors, 1)


def test_a_grey_objects_colored_stripes_stay():
    """On an achromatic object a pixel far more colorful than it is a second color: recolored to navy, a
    white ball's green stripes stay green, as the oracle draws them."""
    scene = render(3, shape="ball", color=(235, 235, 235), objects=1, pattern="stripes", pattern_color=(60, 180, 40))
    navy = COLOR_TERMS["navy"]
    oracle = draw(recolor_spec(scene.spec, 0, navy)).image
    edited = recolor(scene.image, scene.mask, navy)
    stripes = interior(scene.pattern_masks[0])
    error = delta_e00(rgb_to_lab(edited[stripes] / 255.0), rgb_to_lab(oracle[stripes] / 255.0))
    assert np.median(error) < 3.0


def test_recolor_of_an_object_in_a_big_photo_depends_only_on_its_surroundings():
    """The same object in a 4x larger canvas with other content far away: the same pixels around it, the
    rest untouched; and a decomposition made once serves every color (colorways) with the same result."""
    scene = render(SEEDS[0], jpeg=0)
    rng = np.random.default_rng(0)
    canvas = rng.integers(0, 256, (256, 256, 3), dtype=np.uint8)
    canvas[100:164, 40:104] = scene.image
    mask = np.zeros((256, 256), bool)
    mask[100:164, 40:104] = scene.mask
    for target in [(20, 180, 60), (250, 240, 30)]:
        small = recolor(scene.image, scene.mask, target, hint_rgb=hint(scene))
        big = recolor(canvas, mask, target, hint_rgb=hint(scene))
        assert np.array_equal(big[100:164, 40:104], small)
        outside = np.ones((256, 256), bool)
        outside[100:164, 40:104] = False
        assert np.array_equal(big[outside], canvas[outside])
        once = decompose(canvas, mask, hint(scene))
        assert np.array_equal(recolor(canvas, mask, target, source=once), big)


def test_a_generated_object_whose_hue_drifts_with_its_shading_is_recolored_whole(monkeypatch):
    """The toy model's light orange cylinder turns yellower where lit: one color, no second one to keep.
    (Seed 74,000,014: the generated tuning set's example that showed orange patches left behind.)"""
    from coloredit import ColorEditPipeline
    from coloredit.masks import attention_mask

    pipe = ColorEditPipeline.from_pretrained("toy")
    pipe.set_progress_bar_config(disable=True)
    image = np.asarray(pipe.generate(["a light orange cylinder"], [74_000_014], 50, 7.5)[0])
    mask = attention_mask(pipe, image, "light orange cylinder")
    source = rgb_to_lab(image[interior(mask)] / 255.0)
    source_hue = np.degrees(np.arctan2(np.median(source[:, 2]), np.median(source[:, 1])))

    def orange_left() -> float:
        lab = rgb_to_lab(recolor(image, mask, (0, 80, 0))[interior(mask)] / 255.0)
        hue = np.degrees(np.arctan2(lab[:, 2], lab[:, 1]))
        return float(np.mean((hue_distance(hue, source_hue) < 30) & (np.hypot(lab[:, 1], lab[:, 2]) > 15)))

    assert orange_left() < 0.01
    monkeypatch.setattr(exact, "SAME_HUE_CHROMA", np.inf)  # one chromaticity only, as before
    assert orange_left() > 0.1  # measured 0.23


def test_one_recoloring_serves_every_color_of_a_colorway():
    """Prepared once, each color is the very edit `recolor` makes alone, whatever came before it (nothing of
    one color stays for the next), dark sources with the model's rendering included."""
    scene = render(SEEDS[1], jpeg=0)
    prepared = Recoloring(scene.image, scene.mask, hint_rgb=hint(scene), scene_light=SceneLight.white())
    for target in [(20, 180, 60), (250, 240, 30), (30, 30, 200), (20, 180, 60)]:
        assert np.array_equal(
            pasted(scene.image, prepared.patch(target)), recolor(scene.image, scene.mask, target, hint_rgb=hint(scene))
        )
    black = render(9, shape="ball", color="black", objects=1, glossy=False, pattern=None, jpeg=0)
    prepared = Recoloring(black.image, black.mask, scene_light=SceneLight.white())
    for target in [(230, 200, 40), (40, 90, 220), (230, 200, 40)]:
        oracle = draw(recolor_spec(black.spec, 0, target)).image
        alone = recolor(black.image, black.mask, target, rendered=oracle)
        assert np.array_equal(pasted(black.image, prepared.patch(target, rendered=oracle)), alone)


def test_a_large_objects_main_color_is_read_from_a_sample_and_matches_every_pixels_fit(monkeypatch):
    """Above WORKING_PIXELS the main color is fitted on an even sample; every pixel still gets its own shade
    and fit, and the color is the one fitted on all of them to well under a just-noticeable difference."""
    scene = render(SEEDS[2], jpeg=0)
    rows, cols = np.nonzero(scene.mask)
    box = np.s_[rows.min() - 2 : rows.max() + 3, cols.min() - 2 : cols.max() + 3]
    grow = int(np.ceil(np.sqrt(1.2 * exact.WORKING_PIXELS / scene.mask.sum())))  # the object upscaled past it
    image, mask = (np.repeat(np.repeat(a[box], grow, axis=0), grow, axis=1) for a in (scene.image, scene.mask))
    assert mask.sum() > exact.WORKING_PIXELS
    sampled = decompose(image, mask, hint(scene))
    monkeypatch.setattr(exact, "WORKING_PIXELS", int(mask.sum()))
    every = decompose(image, mask, hint(scene))
    assert sampled.shade.shape == sampled.fit.shape == (int(mask.sum()),)
    assert float(delta_e00(*(rgb_to_lab(np.array(d.srgb()) / 255.0) for d in (sampled, every)))) < 0.5
    assert np.mean(np.abs(sampled.shade - every.shade)) < 0.01


def test_outline_local_means_are_scipys_normalized_gaussian():
    """Summed at the outline's own pixels, or filtered over the whole box: both are scipy's Gaussian (mirrored
    at the border), divided by the weight of the pixels counted."""
    from coloredit.outline import POINTWISE_SHARE, local_mean

    rng = np.random.default_rng(3)
    values, where = rng.random((40, 50, 3)), rng.random((40, 50)) > 0.4
    weight = ndimage.gaussian_filter(where.astype(float), 1.5)
    sums = np.stack([ndimage.gaussian_filter(values[..., c] * where, 1.5) for c in range(3)], -1)
    expected = sums / weight[..., None]
    few = np.zeros((40, 50), bool)
    few[[0, 1, 5, 39, 20, 38], [0, 49, 3, 25, 48, 1]] = True  # corners and borders: the mirrored reach
    many = rng.random((40, 50)) < 2 * POINTWISE_SHARE
    for at in (few, many):
        np.testing.assert_allclose(local_mean(values, where, at), expected[at], rtol=1e-12, atol=1e-14)


def test_a_large_objects_pixels_are_read_once_per_distinct_color():
    """`distinct_colors` gives each pixel its own color back, and the shade and fit computed per distinct color
    are each pixel's own (the same numbers as computing them pixel by pixel)."""
    from coloredit.exact import _shade_and_fit, distinct_colors, to_linear

    rng = np.random.default_rng(3)
    pixels = rng.integers(0, 256, (5000, 3)).astype(np.uint8)
    pixels = pixels[rng.integers(0, 5000, 40_000)]  # repeated colors, as in a photo
    colors, which = distinct_colors(pixels)
    assert len(colors) < 5000 and np.array_equal(colors[which], to_linear(pixels))
    direction = np.array([0.9, 0.3, 0.1])
    each = _shade_and_fit(to_linear(pixels), direction, False)
    per_color = _shade_and_fit(colors, direction, False, None, which)
    assert all(np.array_equal(a, b) for a, b in zip(each, per_color, strict=True))


def test_filters_run_in_bands_give_the_whole_planes_numbers(monkeypatch):
    """The object's median fit and Gaussian smoothing, run a band of rows at a time, equal scipy's filters over
    the whole plane (bands of 3 rows here, so that every band edge is crossed)."""
    rng = np.random.default_rng(5)
    ys, xs = np.mgrid[:40, :50]
    mask = (ys - 20) ** 2 + (xs - 24) ** 2 < 17**2
    values = rng.random(int(mask.sum()))
    plane = np.zeros(mask.shape)
    plane[mask] = values
    weight = ndimage.gaussian_filter(mask.astype(np.float64), 1.5)
    whole_gaussian = (ndimage.gaussian_filter(plane, 1.5) / np.maximum(weight, 1e-8))[mask]
    box = exact.object_box(mask, 2)
    box_plane = np.zeros(mask[box].shape)
    box_plane[mask[box]] = values
    whole_median = ndimage.median_filter(box_plane, size=3)[mask[box]]
    monkeypatch.setattr(exact, "BAND_PIXELS", 3 * mask.shape[1])
    np.testing.assert_array_equal(exact.smooth_in(values, mask), whole_gaussian)
    np.testing.assert_array_equal(exact._smooth_fit(values, mask), whole_median)
