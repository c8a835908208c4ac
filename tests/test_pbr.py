"""The path-traced world and COLORBENCH-PBR: tiny renders only (32 px, few samples per pixel)."""

import json
import os
from dataclasses import replace

import numpy as np
import pytest
from PIL import Image
from scipy import ndimage
from skimage.color import deltaE_ciede2000, rgb2lab

pytest.importorskip("mitsuba")

from coloredit.bench.manifest import load_manifest
from coloredit.bench.pbr import build_pbr, plan_edit
from coloredit.cli import main
from coloredit.colors import srgb_to_linear
from coloredit.errors import ColorEditError
from coloredit.toy import pbr, pbr_scenes, pbr_shapes

SIZE, SPP = 32, 16  # CI renders tiny scenes only


def load(root, relative):
    return np.asarray(Image.open(root / relative).convert("RGB"))


def de00(a, b):
    return deltaE_ciede2000(rgb2lab(a / 255.0), rgb2lab(b / 255.0))


@pytest.fixture(scope="module")
def bench(tmp_path_factory):
    root = tmp_path_factory.mktemp("pbr")
    argv = ["bench", "build", "--world", "pbr", "--n", "4", "--out", str(root), "--size", str(SIZE)]
    assert main([*argv, "--spp", str(SPP)]) == 0
    return root


def test_every_sample_has_its_files_and_an_oracle_that_differs_only_at_the_object(bench):
    samples = load_manifest(bench)  # validates every file and size
    assert len(samples) == 4
    assert {s.target_kind for s in samples} == {"hex", "reference"}
    for sample in samples:
        source, oracle = load(bench, sample.source), load(bench, sample.oracle)
        mask = np.asarray(Image.open(bench / sample.mask).convert("L")) > 127
        assert source.shape == (SIZE, SIZE, 3) and mask.any() and sample.albedo
        assert np.median(de00(source, oracle)[mask]) > 3  # the base color changed
        far = ~ndimage.binary_dilation(mask, iterations=8)  # 32 px: 8 px is 32 px of the 128-px benchmark
        assert far.sum() > 50 and np.median(de00(source, oracle)[far]) < 1
        assert sample.target_kind == "hex" or (bench / sample.reference_mask).is_file()
        scene = plan_edit("test", int(sample.id.rsplit("-", 1)[1])).scene
        assert {scene.target.shape, scene.target.material, "studio"} <= set(sample.tags)
    info = json.loads((bench / "bench.json").read_text())
    assert info["noise_floor"]["scenes"] == 1 and info["noise_floor"]["median"] >= 0


def test_a_stopped_build_resumes_where_it_stopped(bench, tmp_path):
    copy = tmp_path / "copy"
    os.system(f"cp -r {bench} {copy}")
    (copy / "records" / "pbr-test-00002.json").unlink()  # as if stopped while rendering sample 2
    kept = (copy / "sources" / "pbr-test-00001.png").stat().st_mtime_ns
    samples = build_pbr(copy, 5, "test", SIZE, SPP, progress=False)
    assert [s.id for s in samples] == [f"pbr-test-{i:05d}" for i in range(5)]
    assert (copy / "sources" / "pbr-test-00001.png").stat().st_mtime_ns == kept  # not rendered again
    with pytest.raises(ColorEditError, match="same set"):
        build_pbr(copy, 5, "test", SIZE, SPP * 2, progress=False)


def test_processes_split_the_samples_and_the_index_holds_them_all(tmp_path):
    for rank in (1, 0):
        samples = build_pbr(tmp_path, 2, "ood", 32, 4, rank=rank, world=2, progress=False)
    assert [s.id for s in samples] == ["pbr-ood-00000", "pbr-ood-00001"]
    assert all("daylight" in s.tags for s in samples)


def test_the_oracle_shares_the_sources_noise_where_light_never_meets_the_target():
    scene = pbr_scenes.sample_pbr_scene(5)
    views, oracle = pbr.render_edit(scene, (20, 200, 40), 32, 16)
    other_seed = pbr.to_bytes(pbr.render_picture(scene, 32, 16, seed=1))
    far = ~ndimage.binary_dilation(views.mask, iterations=8)
    assert np.median(de00(views.image, pbr.to_bytes(oracle))[far]) < 0.05  # the same paths, the same noise
    assert np.median(de00(views.image, other_seed)[far]) > 0.5  # another seed: other noise
    fresh = pbr.render_picture(pbr_scenes.with_base_color(scene, (20, 200, 40)), 32, 64, seed=2)
    assert np.allclose(oracle[views.mask].mean(0), fresh[views.mask].mean(0), rtol=0.1)  # the oracle scene's light


def test_the_oracle_scene_changes_only_the_targets_base_color():
    scene = next(pbr_scenes.sample_pbr_scene(s) for s in range(100) if len(pbr_scenes.sample_pbr_scene(s).objects) > 1)
    oracle = pbr_scenes.with_base_color(scene, (10, 200, 30))
    assert oracle.target.color == (10, 200, 30) and oracle.objects[1:] == scene.objects[1:]
    assert oracle.target.pattern == scene.target.pattern and oracle.target.second_color == scene.target.second_color
    patterned = pbr_scenes.PbrObject("cube", "diffuse", (200, 30, 30), "stripes", (20, 20, 220), texture_seed=3)
    texture, recolored = (pbr.albedo_texture(replace(patterned, color=c)) for c in ((200, 30, 30), (30, 200, 30)))
    same = np.all(texture == recolored, axis=-1)
    assert 0.2 < same.mean() < 0.6  # the stripes stay, in their own color
    assert np.allclose(texture[same], srgb_to_linear(np.array([20, 20, 220]) / 255.0))


def _planck_xyz(kelvin: float) -> np.ndarray:
    """CIE XYZ of a blackbody, by integrating Planck's law against the CIE 1931 observer (the multi-lobe
    Gaussian fit of Wyman, Sloan and Shirley 2013): independent of the Kang et al. cubic under test."""
    wavelength = np.arange(360.0, 831.0)

    def lobe(mu, low, high):
        sigma = np.where(wavelength < mu, low, high)
        return np.exp(-0.5 * ((wavelength - mu) / sigma) ** 2)

    x = 1.056 * lobe(599.8, 37.9, 31.0) + 0.362 * lobe(442.0, 16.0, 26.7) - 0.065 * lobe(501.1, 20.4, 26.2)
    y = 0.821 * lobe(568.8, 46.9, 40.5) + 0.286 * lobe(530.9, 16.3, 31.1)
    z = 1.217 * lobe(437.0, 11.8, 36.0) + 0.681 * lobe(459.0, 26.0, 13.8)
    metres = wavelength * 1e-9
    radiance = 1 / (metres**5 * (np.exp(1.4388e-2 / (metres * kelvin)) - 1))
    return np.array([(c * radiance).sum() for c in (x, y, z)])


@pytest.mark.parametrize("kelvin", [2700, 4000, 8000])
def test_a_tinted_key_has_the_color_of_a_blackbody_white_balanced_to_d65(kelvin):
    to_rgb = pbr_scenes._XYZ_TO_LINEAR_SRGB
    expected = (to_rgb @ _planck_xyz(kelvin)) / (to_rgb @ _planck_xyz(pbr_scenes.NEUTRAL_KELVIN))
    expected /= expected @ pbr_scenes._LUMA
    assert np.allclose(pbr_scenes.kelvin_rgb(kelvin), expected, rtol=0.03, atol=0.01)
    assert np.allclose(pbr_scenes.kelvin_rgb(pbr_scenes.NEUTRAL_KELVIN), 1.0)


@pytest.mark.parametrize("shape", ["torus", "mug", "bottle", "vase", "cylinder"])
def test_meshes_stand_on_the_floor_in_a_unit_box_with_every_vertex_used(shape):
    positions, uvs, faces = pbr_shapes.mesh_geometry(shape)
    assert np.array_equal(np.unique(faces), np.arange(len(positions))) and len(uvs) == len(positions)
    a, b, c = (positions[faces[:, k]] for k in range(3))
    assert (np.linalg.norm(np.cross(b - a, c - a), axis=1) > 1e-12).all()
    floor = positions[:, 1].min()
    assert (-0.06 < floor < 0) if shape == "torus" else abs(floor) < 1e-6  # the torus is an arch, sunk in
    assert positions[:, 1].max() <= 1.0 + 1e-6
    assert np.abs(positions[:, [0, 2]]).max() <= 0.6


def test_a_closed_bottle_encloses_its_volume_with_outward_faces():
    positions, _, faces = pbr_shapes.mesh_geometry("bottle")
    a, b, c = (positions[faces[:, k]] for k in range(3))
    volume = np.einsum("ij,ij->i", a, np.cross(b, c)).sum() / 6  # the divergence theorem
    profile = pbr_shapes._profile("bottle")
    radius, height = (profile[1:, 0] + profile[:-1, 0]) / 2, np.diff(profile[:, 1])
    assert volume == pytest.approx((np.pi * radius**2 * height).sum(), rel=0.02)


def test_the_mask_covers_the_target_only():
    scene = next(pbr_scenes.sample_pbr_scene(s) for s in range(100) if len(pbr_scenes.sample_pbr_scene(s).objects) > 1)
    views = pbr.render_views(scene, 32, 4)
    alone = pbr.render_views(replace(scene, objects=(scene.target,)), 32, 4)
    assert views.mask.sum() > 20 and (views.mask & ~alone.mask).sum() == 0


def test_build_takes_a_world_or_a_model_and_bad_sizes_exit_2(tmp_path, capsys):
    assert main(["bench", "build", "--out", str(tmp_path / "a")]) == 2
    assert main(["bench", "build", "--world", "pbr", "--model", "toy", "--out", str(tmp_path / "b")]) == 2
    assert main(["bench", "build", "--world", "pbr", "--spp", "0", "--out", str(tmp_path / "c")]) == 2
    assert "--spp at least 1" in capsys.readouterr().err and not (tmp_path / "c").exists()


@pytest.mark.parametrize("style", pbr_scenes.STYLES)
def test_no_light_panel_or_plank_stands_in_the_frame(style):
    for seed in range(300):
        scene = pbr_scenes.sample_pbr_scene(seed, style)
        if style == "studio":
            assert not pbr_scenes.in_view(
                scene, pbr_scenes.key_origin(scene), (pbr_scenes.KEY_SIDE / 2, pbr_scenes.KEY_SIDE / 2)
            )
        assert not (
            scene.occluder and pbr_scenes.in_view(scene, pbr_scenes.plank_origin(scene), pbr_scenes.PLANK_HALF_SIZE)
        )


def test_the_in_view_check_sees_a_panel_on_the_line_of_sight():
    scene = pbr_scenes.PbrScene((pbr_scenes.PbrObject("sphere", "diffuse", (200, 200, 200)),), camera=(10.0, 20.0))
    camera = np.array(pbr_scenes.LOOK_AT) + pbr_scenes.CAMERA_DISTANCE * pbr_scenes.direction(*scene.camera)
    assert pbr_scenes.in_view(scene, (camera + np.array(pbr_scenes.LOOK_AT)) / 2, (0.3, 0.3))
    assert not pbr_scenes.in_view(scene, camera + np.array([0.0, 3.0, 0.0]), (0.3, 0.3))


def test_an_informed_recolor_of_a_matte_object_lands_on_the_oracle():
    """The judge against an explicit formula: one-bounce light off a diffuse surface is proportional to its
    albedo, so scaling each linear channel by the ratio of the base colors is nearly the oracle (interreflection
    and clipping aside); a judge that shared no physics with the renderer would not agree."""
    matte = pbr_scenes.PbrObject("sphere", "diffuse", (180, 90, 60))
    scene = pbr_scenes.PbrScene((matte,), exposure=0.8)
    target = (60, 120, 200)
    views, oracle = pbr.render_edit(scene, target, 32, 32)
    ratio = srgb_to_linear(np.array(target) / 255.0) / srgb_to_linear(np.array(matte.color) / 255.0)
    informed = views.linear.copy()
    informed[views.mask] *= ratio
    inner = ndimage.binary_erosion(views.mask)
    errors = de00(pbr.to_bytes(informed), pbr.to_bytes(oracle))[inner]
    assert np.median(errors) < 1.0
    assert np.median(de00(views.image, pbr.to_bytes(oracle))[inner]) > 20  # and the edit is a real change
