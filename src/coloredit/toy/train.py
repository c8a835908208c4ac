"""Train the toy world's model on CPU: the VAE (on crops), then the U-Net with the text encoder, then the
VAE's decoder again on whole images.

Resumable: each stage saves its state atomically to its own file in the work folder every
`checkpoint_every` steps, and a rerun with the same work folder continues where it stopped. Batches are
drawn from a generator seeded by the step, so a resumed run draws what an uninterrupted one would have.
Once the VAE is trained, the U-Net and the decoder stages depend on it alone (the decoder stage keeps the
encoder, so the latent space the U-Net learns stays as it was): they can run at once, in two processes.
"""

from __future__ import annotations

import copy
import math
import multiprocessing
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from diffusers import DDPMScheduler
from tqdm import tqdm

from ..tiny import SD_SCHEDULER
from .models import MAX_TOKENS, toy_scheduler, toy_text_encoder, toy_tokenizer, toy_unet, toy_vae
from .render import render, sample_scene


@dataclass
class TrainConfig:
    images: int = 16000
    workers: int = 2  # rendering processes
    vae_steps: int = 1500
    vae_batch: int = 32
    vae_crop: int = 32  # the VAE learns on random crops (it is convolutional); 0 for whole images
    vae_lr: float = 1e-3
    unet_steps: int = 1600
    unet_batch: int = 64
    unet_lr: float = 8e-4
    warmup: int = 100
    empty_caption: float = 0.1  # share of captions dropped, for classifier-free guidance
    colorless_caption: float = 0.1  # share with no color word, so the prior covers colors no word names
    plain_caption: float = 0.3  # share without the material word
    min_snr: float = 5.0
    ema: float = 0.999
    # The first VAE stage learns on crops; its decoder alone is then fine-tuned on whole images (global
    # context reaches the decoder's mid-block attention), the encoder frozen so that the latent space the
    # U-Net learned stays as it was (as Stable Diffusion's own ft-MSE decoder was made).
    decoder_steps: int = 300
    decoder_batch: int = 16
    decoder_lr: float = 3e-4
    color_loss: float = 1.0  # the decoder stage's weight on 4x4-cell colors (see `fit_vae`)
    checkpoint_every: int = 100
    seed: int = 0


STAGE_SEEDS = {"vae": 1_000_003, "unet": 2_000_003, "decoder": 3_000_017}  # batches: seed * this + step


def lr_factor(step: int, total: int, warmup: int) -> float:
    """Linear warm-up, then cosine decay to 5%."""
    if step < warmup:
        return (step + 1) / warmup
    progress = (step - warmup) / max(1, total - warmup)
    return 0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * progress))


def _render_image(seed: int) -> np.ndarray:
    return render(seed).image


def dataset(config: TrainConfig, work: Path) -> tuple[torch.Tensor, list[tuple[str, str, str]]]:
    """The training renders (cached in `work`) and, per image, its full, plain and colorless captions
    (drawn again from the scene descriptions, which is fast)."""
    seeds = [config.seed * 10_000_000 + i for i in range(config.images)]
    cache = work / f"data-{config.seed}-{config.images}.npz"
    if not cache.exists():
        with multiprocessing.get_context("spawn").Pool(config.workers) as pool:
            images = list(tqdm(pool.imap(_render_image, seeds, chunksize=64), total=len(seeds), desc="render"))
        temp = cache.with_suffix(".tmp.npz")
        np.savez(temp, images=np.stack(images))
        os.replace(temp, cache)
    with np.load(cache) as data:
        images = torch.from_numpy(data["images"]).permute(0, 3, 1, 2).float() / 127.5 - 1
    return images, [sample_scene(seed).captions(MAX_TOKENS - 2) for seed in seeds]


def _crop(batch: torch.Tensor, size: int, g: torch.Generator) -> torch.Tensor:
    if not size or size >= batch.shape[-1]:
        return batch
    y, x = torch.randint(0, batch.shape[-1] - size + 1, (2,), generator=g).tolist()
    return batch[..., y : y + size, x : x + size]


def fit_vae(
    vae,
    images: torch.Tensor,
    parameters: list,
    stage: str,
    steps: int,
    batch_size: int,
    crop: int,
    lr: float,
    warmup: int,
    config: TrainConfig,
    state_path: Path,
) -> None:
    """Reconstruction training of `parameters` of the VAE (the rest stays as it is), resumable from
    `state_path` (the stage's weights, optimizer and step). The KL term only where the encoder learns; where
    it does not (the decoder stage), also the colors of 4x4-pixel cells, what an object's mean color is
    made of, weighted by `config.color_loss`."""
    state = load_state(state_path)
    if state:
        vae.load_state_dict(state["weights"])
    opt = torch.optim.AdamW(parameters, lr=lr)
    if state:
        opt.load_state_dict(state["opt"])
    learns_encoder = any(p is q for p in parameters for q in vae.encoder.parameters())
    start = state.get("step", 0)
    bar = tqdm(range(start, steps), desc=stage, initial=start, total=steps)
    for step in bar:
        for group in opt.param_groups:
            group["lr"] = lr * lr_factor(step, steps, warmup)
        g = torch.Generator().manual_seed(config.seed * STAGE_SEEDS[stage] + step)
        batch = _crop(images[torch.randint(len(images), (batch_size,), generator=g)], crop, g)
        batch = batch.to(_device(vae))
        posterior = vae.encode(batch).latent_dist
        recon = vae.decode(posterior.sample(generator=g)).sample
        loss = F.mse_loss(recon, batch) + 0.1 * F.l1_loss(recon, batch)
        if learns_encoder:
            loss = loss + 1e-3 * posterior.kl().mean() / batch[0].numel()
        else:
            loss = loss + config.color_loss * F.l1_loss(F.avg_pool2d(recon, 4), F.avg_pool2d(batch, 4))
        opt.zero_grad()
        loss.backward()
        opt.step()
        bar.set_postfix(loss=f"{loss.item():.4f}")
        if (step + 1) % config.checkpoint_every == 0 or step + 1 == steps:
            save_state({"weights": vae.state_dict(), "opt": opt.state_dict(), "step": step + 1}, state_path)


def _device(module: torch.nn.Module) -> torch.device:
    return next(module.parameters()).device


def load_state(path: Path) -> dict:
    """A stage's checkpoint, on the CPU whichever device wrote it (the modules' `load_state_dict` and the
    optimizer's move it to theirs)."""
    return torch.load(path, weights_only=False, map_location="cpu") if path.exists() else {}


def save_state(state, path: Path) -> None:
    temp = path.with_suffix(".tmp")
    torch.save(state, temp)
    os.replace(temp, path)


STAGES = ("vae", "unet", "decoder")


def train(
    out: Path, work: Path, config: TrainConfig, stages: tuple[str, ...] = STAGES, device: str = "cpu"
) -> Path | None:
    """Train (or resume) `stages` on `device`; once every stage is complete, write a diffusers pipeline folder
    (fp16 safetensors) to `out` and return it. The U-Net and decoder stages need a complete VAE stage. The
    random draws (batches, noise) are made on the CPU whatever the device, so a GPU run follows the CPU
    recipe draw for draw (its arithmetic differs in the last bits)."""
    work.mkdir(parents=True, exist_ok=True)
    paths = {stage: work / f"{stage}.pt" for stage in STAGES}
    images, captions = dataset(config, work)
    torch.manual_seed(config.seed)  # the initial weights; a resumed run replaces them with its checkpoint
    tokenizer = toy_tokenizer()
    vae, unet, text_encoder = toy_vae().to(device), toy_unet().to(device), toy_text_encoder(tokenizer).to(device)

    # -- the VAE ------------------------------------------------------------------------------------
    if "vae" in stages:
        fit_vae(
            vae,
            images,
            list(vae.parameters()),
            "vae",
            config.vae_steps,
            config.vae_batch,
            config.vae_crop,
            config.vae_lr,
            50,
            config,
            paths["vae"],
        )
    first_stage = load_state(paths["vae"])
    if first_stage.get("step", 0) < config.vae_steps:
        raise SystemExit(f"the VAE stage is not complete in {work}: run the 'vae' stage first")
    vae.load_state_dict(first_stage["weights"])
    vae.eval().requires_grad_(False)

    cache = work / f"latents-{config.seed}-{config.images}-{config.vae_steps}.pt"  # encoding costs minutes
    if cache.exists():
        latents = torch.load(cache, map_location=device)
    else:
        with torch.no_grad():
            latents = torch.cat([vae.encode(chunk.to(device)).latent_dist.mean for chunk in images.split(512)])
        save_state(latents.cpu(), cache)
    scaling = float(1.0 / latents.std())
    vae.register_to_config(scaling_factor=scaling)
    latents = latents * scaling

    # -- the U-Net and the text encoder ----------------------------------------------------------------
    ema_unet, ema_text = copy.deepcopy(unet), copy.deepcopy(text_encoder)
    if "unet" in stages:
        fit_unet(unet, text_encoder, ema_unet, ema_text, tokenizer, latents, captions, config, paths["unet"])

    # -- the VAE's decoder, on whole images (encoder frozen) --------------------------------------------
    if "decoder" in stages:
        decoder = [*vae.decoder.parameters(), *vae.post_quant_conv.parameters()]
        for p in decoder:
            p.requires_grad_(True)
        fit_vae(
            vae,
            images,
            decoder,
            "decoder",
            config.decoder_steps,
            config.decoder_batch,
            0,
            config.decoder_lr,
            0,
            config,
            paths["decoder"],
        )
        vae.requires_grad_(False)

    second, third = load_state(paths["unet"]), load_state(paths["decoder"])
    if second.get("step", 0) < config.unet_steps or third.get("step", 0) < config.decoder_steps:
        return None
    ema_unet.load_state_dict(second["ema_unet"])
    ema_text.load_state_dict(second["ema_text"])
    vae.load_state_dict(third["weights"])

    from ..pipeline import ColorEditPipeline

    pipe = ColorEditPipeline(
        vae=vae, text_encoder=ema_text.eval(), tokenizer=tokenizer, unet=ema_unet.eval(), scheduler=toy_scheduler()
    )
    pipe.to("cpu", torch.float16).save_pretrained(out, safe_serialization=True)
    return out


def fit_unet(
    unet: torch.nn.Module,
    text_encoder: torch.nn.Module,
    ema_unet: torch.nn.Module,
    ema_text: torch.nn.Module,
    tokenizer,
    latents: torch.Tensor,
    captions: list[tuple[str, str, str]],
    config: TrainConfig,
    state_path: Path,
) -> None:
    """The U-Net and the text encoder, with an exponential moving average of both (what ships); resumable
    from `state_path`."""
    ids = tokenizer(
        [c for triple in captions for c in triple],
        padding="max_length",
        max_length=MAX_TOKENS,
        truncation=True,
        return_tensors="pt",
    ).input_ids.view(len(captions), 3, MAX_TOKENS)
    caption_share = torch.tensor(
        [1 - config.plain_caption - config.colorless_caption, config.plain_caption, config.colorless_caption]
    )
    empty_ids = tokenizer([""], padding="max_length", max_length=MAX_TOKENS, return_tensors="pt").input_ids
    noise_scheduler = DDPMScheduler(**{k: v for k, v in SD_SCHEDULER.items() if k != "set_alpha_to_one"})
    alphas = noise_scheduler.alphas_cumprod
    params = [*unet.parameters(), *text_encoder.parameters()]
    opt = torch.optim.AdamW(params, lr=config.unet_lr, weight_decay=1e-2)
    state = load_state(state_path)
    if state:
        for module, key in ((unet, "unet"), (text_encoder, "text"), (ema_unet, "ema_unet"), (ema_text, "ema_text")):
            module.load_state_dict(state[key])
        opt.load_state_dict(state["opt"])
    ema_params = [*ema_unet.parameters(), *ema_text.parameters()]
    start = state.get("step", 0)
    bar = tqdm(range(start, config.unet_steps), desc="unet", initial=start, total=config.unet_steps)
    for step in bar:
        for group in opt.param_groups:
            group["lr"] = config.unet_lr * lr_factor(step, config.unet_steps, config.warmup)
        g = torch.Generator().manual_seed(config.seed * STAGE_SEEDS["unet"] + step)
        index = torch.randint(len(latents), (config.unet_batch,), generator=g)
        clean = latents[index.to(latents.device)]
        kind = torch.multinomial(caption_share, config.unet_batch, replacement=True, generator=g)
        tokens = torch.where(
            torch.rand(config.unet_batch, 1, generator=g) < config.empty_caption, empty_ids, ids[index, kind]
        )
        t = torch.randint(0, noise_scheduler.config.num_train_timesteps, (config.unet_batch,), generator=g)
        noise = torch.randn(clean.shape, generator=g).to(clean.device)
        noisy = noise_scheduler.add_noise(clean, noise, t.to(clean.device))
        pred = unet(noisy, t.to(clean.device), encoder_hidden_states=text_encoder(tokens.to(clean.device))[0]).sample
        snr = alphas[t] / (1 - alphas[t])
        weight = (torch.clamp(snr, max=config.min_snr) / snr).to(clean.device)
        loss = (weight * ((pred - noise) ** 2).mean(dim=(1, 2, 3))).mean()
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        with torch.no_grad():
            decay = min(config.ema, (1 + step) / (10 + step))
            for ema_p, p in zip(ema_params, params, strict=True):
                ema_p.lerp_(p, 1 - decay)
        bar.set_postfix(loss=f"{loss.item():.4f}")
        if (step + 1) % config.checkpoint_every == 0 or step + 1 == config.unet_steps:
            save_state(
                {
                    "unet": unet.state_dict(),
                    "text": text_encoder.state_dict(),
                    "ema_unet": ema_unet.state_dict(),
                    "ema_text": ema_text.state_dict(),
                    "opt": opt.state_dict(),
                    "step": step + 1,
                },
                state_path,
            )
