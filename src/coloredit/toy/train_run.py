"""The toy model's training run: the stages in order (the VAE, the U-Net, its grounding, the VAE's decoder), each
resumed from its checkpoint, and the pipeline folder written once all are complete.

Why a module: the stages (`train.py`, `train_unet.py`) know how to learn; this only knows their order and what
each needs of the one before.
"""

from __future__ import annotations

import copy
from pathlib import Path

import torch

from .models import toy_scheduler, toy_text_encoder, toy_tokenizer, toy_unet, toy_vae
from .train import TrainConfig, VaeStage, dataset, fit_vae, load_state, object_masks, save_state
from .train_unet import UNetStage, fit_unet

STAGES = ("vae", "unet", "grounding", "decoder")


def train(
    out: Path,
    work: Path,
    config: TrainConfig,
    stages: tuple[str, ...] = STAGES,
    device: str = "cpu",
    init: Path | None = None,
) -> Path | None:
    """Train (or resume) `stages` on `device`; once every stage is complete, write a diffusers pipeline folder
    (fp16 safetensors) to `out` and return it. The U-Net and decoder stages need a complete VAE stage. The
    random draws (batches, noise) are made on the CPU whatever the device, so a GPU run follows the CPU
    recipe draw for draw (its arithmetic differs in the last bits). `init`: a U-Net stage's averages
    (`ema_unet`, `ema_text`) that the U-Net stage starts from instead of random weights, so that a longer
    run can go on from a shorter one's result with a schedule of its own."""
    work.mkdir(parents=True, exist_ok=True)
    paths = {stage: work / f"{stage}.pt" for stage in STAGES}
    images, captions = dataset(config, work)
    torch.manual_seed(config.seed)  # the initial weights; a resumed run replaces them with its checkpoint
    tokenizer = toy_tokenizer()
    vae, unet, text_encoder = toy_vae().to(device), toy_unet().to(device), toy_text_encoder(tokenizer).to(device)
    if "vae" in stages:
        stage = VaeStage("vae", config.vae_steps, config.vae_batch, config.vae_crop, config.vae_lr, 50)
        fit_vae(vae, images, list(vae.parameters()), stage, config, paths["vae"])
    latents = encoded_latents(vae, images, config, work, paths["vae"], device)
    if init is not None:
        start = load_state(init)
        if not start:
            raise SystemExit(f"--init: no U-Net stage averages in {init}")
        unet.load_state_dict(start["ema_unet"])
        text_encoder.load_state_dict(start["ema_text"])
    ema_unet, ema_text = copy.deepcopy(unet), copy.deepcopy(text_encoder)
    models = (unet, text_encoder, ema_unet, ema_text, tokenizer)
    if "unet" in stages:
        plain = UNetStage("unet", config.unet_steps, config.unet_lr, config.warmup)
        fit_unet(*models, latents, captions, config, plain, paths["unet"])
    if "grounding" in stages and config.grounding_steps:
        # the same models fine-tuned from the U-Net stage's average, with the attention loss
        first_unet = load_state(paths["unet"])
        if first_unet.get("step", 0) < config.unet_steps:
            raise SystemExit(f"the U-Net stage is not complete in {work}: run the 'unet' stage first")
        for trained, average, key in ((unet, ema_unet, "ema_unet"), (text_encoder, ema_text, "ema_text")):
            trained.load_state_dict(first_unet[key])
            average.load_state_dict(first_unet[key])
        grounding = UNetStage(
            "grounding", config.grounding_steps, config.grounding_lr, 50, config.grounding_weight, config.multi_object
        )
        fit_unet(*models, latents, captions, config, grounding, paths["grounding"], object_masks(config, work))
    if "decoder" in stages:  # the VAE's decoder, on whole images (encoder frozen)
        decoder = [*vae.decoder.parameters(), *vae.post_quant_conv.parameters()]
        for p in decoder:
            p.requires_grad_(True)
        stage = VaeStage("decoder", config.decoder_steps, config.decoder_batch, 0, config.decoder_lr, 0)
        fit_vae(vae, images, decoder, stage, config, paths["decoder"])
        vae.requires_grad_(False)
    return write_pipeline(out, config, paths, vae, tokenizer, ema_unet, ema_text)


def encoded_latents(
    vae, images: torch.Tensor, config: TrainConfig, work: Path, vae_path: Path, device: str
) -> torch.Tensor:
    """The complete VAE stage loaded into `vae` (frozen, its scaling factor set), and the training images'
    latents, scaled to unit variance (cached: encoding costs minutes)."""
    first_stage = load_state(vae_path)
    if first_stage.get("step", 0) < config.vae_steps:
        raise SystemExit(f"the VAE stage is not complete in {work}: run the 'vae' stage first")
    vae.load_state_dict(first_stage["weights"])
    vae.eval().requires_grad_(False)
    cache = work / f"latents-{config.seed}-{config.images}-{config.vae_steps}.pt"
    if cache.exists():
        latents = torch.load(cache, map_location=device)
    else:
        with torch.no_grad():
            latents = torch.cat([vae.encode(chunk.to(device)).latent_dist.mean for chunk in images.split(512)])
        save_state(latents.cpu(), cache)
    scaling = float(1.0 / latents.std())
    vae.register_to_config(scaling_factor=scaling)
    return latents * scaling


def write_pipeline(
    out: Path, config: TrainConfig, paths: dict[str, Path], vae, tokenizer, ema_unet, ema_text
) -> Path | None:
    """The pipeline folder of the averages and the decoder, once the last U-Net stage and the decoder are
    complete (else None)."""
    last_unet = "grounding" if config.grounding_steps else "unet"
    second, third = load_state(paths[last_unet]), load_state(paths["decoder"])
    unet_done = second.get("step", 0) >= (config.grounding_steps or config.unet_steps)
    if not unet_done or third.get("step", 0) < config.decoder_steps:
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
