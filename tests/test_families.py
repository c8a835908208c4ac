"""Model families: SD 2.x v-prediction through the same steps, checked against diffusers itself; folders of
unsupported families refused with one line."""

import json

import pytest
import torch
from conftest import INTERVENTIONS_OFF, smooth
from diffusers import DDIMInverseScheduler, DDIMScheduler, StableDiffusionPipeline

from coloredit import ColorEditPipeline, preset
from coloredit.cli import main
from coloredit.errors import ColorEditError
from coloredit.inversion import NoiseSchedule, ddim_inversion
from coloredit.tiny import tiny_components


@pytest.fixture(scope="module")
def v_components():
    parts = smooth(tiny_components(seed=4), 0.05)
    parts["scheduler"] = DDIMScheduler.from_config(parts["scheduler"].config, prediction_type="v_prediction")
    return parts


def test_v_prediction_target_branch_equals_diffusers_generation(v_components):
    pipe = ColorEditPipeline(**v_components)
    pipe.set_progress_bar_config(disable=True)
    mask = torch.zeros(64, 64, dtype=torch.bool)
    mask[16:48, 16:48] = True
    out = pipe(
        "a red car",
        mask.numpy(),
        color="blue",
        seed=5,
        config=preset("paper").replace(num_inference_steps=8, **INTERVENTIONS_OFF),
    )
    sd = StableDiffusionPipeline(
        **v_components, safety_checker=None, feature_extractor=None, requires_safety_checker=False
    )
    sd.set_progress_bar_config(disable=True)
    expected = sd(
        "a red car",
        num_inference_steps=8,
        guidance_scale=7.5,
        generator=torch.Generator().manual_seed(5),
        output_type="latent",
    ).images
    assert (out.latents["target"] - expected).abs().max().item() <= 1e-4


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


@pytest.mark.parametrize("family", ["StableDiffusionXLPipeline", "StableDiffusion3Pipeline", "FluxPipeline"])
def test_other_families_exit_2_with_one_line(tmp_path, capsys, family, photo):
    folder = tmp_path / family
    folder.mkdir()
    (folder / "model_index.json").write_text(json.dumps({"_class_name": family}))
    with pytest.raises(ColorEditError, match=r"supports Stable Diffusion 1\.x and 2\.x"):
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
