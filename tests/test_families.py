"""Model families: SD 2.x v-prediction and SDXL through the same steps, checked against diffusers itself;
folders of unsupported families refused with one line."""

import json

import numpy as np
import pytest
import torch
from conftest import INTERVENTIONS_OFF, smooth
from diffusers import DDIMInverseScheduler, DDIMScheduler, StableDiffusionPipeline, StableDiffusionXLPipeline
from PIL import Image

from coloredit import ColorEditPipeline, preset
from coloredit.cli import main
from coloredit.errors import ColorEditError
from coloredit.images import feather_radius, feather_weights, load_mask
from coloredit.inversion import NoiseSchedule, ddim_inversion
from coloredit.tiny import tiny_components, tiny_xl_components


@pytest.fixture(scope="module")
def v_components():
    parts = smooth(tiny_components(seed=4), 0.05)
    parts["scheduler"] = DDIMScheduler.from_config(parts["scheduler"].config, prediction_type="v_prediction")
    return parts


def test_v_prediction_ddim_inversion_equals_diffusers_inverse_scheduler(v_components):
    pipe = ColorEditPipeline(**v_components)
    schedule = NoiseSchedule(pipe.scheduler, 10)
    clean = torch.randn(1, 4, 8, 8, generator=torch.Generator().manual_seed(0))
    cond = pipe.encode_text(["a red car"])
    ours = ddim_inversion(pipe.predict_noise, clean, cond, schedule)
    inverse = DDIMInverseScheduler.from_config(pipe.scheduler.config)
    inverse.set_timesteps(10)
    latents = clean
    with torch.no_grad():
        for t in inverse.timesteps:
            output = pipe.unet(latents, t, encoder_hidden_states=cond).sample
            latents = inverse.step(output, t, latents).prev_sample
    assert (ours[-1:] - latents).abs().max().item() <= 1e-4


@pytest.fixture(scope="module")
def xl_components():
    return smooth(tiny_xl_components(seed=2), 0.05)


@pytest.mark.parametrize("family", ["v-prediction", "xl"])
def test_target_branch_equals_the_family_s_diffusers_generation(family, v_components, xl_components):
    """Every edit off, the target branch is diffusers' own generation: SD 2.x's v prediction through
    `StableDiffusionPipeline`; for XL both text encoders, the pooled embedding, the size conditioning and the
    zeroed empty prompt, as `StableDiffusionXLPipeline` makes them."""
    parts = v_components if family == "v-prediction" else xl_components
    pipe = ColorEditPipeline(**parts)
    pipe.set_progress_bar_config(disable=True)
    mask = np.zeros((64, 64), bool)
    mask[16:48, 16:48] = True
    config = preset("paper").replace(num_inference_steps=8, **INTERVENTIONS_OFF)
    out = pipe("a red car", mask, color="blue", seed=5, config=config)
    if family == "xl":
        reference = StableDiffusionXLPipeline(**parts)
    else:
        reference = StableDiffusionPipeline(
            **parts, safety_checker=None, feature_extractor=None, requires_safety_checker=False
        )
    reference.set_progress_bar_config(disable=True)
    expected = reference(
        "a red car",
        num_inference_steps=8,
        guidance_scale=7.5,
        generator=torch.Generator().manual_seed(5),
        output_type="latent",
    ).images
    assert (out.latents["target"] - expected).abs().max().item() <= 1e-4


def test_xl_folder_edits_from_the_cli_keeping_the_background(xl_components, photo, tmp_path, capsys):
    folder = tmp_path / "tiny-xl"
    StableDiffusionXLPipeline(**xl_components).save_pretrained(folder, safe_serialization=True)
    assert ColorEditPipeline.from_pretrained(folder).family.name == "Stable Diffusion XL"
    image, mask = photo
    out = tmp_path / "xl.png"
    args = ["edit", str(image), "--mask", str(mask), "--color", "#2050ff", "--prompt", "a red car"]
    args += ["--mask-refine", "off", "--engine", "diffusion"]  # no edge to refine to; the XL model's own path
    assert main([*args, "--model", str(folder), "--steps", "4", "-o", str(out), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["unet"]["rows"] == 4 + 4 * 2  # direct inversion, then 2 a step
    original, edited = np.asarray(Image.open(image).convert("RGB")), np.asarray(Image.open(out).convert("RGB"))
    outside = feather_weights(load_mask(mask, (128, 96)), feather_radius(0.02, (128, 96))) == 0
    assert edited.shape == original.shape and np.array_equal(edited[outside], original[outside])


@pytest.mark.parametrize("family", ["FluxKontextPipeline", "QwenImageEditPipeline", "StableVideoDiffusionPipeline"])
def test_other_families_exit_2_with_one_line(tmp_path, capsys, family, photo):
    folder = tmp_path / family
    folder.mkdir()
    (folder / "model_index.json").write_text(json.dumps({"_class_name": family}))
    with pytest.raises(ColorEditError, match=r"supports Stable Diffusion 1\.x, 2\.x .*, 3\.x and FLUX\.1"):
        ColorEditPipeline.from_pretrained(folder)
    image, mask = photo
    code = main(
        [
            "edit",
            str(image),
            "--mask",
            str(mask),
            "--color",
            "red",
            "--prompt",
            "a car",
            "--model",
            str(folder),
            "-o",
            str(tmp_path / "out.png"),
        ]
    )
    err = capsys.readouterr().err
    assert code == 2 and family in err and len(err.strip().splitlines()) == 1
