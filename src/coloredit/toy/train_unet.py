"""The toy model's U-Net stages: the U-Net with the text encoder learning to denoise captioned latents, then a
grounding fine-tune whose attention loss ties each object's words to its pixels (what `--mask-text` reads).

Why a module: `train.py` holds the data, the VAE stage and the checkpoints; `train_run.py` the order of stages.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from diffusers import DDPMScheduler
from tqdm import tqdm

from ..attention import installed
from ..tiny import SD_SCHEDULER
from .models import MAX_TOKENS
from .train import GROUNDING_LAYERS, STAGE_SEEDS, TrainConfig, load_state, lr_factor, save_state


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


def cross_attention_probes(unet, store: list[torch.Tensor]) -> dict[str, AttentionProbe]:
    """`AttentionProbe`s for the U-Net's cross-attention layers at 16x16 and 8x8 latents, by layer name (to put
    on with `attention.installed`)."""
    return {
        name: AttentionProbe(store)
        for name in unet.attn_processors
        if name.endswith("attn2.processor") and name.startswith(GROUNDING_LAYERS)
    }


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
    batches = Batches(tokenizer, captions, config, stage)
    params = [*unet.parameters(), *text_encoder.parameters()]
    opt = torch.optim.AdamW(params, lr=stage.lr, weight_decay=1e-2)
    modules = {"unet": unet, "text": text_encoder, "ema_unet": ema_unet, "ema_text": ema_text}
    state = load_state(state_path)
    if state:
        for key, module in modules.items():
            module.load_state_dict(state[key])
        opt.load_state_dict(state["opt"])
    probes: list[torch.Tensor] = []
    ema_params = [*ema_unet.parameters(), *ema_text.parameters()]
    start = state.get("step", 0)
    bar = tqdm(range(start, stage.steps), desc=stage.name, initial=start, total=stage.steps)
    with installed(unet, cross_attention_probes(unet, probes) if stage.grounding else {}):
        for step in bar:
            for group in opt.param_groups:
                group["lr"] = stage.lr * lr_factor(step, stage.steps, stage.warmup)
            loss, shown = batches.loss(step, unet, text_encoder, latents, probes, masks)
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
                weights = {key: module.state_dict() for key, module in modules.items()}
                save_state({**weights, "opt": opt.state_dict(), "step": step + 1}, state_path)


class Batches:
    """A U-Net stage's batches, drawn from a generator seeded by the step (so a resumed run draws what an
    uninterrupted one would have), and their loss."""

    def __init__(self, tokenizer, captions: list[tuple[str, str, str]], config: TrainConfig, stage: UNetStage):
        self.config, self.stage = config, stage
        self.ids = tokenizer(
            [c for triple in captions for c in triple],
            padding="max_length",
            max_length=MAX_TOKENS,
            truncation=True,
            return_tensors="pt",
        ).input_ids.view(len(captions), 3, MAX_TOKENS)
        self.owners = (
            torch.tensor([[object_tokens(c) for c in triple] for triple in captions]) if stage.grounding else None
        )
        self.caption_share = torch.tensor(
            [1 - config.plain_caption - config.colorless_caption, config.plain_caption, config.colorless_caption]
        )
        self.image_weights = None
        if stage.multi_object is not None:
            share, several = stage.multi_object, torch.tensor([" and " in triple[2] for triple in captions])
            self.image_weights = torch.where(several, share / several.sum(), (1 - share) / (~several).sum())
        self.empty_ids = tokenizer([""], padding="max_length", max_length=MAX_TOKENS, return_tensors="pt").input_ids
        self.noise_scheduler = DDPMScheduler(**{k: v for k, v in SD_SCHEDULER.items() if k != "set_alpha_to_one"})

    def loss(self, step: int, unet, text_encoder, latents: torch.Tensor, probes: list, masks) -> tuple:
        """The step's loss (min-SNR weighted denoising, plus grounding) and what the progress bar shows."""
        config, stage, batch = self.config, self.stage, self.config.unet_batch
        g = torch.Generator().manual_seed(config.seed * STAGE_SEEDS[stage.name] + step)
        if self.image_weights is None:
            index = torch.randint(len(latents), (batch,), generator=g)
        else:
            index = torch.multinomial(self.image_weights, batch, replacement=True, generator=g)
        clean = latents[index.to(latents.device)]
        kind = torch.multinomial(self.caption_share, batch, replacement=True, generator=g)
        empty = torch.rand(batch, 1, generator=g) < config.empty_caption
        tokens = torch.where(empty, self.empty_ids, self.ids[index, kind])
        t = torch.randint(0, self.noise_scheduler.config.num_train_timesteps, (batch,), generator=g)
        noise = torch.randn(clean.shape, generator=g).to(clean.device)
        noisy = self.noise_scheduler.add_noise(clean, noise, t.to(clean.device))
        probes.clear()
        pred = unet(noisy, t.to(clean.device), encoder_hidden_states=text_encoder(tokens.to(clean.device))[0]).sample
        alphas = self.noise_scheduler.alphas_cumprod
        snr = alphas[t] / (1 - alphas[t])
        weight = (torch.clamp(snr, max=config.min_snr) / snr).to(clean.device)
        loss = (weight * ((pred - noise) ** 2).mean(dim=(1, 2, 3))).mean()
        shown = {}
        if stage.grounding:
            owner = torch.where(empty, -1, self.owners[index, kind]).to(clean.device)
            attention = grounding_loss(probes, owner, masks[index].to(clean.device))
            loss = loss + stage.grounding * attention
            shown["attention"] = f"{attention.item():.3f}"
        return loss, shown
