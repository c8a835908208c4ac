"""Train the toy world's model on CPU: the VAE (on crops), then the U-Net with the text encoder, a grounding
fine-tune of both, and the VAE's decoder again on whole images.

Resumable: each stage saves its state atomically to its own file in the work folder every
`checkpoint_every` steps, and a rerun with the same work folder continues where it stopped. Batches are
drawn from a generator seeded by the step, so a resumed run draws what an uninterrupted one would have.
Once the VAE is trained, the U-Net and the decoder stages depend on it alone (the decoder stage keeps the
encoder, so the latent space the U-Net learns stays as it was): they can run at once, in two processes.
"""

from __future__ import annotations

import json
import math
import multiprocessing
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from tqdm import tqdm

from .models import MAX_TOKENS
from .render import SIZE, render, sample_scene


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
    # Grounding (TokenCompose, Wang et al. 2024): a fine-tune of the U-Net and the text encoder in which each
    # object's words (material, color, shape) also learn to attend inside that object's mask, so that a color
    # word binds to its own object in two-object prompts and a phrase's attention singles its object out.
    grounding_steps: int = 0  # 0: no grounding stage; the U-Net stage's weights ship
    grounding_lr: float = 2e-4
    grounding_weight: float = 0.1  # the attention loss's weight beside the diffusion loss
    multi_object: float = 0.7  # share of the grounding stage's images that hold 2-3 objects
    checkpoint_every: int = 100
    seed: int = 0


STAGE_SEEDS = {"vae": 1_000_003, "unet": 2_000_003, "decoder": 3_000_017, "grounding": 4_000_037}
# batches: seed * STAGE_SEEDS[stage] + step
GROUNDING_LAYERS = ("down_blocks.0", "down_blocks.1", "up_blocks.1", "up_blocks.2")  # cross-attention at 16 and 8


def lr_factor(step: int, total: int, warmup: int) -> float:
    """Linear warm-up, then cosine decay to 5%."""
    if step < warmup:
        return (step + 1) / warmup
    progress = (step - warmup) / max(1, total - warmup)
    return 0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * progress))


def _render_image(seed: int) -> np.ndarray:
    return render(seed).image


def _captions(seed: int) -> tuple[str, str, str]:
    return sample_scene(seed).captions(MAX_TOKENS - 2)


def _object_masks(seed: int) -> np.ndarray:
    """A training scene's object masks, objects left to right as its captions name them, as the share of each
    latent cell (4x4 pixels) they cover: 3 x 16 x 16, zeros where the scene has fewer objects."""
    scene = render(seed)
    order = np.argsort([o.cx for o in scene.spec.objects], kind="stable")
    masks = np.zeros((3, SIZE // 4, SIZE // 4), dtype=np.float16)
    for slot, index in enumerate(order):
        masks[slot] = scene.masks[index].reshape(SIZE // 4, 4, SIZE // 4, 4).mean(axis=(1, 3))
    return masks


def _per_seed(function, config: TrainConfig, desc: str) -> list:
    """`function` of every training seed, over `config.workers` processes."""
    seeds = [config.seed * 10_000_000 + i for i in range(config.images)]
    with multiprocessing.get_context("spawn").Pool(config.workers) as pool:
        return list(tqdm(pool.imap(function, seeds, chunksize=64), total=len(seeds), desc=desc))


def _cached(path: Path, compute, save, load):
    """`load(path)`, after `save(compute(), temp)` and an atomic rename the first time: renders, captions and
    masks take minutes to make again."""
    if not path.exists():
        temp = path.with_name(f"tmp-{path.name}")
        save(compute(), temp)
        os.replace(temp, path)
    return load(path)


def _load_images(path: Path) -> np.ndarray:
    with np.load(path) as data:
        return data["images"]


def dataset(config: TrainConfig, work: Path) -> tuple[torch.Tensor, list[tuple[str, str, str]]]:
    """The training renders and, per image, its full, plain and colorless captions (both cached in `work`)."""
    name = f"{config.seed}-{config.images}"
    images = _cached(
        work / f"data-{name}.npz",
        lambda: np.stack(_per_seed(_render_image, config, "render")),
        lambda images, temp: np.savez(temp, images=images),
        _load_images,
    )
    captions = _cached(
        work / f"captions-{name}.json",
        lambda: _per_seed(_captions, config, "captions"),
        lambda captions, temp: temp.write_text(json.dumps(captions)),
        lambda path: [tuple(triple) for triple in json.loads(path.read_text())],
    )
    return torch.from_numpy(images).permute(0, 3, 1, 2).float() / 127.5 - 1, captions


def object_masks(config: TrainConfig, work: Path) -> torch.Tensor:
    """Every training image's `_object_masks` (cached in `work`)."""
    masks = _cached(
        work / f"masks-{config.seed}-{config.images}.npy",
        lambda: np.stack(_per_seed(_object_masks, config, "masks")),
        lambda masks, temp: np.save(temp, masks),
        np.load,
    )
    return torch.from_numpy(masks).float()


def _crop(batch: torch.Tensor, size: int, g: torch.Generator) -> torch.Tensor:
    if not size or size >= batch.shape[-1]:
        return batch
    y, x = torch.randint(0, batch.shape[-1] - size + 1, (2,), generator=g).tolist()
    return batch[..., y : y + size, x : x + size]


@dataclass(frozen=True)
class VaeStage:
    """A stage that trains the VAE (all of it, or its decoder): its schedule and batches."""

    name: str
    steps: int
    batch: int
    crop: int  # side of the random crops it learns on (0: whole images)
    lr: float
    warmup: int


def fit_vae(
    vae, images: torch.Tensor, parameters: list, stage: VaeStage, config: TrainConfig, state_path: Path
) -> None:
    """Reconstruction training of `parameters` of the VAE (the rest stays as it is), resumable from
    `state_path` (the stage's weights, optimizer and step). The KL term only where the encoder learns; where
    it does not (the decoder stage), also the colors of 4x4-pixel cells, what an object's mean color is
    made of, weighted by `config.color_loss`."""
    state = load_state(state_path)
    if state:
        vae.load_state_dict(state["weights"])
    opt = torch.optim.AdamW(parameters, lr=stage.lr)
    if state:
        opt.load_state_dict(state["opt"])
    learns_encoder = any(p is q for p in parameters for q in vae.encoder.parameters())
    start = state.get("step", 0)
    bar = tqdm(range(start, stage.steps), desc=stage.name, initial=start, total=stage.steps)
    for step in bar:
        for group in opt.param_groups:
            group["lr"] = stage.lr * lr_factor(step, stage.steps, stage.warmup)
        g = torch.Generator().manual_seed(config.seed * STAGE_SEEDS[stage.name] + step)
        batch = _crop(images[torch.randint(len(images), (stage.batch,), generator=g)], stage.crop, g)
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
        if (step + 1) % config.checkpoint_every == 0 or step + 1 == stage.steps:
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
