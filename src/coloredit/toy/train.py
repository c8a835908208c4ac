"""Train the toy world's model on CPU: the VAE (on crops), then the U-Net with the text encoder, a grounding
fine-tune of both, and the VAE's decoder again on whole images.

Resumable: each stage saves its state atomically to its own file in the work folder every
`checkpoint_every` steps, and a rerun with the same work folder continues where it stopped. Batches are
drawn from a generator seeded by the step, so a resumed run draws what an uninterrupted one would have.
Once the VAE is trained, the U-Net and the decoder stages depend on it alone (the decoder stage keeps the
encoder, so the latent space the U-Net learns stays as it was): they can run at once, in two processes.
"""

from __future__ import annotations

import copy
import json
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


def object_tokens(caption: str) -> list[int]:
    """For each of the caption's token positions (0 is the start token), the index of the object whose own
    words it holds (material, color, shape; not "a", nor a second color's "with white stripes"), else -1.
    Captions join objects, left to right, with "and", and every toy word is one token."""
    owners, position = [-1] * MAX_TOKENS, 1
    for index, part in enumerate(caption.split(" and ") if caption else []):
        words = part.split()
        own = words.index("with") if "with" in words else len(words)
        for offset in range(1, own):
            owners[position + offset] = index
        position += len(words) + 1
    return owners


def grounding_loss(probs: list[torch.Tensor], owners: torch.Tensor, masks: torch.Tensor) -> torch.Tensor:
    """Total variation distance between each object word's attention over the image (`probs`: per layer,
    batch x pixels x tokens, averaged over heads) and the uniform distribution over its object's mask
    (`masks`: batch x 3 x 16 x 16 coverage); `owners`: batch x tokens, the object of each token or -1. The
    mean over layers and object words (0 when the batch has none)."""
    words = owners >= 0
    if not words.any():
        return probs[0].sum() * 0
    losses = []
    for layer in probs:
        side = math.isqrt(layer.shape[1])
        pooled = F.adaptive_avg_pool2d(masks, side).flatten(2)  # batch x 3 x pixels
        target = pooled.gather(1, owners.clamp_min(0)[..., None].expand(-1, -1, pooled.shape[-1]))
        target = target / target.sum(-1, keepdim=True).clamp_min(1e-6)
        attention = layer.transpose(1, 2)
        attention = attention / attention.sum(-1, keepdim=True).clamp_min(1e-12)
        losses.append(0.5 * (attention - target).abs().sum(-1)[words].mean())
    return torch.stack(losses).mean()


class AttentionProbe:
    """diffusers' `AttnProcessor` for a cross-attention layer (explicit softmax), keeping the attention
    probabilities, averaged over heads, in `store` for the grounding loss."""

    def __init__(self, store: list[torch.Tensor]):
        self.store = store

    def __call__(self, attn, hidden_states, encoder_hidden_states=None, attention_mask=None, temb=None, **kwargs):
        query = attn.head_to_batch_dim(attn.to_q(hidden_states))
        key = attn.head_to_batch_dim(attn.to_k(encoder_hidden_states))
        value = attn.head_to_batch_dim(attn.to_v(encoder_hidden_states))
        probs = attn.get_attention_scores(query, key, None)
        self.store.append(probs.view(-1, attn.heads, *probs.shape[1:]).mean(1))
        return attn.to_out[1](attn.to_out[0](attn.batch_to_head_dim(torch.bmm(probs, value))))


def probe_cross_attention(unet, store: list[torch.Tensor]) -> None:
    """Install `AttentionProbe` on the U-Net's cross-attention layers at 16x16 and 8x8 latents."""
    unet.set_attn_processor(
        {
            name: AttentionProbe(store) if name.endswith("attn2.processor") and name.startswith(GROUNDING_LAYERS) else p
            for name, p in unet.attn_processors.items()
        }
    )


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

    # -- grounding: the same models fine-tuned from the U-Net stage's average, with the attention loss -----
    if "grounding" in stages and config.grounding_steps:
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


@dataclass(frozen=True)
class UNetStage:
    """A stage that trains the U-Net and the text encoder: its schedule and what it learns besides denoising."""

    name: str
    steps: int
    lr: float
    warmup: int
    grounding: float = 0.0  # weight of `grounding_loss` (0: the diffusion loss alone)
    multi_object: float | None = None  # share of images with several objects (None: drawn uniformly)


def fit_unet(
    unet: torch.nn.Module,
    text_encoder: torch.nn.Module,
    ema_unet: torch.nn.Module,
    ema_text: torch.nn.Module,
    tokenizer,
    latents: torch.Tensor,
    captions: list[tuple[str, str, str]],
    config: TrainConfig,
    stage: UNetStage,
    state_path: Path,
    masks: torch.Tensor | None = None,
) -> None:
    """The U-Net and the text encoder, with an exponential moving average of both (what ships); resumable
    from `state_path`. With `stage.grounding`, `masks` (`object_masks`) are the objects' masks."""
    ids = tokenizer(
        [c for triple in captions for c in triple],
        padding="max_length",
        max_length=MAX_TOKENS,
        truncation=True,
        return_tensors="pt",
    ).input_ids.view(len(captions), 3, MAX_TOKENS)
    owners = torch.tensor([[object_tokens(c) for c in triple] for triple in captions]) if stage.grounding else None
    caption_share = torch.tensor(
        [1 - config.plain_caption - config.colorless_caption, config.plain_caption, config.colorless_caption]
    )
    image_weights = None
    if stage.multi_object is not None:
        share, several = stage.multi_object, torch.tensor([" and " in triple[2] for triple in captions])
        image_weights = torch.where(several, share / several.sum(), (1 - share) / (~several).sum())
    empty_ids = tokenizer([""], padding="max_length", max_length=MAX_TOKENS, return_tensors="pt").input_ids
    noise_scheduler = DDPMScheduler(**{k: v for k, v in SD_SCHEDULER.items() if k != "set_alpha_to_one"})
    alphas = noise_scheduler.alphas_cumprod
    params = [*unet.parameters(), *text_encoder.parameters()]
    opt = torch.optim.AdamW(params, lr=stage.lr, weight_decay=1e-2)
    state = load_state(state_path)
    if state:
        for module, key in ((unet, "unet"), (text_encoder, "text"), (ema_unet, "ema_unet"), (ema_text, "ema_text")):
            module.load_state_dict(state[key])
        opt.load_state_dict(state["opt"])
    probes: list[torch.Tensor] = []
    if stage.grounding:
        probe_cross_attention(unet, probes)
    ema_params = [*ema_unet.parameters(), *ema_text.parameters()]
    start = state.get("step", 0)
    bar = tqdm(range(start, stage.steps), desc=stage.name, initial=start, total=stage.steps)
    for step in bar:
        for group in opt.param_groups:
            group["lr"] = stage.lr * lr_factor(step, stage.steps, stage.warmup)
        g = torch.Generator().manual_seed(config.seed * STAGE_SEEDS[stage.name] + step)
        if image_weights is None:
            index = torch.randint(len(latents), (config.unet_batch,), generator=g)
        else:
            index = torch.multinomial(image_weights, config.unet_batch, replacement=True, generator=g)
        clean = latents[index.to(latents.device)]
        kind = torch.multinomial(caption_share, config.unet_batch, replacement=True, generator=g)
        empty = torch.rand(config.unet_batch, 1, generator=g) < config.empty_caption
        tokens = torch.where(empty, empty_ids, ids[index, kind])
        t = torch.randint(0, noise_scheduler.config.num_train_timesteps, (config.unet_batch,), generator=g)
        noise = torch.randn(clean.shape, generator=g).to(clean.device)
        noisy = noise_scheduler.add_noise(clean, noise, t.to(clean.device))
        probes.clear()
        pred = unet(noisy, t.to(clean.device), encoder_hidden_states=text_encoder(tokens.to(clean.device))[0]).sample
        snr = alphas[t] / (1 - alphas[t])
        weight = (torch.clamp(snr, max=config.min_snr) / snr).to(clean.device)
        loss = (weight * ((pred - noise) ** 2).mean(dim=(1, 2, 3))).mean()
        shown = {}
        if stage.grounding:
            owner = torch.where(empty, -1, owners[index, kind]).to(clean.device)
            attention = grounding_loss(probes, owner, masks[index].to(clean.device))
            loss = loss + stage.grounding * attention
            shown["attention"] = f"{attention.item():.3f}"
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        with torch.no_grad():
            decay = min(config.ema, (1 + step) / (10 + step))
            for ema_p, p in zip(ema_params, params, strict=True):
                ema_p.lerp_(p, 1 - decay)
        bar.set_postfix(loss=f"{loss.item():.4f}", **shown)
        if (step + 1) % config.checkpoint_every == 0 or step + 1 == stage.steps:
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
