"""Masks without painting: SAM points and boxes (a tiny random SAM built from a config), bad prompts exit 2,
and an edit driven by a click keeps the background."""

import json

import numpy as np
import pytest
import torch
from PIL import Image

from coloredit.cli import main
from coloredit.images import feather_radius, feather_weights


@pytest.fixture(scope="module")
def sam_dir(tmp_path_factory):
    from transformers import (
        SamConfig,
        SamMaskDecoderConfig,
        SamModel,
        SamProcessor,
        SamPromptEncoderConfig,
        SamVisionConfig,
    )
    from transformers.models.sam.image_processing_pil_sam import SamImageProcessorPil

    torch.manual_seed(0)
    vision = SamVisionConfig(
        hidden_size=32,
        output_channels=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        image_size=64,
        patch_size=16,
        window_size=2,
        global_attn_indexes=(1,),
        num_pos_feats=16,  # half the prompt encoder's hidden size
        mlp_dim=64,
    )
    config = SamConfig(
        vision_config=vision,
        prompt_encoder_config=SamPromptEncoderConfig(hidden_size=32, image_size=64, patch_size=16),
        mask_decoder_config=SamMaskDecoderConfig(
            hidden_size=32, mlp_dim=64, num_attention_heads=2, iou_head_hidden_dim=32
        ),
    )
    folder = tmp_path_factory.mktemp("tiny-sam")
    SamModel(config).save_pretrained(folder)
    SamProcessor(
        image_processor=SamImageProcessorPil(size={"longest_edge": 64}, pad_size={"height": 64, "width": 64})
    ).save_pretrained(folder)
    return folder


@pytest.mark.parametrize("prompt", [["--point", "40,20", "--negative-point", "5,5"], ["--box", "10,5,50,40"]])
def test_mask_command_writes_a_binary_mask_of_the_image_size(photo, sam_dir, tmp_path, capsys, prompt):
    image, _ = photo
    out = tmp_path / "mask.png"
    assert main(["mask", str(image), *prompt, "--sam-model", str(sam_dir), "-o", str(out), "--json"]) == 0
    printed = json.loads(capsys.readouterr().out)
    mask = np.asarray(Image.open(out))
    assert mask.shape == (96, 128) and set(np.unique(mask)) <= {0, 255}
    assert printed["pixels"] == int((mask == 255).sum()) and printed["source"] == "sam"


@pytest.mark.parametrize(
    ("prompt", "message"),
    [
        (["--point", "500,20"], "outside"),
        (["--box", "10,10,10,40"], "no area"),
        (["--point", "1,2,3"], "bad point"),
        ([], "give --text, --point or --box"),
    ],
)
def test_bad_prompts_exit_2_with_one_line(photo, sam_dir, tmp_path, capsys, prompt, message):
    image, _ = photo
    code = main(["mask", str(image), *prompt, "--sam-model", str(sam_dir), "-o", str(tmp_path / "m.png")])
    err = capsys.readouterr().err
    assert code == 2 and message in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "m.png").exists()


def test_edit_from_a_click_keeps_the_background(photo, sam_dir, model_dir, tmp_path):
    from coloredit.masks import sam_mask

    image, _ = photo
    out = tmp_path / "edited.png"
    args = [
        "edit",
        str(image),
        "--point",
        "60,40",
        "--sam-model",
        str(sam_dir),
        "--color",
        "#20c040",
        "--prompt",
        "a red car",
        "--model",
        str(model_dir),
        "--steps",
        "3",
        "--set",
        "inversion=ddim",
        "-o",
        str(out),
    ]
    assert main(args) == 0
    mask = sam_mask(image, [(60, 40)], model=str(sam_dir))
    outside = feather_weights(mask, feather_radius(0.02, mask.shape)) == 0
    original = np.asarray(Image.open(image).convert("RGB"))
    assert np.array_equal(np.asarray(Image.open(out).convert("RGB"))[outside], original[outside])
