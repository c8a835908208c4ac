import json

import numpy as np
import pytest
from PIL import Image
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

from coloredit.bench.manifest import load_manifest
from coloredit.bench.metrics.color import L1HSVObject, L1HueObject
from coloredit.bench.metrics.structure import CannySSIM, psnr, ssim
from coloredit.errors import ColorEditError
from coloredit.measure import l1_hsv, l1_hue

RNG = np.random.default_rng(0)


def noisy_pair():
    a = RNG.integers(0, 256, (40, 48, 3)).astype(np.uint8)
    b = np.clip(a + RNG.normal(0, 20, a.shape), 0, 255).astype(np.uint8)
    return a, b


def test_ssim_matches_scikit_image():
    a, b = noisy_pair()
    expected = structural_similarity(
        a, b, channel_axis=-1, gaussian_weights=True, sigma=1.5, use_sample_covariance=False, data_range=255
    )
    assert ssim(a, b) == pytest.approx(expected, abs=1e-6)
    assert ssim(a, a) == pytest.approx(1.0)


def test_psnr_matches_scikit_image_and_masks():
    a, b = noisy_pair()
    assert psnr(a, b) == pytest.approx(peak_signal_noise_ratio(a, b, data_range=255), abs=1e-9)
    c = a.copy()
    c[:10] = 0
    keep = np.ones(a.shape[:2], bool)
    keep[:10] = False
    assert psnr(a, c, weights=keep) == float("inf")
    assert np.isnan(psnr(a, c, weights=np.zeros(a.shape[:2])))


def test_hue_metrics_on_hand_made_images():
    image = np.zeros((4, 4, 3), np.uint8)
    image[:2] = (255, 0, 0)  # hue 0
    image[2:] = (0, 255, 0)  # hue 120
    mask = np.ones((4, 4), bool)
    assert l1_hue(image, mask, (0, 0, 255)) == pytest.approx((120 + 120) / 2)  # target hue 240
    assert l1_hue(image, mask, (255, 0, 0)) == pytest.approx(60.0)
    # red vs target half-saturated dark red: hue 0, |S| 0.5, |V| 0.5 -> mean 1/3
    assert l1_hsv(image[:2], mask[:2], (128, 64, 64)) == pytest.approx((0 + 0.5 + (1 - 128 / 255)) / 3)
    metric = L1HueObject()
    metric.update(edited=image, mask=mask, target_rgb=(255, 0, 0))
    metric.update(edited=image, mask=np.zeros((4, 4), bool), target_rgb=(255, 0, 0))  # empty mask: NaN, counted
    assert metric.compute() == {"mean": 60.0, "n": 1, "nan": 1}
    # half the pixels exact, half green (hue 120/180 off, same S and V): (0 + (2/3) / 3) / 2
    assert L1HSVObject().update(edited=image, mask=mask, target_rgb=(255, 0, 0)) == pytest.approx((0 + 2 / 9) / 2)


def test_canny_ssim_sees_structure_not_hue():
    image = np.full((48, 48, 3), 200, np.uint8)
    image[12:36, 12:36] = (200, 30, 30)
    recolored = image.copy()
    recolored[12:36, 12:36] = (30, 103, 100)  # another hue of the same luminance (gray 80.8)
    moved = np.full_like(image, 200)
    moved[4:28, 20:44] = (200, 30, 30)
    metric = CannySSIM()
    assert metric.update(source=image, edited=recolored) == pytest.approx(1.0)
    assert metric.update(source=image, edited=moved) < 0.6


def write_bench(root, lines):
    root.mkdir(exist_ok=True)
    for name, size in (("s.png", (16, 12)), ("m.png", (16, 12)), ("r.png", (8, 8)), ("small.png", (8, 6))):
        Image.new("RGB", size).save(root / name)
    (root / "manifest.jsonl").write_text("\n".join(lines) + "\n")


GOOD = dict(
    id="a",
    split="real",
    source="s.png",
    source_prompt="a red car",
    object="car",
    mask="m.png",
    target_color="blue",
    target_rgb=[0, 0, 255],
    reference="r.png",
    reference_prompt="a blue car",
    seed=1,
)


def test_manifest_loads_valid_samples(tmp_path):
    write_bench(tmp_path, [json.dumps(GOOD), json.dumps(dict(GOOD, id="b", split="synthetic"))])
    samples = load_manifest(tmp_path)
    assert [s.id for s in samples] == ["a", "b"] and samples[0].target_rgb == (0, 0, 255)
    assert samples[0].tags == () and samples[0].target_kind == "reference"  # optional fields default


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("{not json", "line 2: not valid JSON"),
        (json.dumps({k: v for k, v in GOOD.items() if k != "mask"} | {"id": "x"}), "line 2 (sample 'x'): missing mask"),
        (json.dumps(dict(GOOD, id="x", split="train")), "sample 'x'): split must be"),
        (json.dumps(dict(GOOD, id="x", target_rgb=[0, 300, 0])), "target_rgb must be"),
        (json.dumps(dict(GOOD, id="x", seed="1")), "seed must be int"),
        (json.dumps(dict(GOOD, id="x", source="gone.png")), "sample 'x'): source file"),
        (json.dumps(dict(GOOD, id="x", mask="small.png")), "sample 'x'): mask is (8, 6) but the source is (16, 12)"),
        (json.dumps(GOOD), "id 'a' already used on line 1"),
        (json.dumps(dict(GOOD, id="x", target_kind="name")), "target_kind must be one of reference, hex"),
        (json.dumps(dict(GOOD, id="x", tags="metal")), "tags must be a list of non-empty strings"),
        (json.dumps(dict(GOOD, id="x", albedo="gone.png")), "sample 'x'): albedo file"),
    ],
)
def test_manifest_errors_name_the_line_and_sample(tmp_path, line, message):
    write_bench(tmp_path, [json.dumps(GOOD), line])
    with pytest.raises(ColorEditError, match=None) as error:
        load_manifest(tmp_path)
    assert message in str(error.value)
