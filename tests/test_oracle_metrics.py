"""The oracle metrics and the pixel baselines against independent references (scikit-image), and the report's
subsets and noise floor."""

import json

import numpy as np
import pytest
from PIL import Image
from skimage.color import deltaE_ciede2000, hsv2rgb, rgb2hsv, rgb2lab

from coloredit.baselines import pixel_edit
from coloredit.bench.methods import get_methods
from coloredit.bench.metrics.oracle import (
    BackgroundKept,
    Blotchy,
    ExposureMatchedDeltaE00,
    OracleP95,
    OracleWithin,
    highlight_error,
)
from coloredit.bench.report import summarize, write_report
from coloredit.colors import linear_to_srgb, srgb_to_linear
from coloredit.measure import interior

RNG = np.random.default_rng(3)


def shaded_ball(color=(200, 60, 40), size=48):
    """A shaded disc of `color` on grey, with noise: (image, mask)."""
    y, x = np.mgrid[0:size, 0:size]
    mask = (x - size / 2) ** 2 + (y - size / 2) ** 2 < (size / 3) ** 2
    shade = np.clip(1.1 - ((x - size / 3) ** 2 + (y - size / 3) ** 2) / (size**2 / 2), 0.2, 1.0)
    linear = np.where(mask[..., None], srgb_to_linear(np.array(color) / 255.0) * shade[..., None], 0.2)
    linear = linear * RNG.uniform(0.97, 1.03, linear.shape)
    return (linear_to_srgb(linear) * 255).round().astype(np.uint8), mask


def reference_errors(edited, oracle, mask):
    inner = interior(mask)
    return deltaE_ciede2000(rgb2lab(edited[inner] / 255.0), rgb2lab(oracle[inner] / 255.0))


def test_p95_and_shares_within_tolerance_match_scikit_image():
    oracle, mask = shaded_ball()
    edited, _ = shaded_ball((190, 70, 50))
    errors = reference_errors(edited, oracle, mask)
    assert OracleP95().value(edited=edited, mask=mask, oracle=oracle) == pytest.approx(np.percentile(errors, 95), 1e-3)
    for tolerance in (1, 2, 3):
        share = OracleWithin(tolerance).value(edited=edited, mask=mask, oracle=oracle)
        assert share == pytest.approx((errors <= tolerance).mean(), abs=0.01)
    assert OracleP95().value(edited=edited, mask=mask, oracle=None) != OracleP95().value(
        edited=edited, mask=mask, oracle=None
    )


def test_exposure_matching_removes_a_light_level_error_but_not_a_hue_error():
    oracle, mask = shaded_ball()
    darker = (linear_to_srgb(srgb_to_linear(oracle / 255.0) * 0.6) * 255).round().astype(np.uint8)
    other_hue, _ = shaded_ball((60, 200, 40))
    metric = ExposureMatchedDeltaE00()
    assert metric.value(edited=darker, mask=mask, oracle=oracle) < 1.0
    plain = deltaE_ciede2000(rgb2lab(darker[mask].mean(0) / 255.0), rgb2lab(oracle[mask].mean(0) / 255.0))
    assert plain > 5  # the plain color error sees the exposure
    assert metric.value(edited=other_hue, mask=mask, oracle=oracle) > 20


def test_highlights_blotches_and_background():
    oracle, mask = shaded_ball()
    with_highlight = oracle.copy()
    with_highlight[14:18, 14:18] = 250
    assert highlight_error(with_highlight, with_highlight, mask) == 0
    assert highlight_error(oracle, with_highlight, mask) > 20  # the edit lost the oracle's highlight
    assert np.isnan(highlight_error(oracle, oracle, mask))  # no highlight to keep
    blotched = oracle.copy()
    blotched[mask & (np.arange(48)[None, :] > 24)] = (40, 60, 200)
    assert Blotchy().value(edited=blotched, mask=mask, oracle=oracle) == 1.0
    assert Blotchy().value(edited=oracle, mask=mask, oracle=oracle) == 0.0
    spilled = oracle.copy()
    spilled[:6] = (255, 0, 0)  # six rows of the background changed
    far = BackgroundKept().value(source=oracle, edited=spilled, mask=mask)
    assert 0.7 < far < 0.95 and BackgroundKept().value(source=oracle, edited=oracle, mask=mask) == 1.0


def test_the_hue_baseline_is_a_hue_slider():
    image, mask = shaded_ball()
    edited = pixel_edit("hue", image, mask, (40, 90, 220))
    hsv, target = rgb2hsv(image / 255.0), rgb2hsv(np.array([[[40, 90, 220]]]) / 255.0)[0, 0]
    hsv[mask, 0] = target[0]
    assert np.abs(edited.astype(int) - (hsv2rgb(hsv) * 255).round()).max() <= 1
    assert np.array_equal(edited[~mask], image[~mask])


@pytest.mark.parametrize("kind", ["mean", "ab", "reinhard", "hue", "exact"])
def test_every_pixel_baseline_changes_only_the_object_toward_the_target(kind):
    image, mask = shaded_ball()
    reference, reference_mask = shaded_ball((40, 90, 220))
    for given in ({}, {"reference": reference, "reference_mask": reference_mask}):
        edited = pixel_edit(kind, image, mask, (40, 90, 220), **given)
        assert np.array_equal(edited[~mask], image[~mask]) or kind == "exact"
        before, after = (
            deltaE_ciede2000(rgb2lab(x[mask].mean(0) / 255.0), rgb2lab([0.16, 0.35, 0.86])) for x in (image, edited)
        )
        assert after < before - 20


def test_pixel_methods_run_from_a_benchmark_sample_without_a_pipeline(tmp_path):
    image, mask = shaded_ball()
    Image.fromarray(image).save(tmp_path / "s.png")
    Image.fromarray(mask.astype(np.uint8) * 255).save(tmp_path / "m.png")
    Image.new("RGB", (8, 8), (40, 90, 220)).save(tmp_path / "r.png")
    from coloredit.bench.manifest import Sample

    sample = Sample(
        "a",
        "real",
        "s.png",
        "a red ball",
        "ball",
        "m.png",
        "blue",
        (40, 90, 220),
        "r.png",
        "blue",
        0,
        target_kind="hex",
    )
    for method in get_methods(["pixel-lab-mean", "pixel-reinhard", "pixel-hsv-hue", "exact"]):
        edited = np.asarray(method.edit(None, sample, tmp_path).image)
        assert edited.shape == image.shape and not np.array_equal(edited[mask], image[mask])


def test_the_report_gives_every_subset_and_the_noise_floor(tmp_path):
    records = [
        {
            "id": f"s{i}",
            "method": m,
            "split": "real",
            "tags": ["metal" if i % 2 else "diffuse"],
            "image": "x",
            "seconds": 0.1,
            "dE00_oracle": float(i + (m == "b")),
        }
        for i in range(4)
        for m in ("a", "b")
    ]
    rows = {(r["method"], r["split"]): r for r in summarize(records) if r["metric"] == "dE00_oracle"}
    assert (
        rows[("a", "metal")]["mean"] == 2.0 and rows[("b", "diffuse")]["mean"] == 2.0 and rows[("a", "all")]["n"] == 4
    )
    (tmp_path / "results.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    (tmp_path / "bench.json").write_text(json.dumps({"noise_floor": {"median": 0.61, "max": 1.2, "scenes": 30}}))
    report = write_report(tmp_path).read_text()
    assert "noise floor" in report and "median 0.61" in report
    assert "## by subset" in report and "| metal | 2 | 2 | 3 |" in report  # medians of 1, 3 and 2, 4
