"""Masks without painting: SAM points and boxes, Grounding DINO's box for a phrase (tiny random models built
from configs), bad prompts exit 2, an edit driven by a click keeps the background, and a click on the
reference does what a mask file of the same region does."""

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


@pytest.fixture(scope="module")
def detector_dir(tmp_path_factory):
    from transformers import (
        BertConfig,
        BertTokenizerFast,
        GroundingDinoConfig,
        GroundingDinoForObjectDetection,
        GroundingDinoProcessor,
        SwinConfig,
    )
    from transformers.models.grounding_dino.image_processing_pil_grounding_dino import (
        GroundingDinoImageProcessorPil,
    )

    torch.manual_seed(0)
    folder = tmp_path_factory.mktemp("tiny-grounding-dino")
    words = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", ".", "a", "red", "car"]
    (folder / "vocab.txt").write_text("\n".join(words) + "\n")
    backbone = SwinConfig(
        image_size=64,
        patch_size=4,
        embed_dim=8,
        depths=[1] * 4,
        num_heads=[1] * 4,
        window_size=2,
        out_indices=[2, 3, 4],
    )
    text = BertConfig(
        vocab_size=len(words), hidden_size=32, num_hidden_layers=1, num_attention_heads=2, intermediate_size=64
    )
    config = GroundingDinoConfig(
        backbone_config=backbone,
        text_config=text,
        d_model=32,
        encoder_layers=1,
        decoder_layers=2,  # the box heads of the decoder layers after the first are tied to its
        encoder_ffn_dim=64,
        decoder_ffn_dim=64,
        encoder_attention_heads=2,
        decoder_attention_heads=2,
        num_queries=10,
        max_text_len=16,
        encoder_n_points=2,
        decoder_n_points=2,
    )
    GroundingDinoForObjectDetection(config).save_pretrained(folder)
    GroundingDinoProcessor(
        image_processor=GroundingDinoImageProcessorPil(size={"shortest_edge": 64, "longest_edge": 96}),
        tokenizer=BertTokenizerFast(vocab_file=str(folder / "vocab.txt")),
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
        "--mask-refine",
        "off",  # the SAM mask as it came: the photo fixture's 'car' has no edge for refinement to find
        "-o",
        str(out),
    ]
    assert main(args) == 0
    mask = sam_mask(image, [(60, 40)], model=str(sam_dir))
    outside = feather_weights(mask, feather_radius(0.02, mask.shape)) == 0
    original = np.asarray(Image.open(image).convert("RGB"))
    assert np.array_equal(np.asarray(Image.open(out).convert("RGB"))[outside], original[outside])


@torch.no_grad()
def test_text_mask_with_a_detector_is_sam_cut_of_the_detectors_best_box(photo, sam_dir, detector_dir, tmp_path, capsys):
    from transformers import AutoProcessor, GroundingDinoForObjectDetection

    from coloredit.masks import sam_mask

    image, _ = photo
    out = tmp_path / "mask.png"
    args = ["mask", str(image), "--text", "Red car", "--detector-model", str(detector_dir), "--sam-model", str(sam_dir)]
    assert main([*args, "-o", str(out), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["source"] == "grounding-dino+sam"
    # the reference: transformers' own detection (as its model card shows it), best box clipped to the image
    picture = Image.open(image)
    processor = AutoProcessor.from_pretrained(detector_dir)
    detector = GroundingDinoForObjectDetection.from_pretrained(detector_dir).eval()
    inputs = processor(images=picture, text="red car.", return_tensors="pt")
    found = processor.post_process_grounded_object_detection(
        detector(**inputs), inputs.input_ids, threshold=0.25, text_threshold=0.25, target_sizes=[(96, 128)]
    )[0]
    x0, y0, x1, y1 = found["boxes"][int(found["scores"].argmax())].tolist()
    box = (max(x0, 0.0), max(y0, 0.0), min(x1, 128.0), min(y1, 96.0))
    expected = sam_mask(image, box=box, model=str(sam_dir))
    assert np.array_equal(np.asarray(Image.open(out)) == 255, expected)


def test_a_click_on_the_reference_does_what_a_mask_file_of_that_region_does(photo, sam_dir, model_dir, tmp_path):
    image, mask = photo
    reference = tmp_path / "reference.png"  # colors that change across the picture: every region has its own
    Image.fromarray(np.asarray(Image.open(image))[::-1, :80]).save(reference)
    common = ["edit", str(image), "--mask", str(mask), "--reference", str(reference), "--prompt", "a red car"]
    common += ["--model", str(model_dir), "--steps", "3", "--set", "inversion=ddim"]
    clicked, painted, region = tmp_path / "clicked.png", tmp_path / "painted.png", tmp_path / "region.png"
    sam = ["--sam-model", str(sam_dir)]
    assert main(["mask", str(reference), "--point", "60,30", *sam, "-o", str(region)]) == 0
    assert main([*common, "--reference-point", "60,30", *sam, "-o", str(clicked)]) == 0
    assert main([*common, "--reference-mask", str(region), "-o", str(painted)]) == 0
    assert np.array_equal(np.asarray(Image.open(clicked)), np.asarray(Image.open(painted)))
    automatic = tmp_path / "automatic.png"  # the reference's object found without a prompt: another region
    assert main([*common, "-o", str(automatic)]) == 0
    assert not np.array_equal(np.asarray(Image.open(clicked)), np.asarray(Image.open(automatic)))


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--reference-point", "500,5"], "outside"),
        (["--reference-point", "5,5", "--reference-mask", "x.png"], "in place of --reference-mask"),
    ],
)
def test_bad_reference_prompts_exit_2_before_the_model_loads(photo, tmp_path, capsys, extra, message):
    image, mask = photo
    args = ["edit", str(image), "--mask", str(mask), "--reference", str(image), "--prompt", "a car"]
    code = main([*args, *extra, "--model", str(tmp_path / "no-such-model"), "-o", str(tmp_path / "e.png")])
    err = capsys.readouterr().err
    assert code == 2 and message in err and len(err.strip().splitlines()) == 1


def test_refine_cuts_a_striped_object_from_a_wall_and_floor_out_of_coarse_attention():
    """Attention is coarse (8x8-pixel cells here); the refinement must give the object's own outline, its
    second color (white stripes) included, against a background of two colors."""
    from scipy import ndimage

    from coloredit.masks import refine
    from coloredit.toy.evaluate import iou

    yy, xx = np.mgrid[:96, :96]
    disc = (yy - 50) ** 2 + (xx - 40) ** 2 < 22**2
    image = np.where(yy[..., None] < 60, [[[214, 200, 170]]], [[[120, 80, 50]]])  # wall above, floor below
    image = np.where(disc[..., None], np.where((yy[..., None] // 5) % 2, [[[200, 30, 40]]], [[[250, 250, 250]]]), image)
    cells = disc.reshape(12, 8, 12, 8).mean(axis=(1, 3))  # what a 12x12 attention map sees
    heat = ndimage.gaussian_filter(ndimage.zoom(cells, 8, order=1), 6)  # and blurred, as attention is
    heat = (heat - heat.min()) / (heat.max() - heat.min())
    assert iou(heat > 0.75, disc) < 0.7  # the attention alone
    assert iou(refine(image.astype(np.uint8), heat, 0.75), disc) > 0.98


def test_color_clusters_find_the_colors_a_region_is_made_of():
    from coloredit.edges import color_clusters

    colors = np.array([[30.0, 60.0, 40.0], [95.0, 0.0, 0.0], [50.0, -20.0, -40.0]])
    rng = np.random.default_rng(0)
    samples = np.concatenate([c + rng.normal(0, 1.0, (n, 3)) for c, n in zip(colors, (500, 300, 50), strict=True)])
    centers = color_clusters(samples, 3)
    assert np.allclose(sorted(centers.tolist()), sorted(colors.tolist()), atol=0.3)


def test_a_found_mask_is_confident_on_the_toy_world_and_warns_on_a_real_photo(tmp_path, capsys):
    """The toy model finds a toy ball well, and on a real photo (scikit-image's coffee) its 'cup' is a guess:
    the user is told, in one line, and `--strict` refuses it."""
    from skimage import data

    from coloredit.masks import CONFIDENT
    from coloredit.toy.render import render

    scene = render(6003)
    Image.fromarray(scene.image).save(tmp_path / "toy.png")
    noun = scene.spec.objects[0].shape
    assert (
        main(
            [
                "mask",
                str(tmp_path / "toy.png"),
                "--text",
                noun,
                "--model",
                "toy",
                "-o",
                str(tmp_path / "a.png"),
                "--json",
            ]
        )
        == 0
    )
    out = capsys.readouterr()
    found = np.asarray(Image.open(tmp_path / "a.png")) > 127
    assert (found & scene.mask).sum() / (found | scene.mask).sum() > 0.7  # the right object ...
    assert json.loads(out.out)["confidence"] >= CONFIDENT and "warning" not in out.err  # ... and it says so

    Image.fromarray(data.coffee()).save(tmp_path / "coffee.png")
    photo = ["mask", str(tmp_path / "coffee.png"), "--text", "cup", "--model", "toy"]
    assert main([*photo, "-o", str(tmp_path / "b.png"), "--json"]) == 0
    out = capsys.readouterr()
    warnings = [line for line in out.err.splitlines() if "low confidence" in line]
    assert len(warnings) == 1 and warnings[0].startswith("coloredit: warning:")
    assert json.loads(out.out)["confidence"] < CONFIDENT
    assert main([*photo, "-o", str(tmp_path / "c.png"), "--strict"]) == 2
    assert "low confidence" in capsys.readouterr().err and not (tmp_path / "c.png").exists()


def test_confidence_falls_when_the_outline_leaves_the_object_edge():
    from coloredit.masks import mask_confidence
    from coloredit.toy.render import render

    scene = render(6003)
    ys = np.nonzero(scene.mask)[0]
    shifted = np.roll(scene.mask, (ys.max() - ys.min()) // 2, axis=0)  # the same shape, half its height down
    assert mask_confidence(scene.image, scene.mask) > mask_confidence(scene.image, shifted) + 0.1
    assert mask_confidence(scene.image, np.zeros_like(scene.mask)) == 0.0
