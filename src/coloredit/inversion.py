"""Inversions of an image into a DDIM trajectory, as small functions over a noise predictor.

Each returns an `Inversion`: the latent trajectory and what reconstructing it needs (the prompt
embeddings and, for null-text inversion, the optimized unconditional embedding of every step), which
can be saved and reused.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from safetensors.torch import load_file, save_file

from .config import EditConfig

# eps(latents, timestep, text_embeddings[, alpha]) -> predicted noise, batched over the first axis; `alpha`,
# the cumulative alpha the latents are at, is given where it is not the timestep's (DDIM inversion evaluates
# the model one step above the latents' level), for models whose output must be turned into noise.
NoisePredictor = Callable[..., torch.Tensor]


def ddim_step(
    latents: torch.Tensor, eps: torch.Tensor, alpha_from: torch.Tensor | float, alpha_to: torch.Tensor | float
) -> torch.Tensor:
    """Deterministic DDIM move between noise levels (alpha = cumulative alpha), either direction."""
    alpha_from, alpha_to = torch.as_tensor(alpha_from), torch.as_tensor(alpha_to)
    clean = (latents - (1 - alpha_from).sqrt() * eps) / alpha_from.sqrt()
    return alpha_to.sqrt() * clean + (1 - alpha_to).sqrt() * eps


def predicted_clean(latents: torch.Tensor, eps: torch.Tensor, alpha: torch.Tensor | float) -> torch.Tensor:
    """x0 predicted from z_t and eps."""
    alpha = torch.as_tensor(alpha)
    return (latents - (1 - alpha).sqrt() * eps) / alpha.sqrt()


class NoiseSchedule:
    """DDIM timesteps and the alphas between them, as diffusers' DDIMScheduler defines them."""

    def __init__(self, scheduler, num_inference_steps: int):
        scheduler.set_timesteps(num_inference_steps)
        self.timesteps = [int(t) for t in scheduler.timesteps]
        self.alphas_cumprod = scheduler.alphas_cumprod
        self.final_alpha = scheduler.final_alpha_cumprod
        self.stride = scheduler.config.num_train_timesteps // num_inference_steps
        self.num_train_timesteps = scheduler.config.num_train_timesteps

    def alpha(self, timestep: int) -> torch.Tensor:
        return self.alphas_cumprod[timestep] if timestep >= 0 else self.final_alpha

    def alphas(self, step: int) -> tuple[torch.Tensor, torch.Tensor]:
        """(alpha at the step's timestep, alpha at the next, less noisy, one)."""
        t = self.timesteps[step]
        return self.alpha(t), self.alpha(t - self.stride)

    def __len__(self) -> int:
        return len(self.timesteps)


@dataclass
class Inversion:
    """A latent trajectory: `latents[k]` is z after k inversion steps (0 = clean, -1 = z_T).

    Denoising step i (timestep `timesteps[i]`) goes from `latents[n - i]` to `latents[n - i - 1]`.
    `uncond_embeddings` holds one unconditional embedding per denoising step (null-text inversion), or
    is None when the plain empty-prompt embedding reconstructs the trajectory.
    """

    latents: torch.Tensor
    timesteps: list[int]
    prompt: str
    method: str
    guidance_scale: float
    uncond_embeddings: torch.Tensor | None = None

    @property
    def initial_latents(self) -> torch.Tensor:
        return self.latents[-1:]

    def save(self, path: str | Path) -> None:
        tensors = {"latents": self.latents.contiguous()}
        if self.uncond_embeddings is not None:
            tensors["uncond_embeddings"] = self.uncond_embeddings.contiguous()
        meta = {
            "timesteps": json.dumps(self.timesteps),
            "prompt": self.prompt,
            "method": self.method,
            "guidance_scale": str(self.guidance_scale),
        }
        save_file(tensors, str(path), metadata=meta)

    @classmethod
    def load(cls, path: str | Path) -> Inversion:
        from safetensors import safe_open

        with safe_open(str(path), framework="pt") as handle:
            meta = handle.metadata()
        tensors = load_file(str(path))
        return cls(
            latents=tensors["latents"],
            timesteps=json.loads(meta["timesteps"]),
            prompt=meta["prompt"],
            method=meta["method"],
            guidance_scale=float(meta["guidance_scale"]),
            uncond_embeddings=tensors.get("uncond_embeddings"),
        )


class InversionCache:
    """Inversions by content key, the least recently used dropped past `size`; safe across threads, so
    edits in several threads share one (a reference inverted once for all of them)."""

    def __init__(self, size: int = 8):
        self.size = size
        self._items: OrderedDict[str, Inversion] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: str) -> Inversion | None:
        with self._lock:
            if key not in self._items:
                return None
            self._items.move_to_end(key)
            return self._items[key]

    def put(self, key: str, inversion: Inversion) -> None:
        with self._lock:
            self._items[key] = inversion
            while len(self._items) > self.size:
                self._items.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()

    def __len__(self) -> int:
        return len(self._items)


def inversion_key(image, prompt: str, schedule: NoiseSchedule, config: EditConfig, method: str, model: tuple) -> str:
    """The cache key of inverting `image` (a PIL image at the working size) with `prompt` by `method` on `model`
    (what identifies the U-Net): its pixels and every setting the inversion depends on."""
    settings = [prompt, method, schedule.timesteps, str(image.size), *model]
    if method == "null-text":
        settings += [
            config.guidance_scale,
            config.null_text_inner_steps,
            config.null_text_lr,
            config.null_text_early_stop,
        ]
    digest = hashlib.sha256(np.asarray(image.convert("RGB")).tobytes())
    digest.update(json.dumps(settings, default=str).encode())
    return digest.hexdigest()


@torch.no_grad()
def ddim_inversion(
    eps: NoisePredictor, clean: torch.Tensor, cond: torch.Tensor, schedule: NoiseSchedule, progress: Callable = iter
) -> torch.Tensor:
    """The DDIM trajectory from clean latents up to z_T, conditioned on `cond` without guidance."""
    latents = [clean]
    n = len(schedule)
    for k in progress(range(n)):
        step = n - 1 - k  # the denoising step this inversion step undoes
        alpha_t, alpha_prev = schedule.alphas(step)
        noise = eps(latents[-1], schedule.timesteps[step], cond, alpha_prev)
        latents.append(ddim_step(latents[-1], noise, alpha_prev, alpha_t))
    return torch.cat(latents)


CleanEdit = Callable[[int, int, torch.Tensor], torch.Tensor]


def guided_ddim(
    eps: NoisePredictor,
    latents: torch.Tensor,
    cond: torch.Tensor,
    uncond_at: Callable[[int], torch.Tensor],
    schedule: NoiseSchedule,
    guidance_scale: float,
    before_step: Callable[[int, int], None] | None = None,
    edit_clean: CleanEdit | None = None,
    after_step: CleanEdit | None = None,
    progress: Callable = iter,
    guided: list[int] | None = None,
) -> torch.Tensor:
    """Classifier-free-guided DDIM sampling of a batch, one U-Net call per step: the unconditional rows
    of the `guided` batch entries (default: all), then the conditional rows of all; an entry outside
    `guided` steps with its conditional estimate alone (one row instead of two).

    Hooks: `before_step(step, t)` before the U-Net call; `edit_clean(step, t, x0)` may change the
    predicted clean latents before the step (the noise estimate is kept); `after_step(step, t, z)` may
    change the stepped latents. Without hooks this is exactly diffusers' DDIM with guidance.
    """
    guided = list(range(len(latents))) if guided is None else guided
    for step, timestep in enumerate(progress(schedule.timesteps)):
        if before_step is not None:
            before_step(step, timestep)
        embeddings = torch.cat([uncond_at(step)[guided], cond])
        noise = eps(torch.cat([latents[guided], latents]), timestep, embeddings)
        noise_uncond, noise = noise[: len(guided)], noise[len(guided) :].clone()
        noise[guided] = noise_uncond + guidance_scale * (noise[guided] - noise_uncond)
        alpha_t, alpha_prev = schedule.alphas(step)
        if edit_clean is None:
            latents = ddim_step(latents, noise, alpha_t, alpha_prev)
        else:
            clean = edit_clean(step, timestep, predicted_clean(latents, noise, alpha_t))
            latents = alpha_prev.sqrt() * clean + (1 - alpha_prev).sqrt() * noise
        if after_step is not None:
            latents = after_step(step, timestep, latents)
    return latents


def null_text_inversion(
    eps: NoisePredictor,
    trajectory: torch.Tensor,
    cond: torch.Tensor,
    uncond: torch.Tensor,
    schedule: NoiseSchedule,
    guidance_scale: float,
    inner_steps: int,
    lr: float,
    early_stop: float,
    progress: Callable = iter,
    loss_scale: float = 1.0,
) -> torch.Tensor:
    """Null-text inversion (Mokady et al. 2023): per step, optimize the unconditional embedding so the
    guided DDIM step from the current latent lands on the DDIM-inversion trajectory. Returns the
    embeddings, one per denoising step (n x tokens x dim).

    The embedding, loss and optimizer stay in float32 whatever the U-Net's dtype; with a half-precision
    U-Net, `loss_scale` keeps the tiny gradients from underflowing, and a step whose gradient is not
    finite is skipped with the scale halved (the failure that makes fp16 null-text inversion go NaN)."""
    n = len(schedule)
    latents = trajectory[-1:]
    embedding = uncond.detach().float().clone()
    optimized = []
    for step in progress(range(n)):
        t = schedule.timesteps[step]
        alpha_t, alpha_prev = schedule.alphas(step)
        goal = trajectory[n - step - 1 : n - step]
        embedding = embedding.detach().clone().requires_grad_(True)
        optimizer = torch.optim.Adam([embedding], lr=lr * (1.0 - step / 100.0))
        with torch.no_grad():
            noise_cond = eps(latents, t, cond)
        for _ in range(inner_steps):
            noise_uncond = eps(latents, t, embedding)
            noise = noise_uncond + guidance_scale * (noise_cond - noise_uncond)
            loss = F.mse_loss(ddim_step(latents, noise, alpha_t, alpha_prev).float(), goal.float())
            optimizer.zero_grad()
            (loss * loss_scale).backward()
            if not torch.isfinite(embedding.grad).all():
                loss_scale /= 2.0
                continue
            optimizer.step()
            if loss.item() < early_stop + step * 2e-5:
                break
        embedding = embedding.detach()
        optimized.append(embedding)
        with torch.no_grad():
            noise_uncond = eps(latents, t, embedding)
            noise = noise_uncond + guidance_scale * (noise_cond - noise_uncond)
            latents = ddim_step(latents, noise, alpha_t, alpha_prev)
    return torch.cat(optimized)


def shifted_trajectory(trajectory: torch.Tensor, clean: torch.Tensor, schedule: NoiseSchedule) -> torch.Tensor:
    """The trajectory the same noise gives another clean latent: z_k + sqrt(alpha_k) (clean - z_0), for a
    trajectory laid out as `Inversion.latents` (clean first). Exact for the forward process's marginals; for
    an image that differs from the inverted one only where it was recolored, a close stand-in for its own
    inversion at no U-Net cost."""
    n = len(schedule)
    alphas = torch.stack([torch.ones(())] + [schedule.alpha(schedule.timesteps[n - k]) for k in range(1, n + 1)])
    return trajectory + alphas.sqrt().to(trajectory)[:, None, None, None] * (clean - trajectory[:1])


def invert_image(
    pipe, image, prompt: str, schedule: NoiseSchedule, config: EditConfig, method: str | None = None
) -> Inversion:
    """Invert an image (already at the working size) with `pipe`'s model into a trajectory its prompt
    reconstructs (`config.inversion`'s method unless `method` is given).

    Results are kept in `pipe.inversion_cache` by content (image bytes, prompt, model, steps, method and its
    settings), so editing several objects or images to one reference inverts it once."""
    method = method or config.inversion
    key = inversion_key(image, prompt, schedule, config, method, model=(id(pipe.denoiser), pipe.name_or_path))
    cached = pipe.inversion_cache.get(key)
    if cached is not None:
        return cached
    cond = pipe.encode_text([prompt])
    trajectory = ddim_inversion(pipe.predict_noise, pipe.encode_image(image), cond, schedule, pipe.progress_bar)
    uncond = None
    if method == "negative-prompt":
        uncond = cond.expand(len(schedule), -1, -1)
    elif method == "null-text":
        with torch.enable_grad():
            uncond = null_text_inversion(
                pipe.predict_noise,
                trajectory,
                cond,
                pipe.encode_text([""]),
                schedule,
                config.guidance_scale,
                config.null_text_inner_steps,
                config.null_text_lr,
                config.null_text_early_stop,
                pipe.progress_bar,
                loss_scale=1024.0 if pipe.denoiser.dtype == torch.float16 else 1.0,
            )
    inversion = Inversion(trajectory, schedule.timesteps, prompt, method, config.guidance_scale, uncond)
    pipe.inversion_cache.put(key, inversion)
    return inversion
