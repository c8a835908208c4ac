import json

import numpy as np
import pytest
from PIL import Image

from coloredit.bench.build import build_synthetic, import_pie, pie_mask
from coloredit.bench.manifest import load_manifest
from coloredit.errors import ColorEditError
from coloredit.masks import word_token_indices


def test_word_token_indices(pipe):
    assert word_token_indices(pipe.tokenizer, "a photo of a red car", "car") == [6]
    with pytest.raises(ColorEditError, match="not in the prompt"):
        word_token_indices(pipe.tokenizer, "a photo of a red car", "cat")


def test_synthetic_build_from_an_sd_model(pipe, tmp_path):
    samples = build_synthetic(pipe, tmp_path, 3, objects=("car", "ball"), colors=("red", "blue", "green"), steps=4)
    loaded = load_manifest(tmp_path)
    assert [s.id for s in loaded] == [s.id for s in samples] and {s.split for s in loaded} == {"synthetic"}
    for sample in loaded:
        assert sample.object in sample.source_prompt and sample.target_color in sample.reference_prompt
        assert sample.target_color not in sample.source_prompt.split()
        mask = np.asarray(Image.open(tmp_path / sample.mask)) > 0
        assert 0 < mask.mean() < 1  # the word's attention marks part of the image
        source = np.asarray(Image.open(tmp_path / sample.source))
        assert source.shape[:2] == mask.shape


def test_synthetic_sources_regenerate_from_their_seed(pipe, tmp_path):
    (sample,) = build_synthetic(pipe, tmp_path, 1, objects=("car",), colors=("red", "blue"), steps=4)
    again = pipe.generate([sample.source_prompt], [sample.seed], num_inference_steps=4)[0]
    assert np.array_equal(np.asarray(again), np.asarray(Image.open(tmp_path / sample.source)))


def test_pie_mask_decodes_run_lengths():
    mask = pie_mask([2, 3, 10, 1], (4, 4))
    assert mask.ravel().nonzero()[0].tolist() == [2, 3, 4, 10]


def test_import_pie_takes_the_color_edits(tmp_path):
    pie = tmp_path / "PIE-Bench"
    (pie / "annotation_images" / "6_change_color").mkdir(parents=True)
    Image.new("RGB", (16, 16), (200, 30, 30)).save(pie / "annotation_images" / "6_change_color" / "1.jpg")
    mapping = {
        "000000000001": {
            "image_path": "6_change_color/1.jpg",
            "original_prompt": "a [red] car",
            "editing_prompt": "a [blue] car",
            "editing_type_id": "6",
            "blended_word": "car car",
            "mask": [0, 64],
        },
        "000000000002": {
            "image_path": "x.jpg",
            "original_prompt": "a cat",
            "editing_prompt": "a [dog]",
            "editing_type_id": "1",
            "blended_word": "cat dog",
            "mask": [0, 1],
        },
    }
    (pie / "mapping_file.json").write_text(json.dumps(mapping))
    (sample,) = import_pie(pie, tmp_path / "bench")
    assert (sample.id, sample.target_color, sample.target_rgb, sample.object) == (
        "pie-000000000001",
        "blue",
        (0, 0, 255),
        "car",
    )
    assert sample.source_prompt == "a red car"
    mask = np.asarray(Image.open(tmp_path / "bench" / sample.mask)) > 0
    assert mask[:4].all() and not mask[4:].any()
    assert len(load_manifest(tmp_path / "bench")) == 1
    with pytest.raises(ColorEditError, match=r"mapping_file\.json"):
        import_pie(tmp_path, tmp_path / "other")


def test_instruct_pix2pix_method_runs_through_diffusers(tmp_path):
    from diffusers import StableDiffusionInstructPix2PixPipeline

    from coloredit.bench.methods import get_methods
    from coloredit.bench.toy_sets import build_toy
    from coloredit.tiny import tiny_components

    parts = tiny_components(seed=3, in_channels=8)
    StableDiffusionInstructPix2PixPipeline(
        **parts, safety_checker=None, feature_extractor=None, requires_safety_checker=False
    ).save_pretrained(tmp_path / "ip2p")
    (sample,) = build_toy(tmp_path / "bench", 1)
    (method,) = get_methods(["ip2p"], ip2p_model=str(tmp_path / "ip2p"))
    from coloredit import ColorEditPipeline

    host = ColorEditPipeline(**tiny_components())
    edited = method.edit(host, sample, tmp_path / "bench", {"num_inference_steps": 2}).image
    assert edited.size == Image.open(tmp_path / "bench" / sample.source).size
    with pytest.raises(ColorEditError, match="needs --ip2p-model"):
        get_methods(["ip2p"])


def test_flux_kontext_method_runs_through_diffusers(tmp_path):
    """FLUX.1 Kontext as a COLORBENCH method, on a tiny random FLUX folder saved as diffusers' Kontext pipeline;
    the other instruction editors say which option registers them."""
    from diffusers import FluxKontextPipeline

    from coloredit import ColorEditPipeline
    from coloredit.bench.methods import get_methods
    from coloredit.bench.toy_sets import build_toy
    from coloredit.tiny import tiny_components, tiny_flux_components

    FluxKontextPipeline(**tiny_flux_components(seed=3)).save_pretrained(tmp_path / "kontext", safe_serialization=True)
    (sample,) = build_toy(tmp_path / "bench", 1)
    (method,) = get_methods(["kontext"], kontext_model=str(tmp_path / "kontext"))
    host = ColorEditPipeline(**tiny_components())
    edited = method.edit(host, sample, tmp_path / "bench", {"num_inference_steps": 2})
    assert edited.image.size == Image.open(tmp_path / "bench" / sample.source).size and edited.unet_rows == 2
    with pytest.raises(ColorEditError, match="qwen-edit needs --qwen-edit-model"):
        get_methods(["qwen-edit"])
