import numpy as np
import pytest
import torch
from conftest import smooth

from coloredit import ColorEditPipeline, Inversion, preset
from coloredit.accounting import counting
from coloredit.inversion import NoiseSchedule, ddim_inversion, ddim_step, guided_ddim, null_text_inversion
from coloredit.tiny import tiny_components


def guided_denoise(pipe, latents, cond, uncond_per_step, schedule, guidance):
    with torch.no_grad():
        for step, timestep in enumerate(schedule.timesteps):
            noise_uncond = pipe.predict_noise(latents, timestep, uncond_per_step[step : step + 1])
            noise = noise_uncond
            if guidance != 1.0:
                noise = noise_uncond + guidance * (pipe.predict_noise(latents, timestep, cond) - noise_uncond)
            latents = ddim_step(latents, noise, *schedule.alphas(step))
    return latents


@pytest.fixture(scope="module")
def smoother_pipe():
    pipe = ColorEditPipeline(**smooth(tiny_components(seed=1), 0.01))
    pipe.set_progress_bar_config(disable=True)
    return pipe


def test_ddim_step_matches_diffusers_scheduler(pipe):
    schedule = NoiseSchedule(pipe.scheduler, 20)
    latents, eps = torch.randn(1, 4, 8, 8), torch.randn(1, 4, 8, 8)
    for step in (0, 7, 19):
        expected = pipe.scheduler.step(eps, schedule.timesteps[step], latents).prev_sample
        torch.testing.assert_close(ddim_step(latents, eps, *schedule.alphas(step)), expected, atol=1e-5, rtol=1e-5)


def test_ddim_inversion_round_trips_with_a_smooth_denoiser(smoother_pipe):
    pipe = smoother_pipe
    schedule = NoiseSchedule(pipe.scheduler, 50)
    clean = torch.randn(1, 4, 8, 8)
    cond = pipe.encode_text(["a red car"])
    trajectory = ddim_inversion(pipe.predict_noise, clean, cond, schedule)
    assert trajectory.shape == (51, 4, 8, 8)
    rebuilt = guided_denoise(pipe, trajectory[-1:], cond, cond.expand(50, -1, -1), schedule, guidance=1.0)
    error = (rebuilt - clean).abs().mean().item()
    assert error < 3e-3, error


def test_guided_ddim_steps_an_unguided_entry_with_its_conditional_estimate_alone(pipe):
    """Entry 0 guided, entry 1 not: each equals its own run of the explicit loop, with one row less a step."""
    schedule = NoiseSchedule(pipe.scheduler, 6)
    latents = torch.randn(2, 4, 8, 8, generator=torch.Generator().manual_seed(3))
    cond = pipe.encode_text(["a red car", "a blue car"])
    empty = pipe.encode_text([""]).expand(6, -1, -1)
    with torch.no_grad(), counting() as ledger:
        both = guided_ddim(
            pipe.predict_noise, latents, cond, lambda step: empty[:1].repeat(2, 1, 1), schedule, 7.5, guided=[0]
        )
    assert ledger.rows[ledger.stage] == 3 * 6
    guided = guided_denoise(pipe, latents[:1], cond[:1], empty, schedule, 7.5)
    unguided = guided_denoise(pipe, latents[1:], cond[1:], cond[1:].expand(6, -1, -1), schedule, 1.0)
    torch.testing.assert_close(both, torch.cat([guided, unguided]), atol=1e-5, rtol=1e-5)


def test_null_text_inversion_reconstructs_a_guided_run_better_than_ddim(pipe):
    schedule = NoiseSchedule(pipe.scheduler, 10)
    cond, empty = pipe.encode_text(["a red car"]), pipe.encode_text([""])
    start = torch.randn(1, 4, 8, 8, generator=torch.Generator().manual_seed(0))
    clean = guided_denoise(pipe, start, cond, empty.expand(10, -1, -1), schedule, guidance=7.5)

    trajectory = ddim_inversion(pipe.predict_noise, clean, cond, schedule)
    plain = guided_denoise(pipe, trajectory[-1:], cond, empty.expand(10, -1, -1), schedule, guidance=7.5)
    ddim_error = (plain - clean).abs().mean().item()
    # The paper's settings (10 Adam steps at lr 1e-2), then a longer optimization: both beat DDIM inversion.
    for (inner_steps, lr), most in (((10, 1e-2), 0.75), ((30, 5e-2), 0.2)):
        with torch.enable_grad():
            optimized = null_text_inversion(
                pipe.predict_noise,
                trajectory,
                cond,
                empty,
                schedule,
                7.5,
                inner_steps=inner_steps,
                lr=lr,
                early_stop=1e-5,
            )
        nulltext = guided_denoise(pipe, trajectory[-1:], cond, optimized, schedule, guidance=7.5)
        null_error = (nulltext - clean).abs().mean().item()
        assert null_error < most * ddim_error, (inner_steps, null_error, ddim_error)


def test_inversion_saves_and_loads(pipe, photo, tmp_path):
    image_path, _ = photo
    schedule = NoiseSchedule(pipe.scheduler, 4)
    from PIL import Image

    image = Image.open(image_path).convert("RGB").resize((64, 48))
    inversion = pipe.invert(
        image, "a red car", schedule, preset("paper").replace(num_inference_steps=4, null_text_inner_steps=2)
    )
    inversion.save(tmp_path / "x.safetensors")
    loaded = Inversion.load(tmp_path / "x.safetensors")
    assert loaded.method == "null-text" and loaded.timesteps == schedule.timesteps and loaded.prompt == "a red car"
    assert torch.equal(loaded.latents, inversion.latents)
    assert torch.equal(loaded.uncond_embeddings, inversion.uncond_embeddings)
    assert np.isclose(loaded.guidance_scale, 7.5)


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_null_text_inversion_in_half_precision_stays_finite(model_dir, photo, dtype):
    from PIL import Image

    pipe = ColorEditPipeline.from_pretrained(model_dir, dtype=dtype)
    pipe.set_progress_bar_config(disable=True)
    image_path, mask_path = photo
    out = pipe(
        "a red car",
        mask_path,
        image=image_path,
        color="blue",
        config=preset("paper").replace(num_inference_steps=4, null_text_inner_steps=3),
    )
    assert pipe.unet.dtype == dtype and out.inversion.uncond_embeddings.dtype == torch.float32
    assert torch.isfinite(out.inversion.uncond_embeddings).all()
    assert np.isfinite(np.asarray(out.image, dtype=np.float64)).all() and out.image.size == Image.open(image_path).size
