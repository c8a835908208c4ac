"""Flow-matching models (SD3, FLUX) in the method's DDIM terms: their schedule and their velocity as noise.

Why: every step of the method (inversions, guided sampling, the latent edits) is written for latents at a noise
level `alpha` (z = sqrt(alpha) x0 + sqrt(1 - alpha) eps) and a noise estimate. A flow model's latents lie on the
straight path x = (1 - s) x0 + s eps and it predicts the velocity v = eps - x0. Divided by
c = sqrt((1 - s)^2 + s^2), x is such a z with alpha = (1 - s)^2 / c^2; its noise is eps = x + (1 - s) v. There,
a DDIM step is exactly the flow's Euler step (both land on (1 - s') x0 + s' eps with the same x0 and eps), so
the method's steps run unchanged on flow models: they see normalized latents, and `FlowFamily` scales them
back to x for the transformer.
"""

from __future__ import annotations

import math

import numpy as np
import torch

SIGMA_MAX = 0.999  # the first level: at s = 1 the clean latent is 0/0 in noise terms (x0 = (x - s eps) / (1 - s))


def alpha_of(sigma: float | torch.Tensor) -> torch.Tensor:
    """The DDIM level of flow level `sigma` (the share of noise on the straight path)."""
    sigma = torch.as_tensor(sigma, dtype=torch.float64)
    return ((1 - sigma) ** 2 / ((1 - sigma) ** 2 + sigma**2)).float()


def sigma_of(alpha: torch.Tensor) -> torch.Tensor:
    """The flow level of DDIM level `alpha` (the inverse of `alpha_of`: (1 - s) / s = sqrt(alpha / (1 - alpha)))."""
    alpha = torch.as_tensor(alpha, dtype=torch.float64).clamp(0.0, 1.0)
    return (1.0 / (1.0 + (alpha / (1.0 - alpha).clamp_min(1e-300)).sqrt())).float()


def path_scale(sigma: torch.Tensor) -> torch.Tensor:
    """c(s): the straight path's x over the normalized latent z."""
    return ((1 - sigma) ** 2 + sigma**2).sqrt()


def noise_from_velocity(velocity: torch.Tensor, x: torch.Tensor, sigma: torch.Tensor) -> torch.Tensor:
    """eps = x + (1 - s) v, from v = eps - x0 and x = (1 - s) x0 + s eps."""
    return x + (1 - sigma.to(x.dtype)) * velocity


class FlowSchedule:
    """A flow scheduler's levels as `inversion.NoiseSchedule` gives DDIM's: timesteps (s x 1000, as the flow
    schedulers and pipelines of diffusers use them), the alpha of each, and the clean level after the last.

    The sigmas are those diffusers' FLUX and SD3 pipelines ask for (`linspace(1, 1/n, n)`, shifted by the
    scheduler, dynamically for `image_tokens` where its config says so), the first capped at `SIGMA_MAX`;
    `FluxPipeline(sigmas=schedule.requested)` samples at the same levels."""

    num_train_timesteps = 1000

    def __init__(self, scheduler, num_inference_steps: int, image_tokens: int):
        self.requested = np.linspace(SIGMA_MAX, 1.0 / num_inference_steps, num_inference_steps)
        options = {}
        if scheduler.config.get("use_dynamic_shifting"):
            options["mu"] = image_shift(scheduler.config, image_tokens)
        scheduler.set_timesteps(sigmas=self.requested, **options)
        self.sigmas = [float(s) for s in scheduler.sigmas]  # n + 1, the last 0
        self.timesteps = [float(t) for t in scheduler.timesteps]
        self.levels = [alpha_of(s) for s in self.sigmas]  # each sigma's alpha, the last 1 (clean)
        self._step_of = {t: step for step, t in enumerate(self.timesteps)}

    def alpha(self, timestep: float) -> torch.Tensor:
        return self.levels[self._step_of[timestep]] if timestep >= 0 else self.levels[-1]

    def alphas(self, step: int) -> tuple[torch.Tensor, torch.Tensor]:
        """(alpha at the step's level, alpha at the next, less noisy, one)."""
        return self.levels[step], self.levels[step + 1]

    def __len__(self) -> int:
        return len(self.timesteps)


def image_shift(config, image_tokens: int) -> float:
    """FLUX's resolution-dependent shift mu: linear in the image's token count between the config's two anchors
    (diffusers' `calculate_shift`, as `FluxPipeline` computes it)."""
    base_tokens, max_tokens = config.get("base_image_seq_len", 256), config.get("max_image_seq_len", 4096)
    base_shift, max_shift = config.get("base_shift", 0.5), config.get("max_shift", 1.15)
    slope = (max_shift - base_shift) / (max_tokens - base_tokens)
    return image_tokens * slope + base_shift - slope * base_tokens


def pack(latents: torch.Tensor) -> torch.Tensor:
    """B x C x H x W latents as FLUX's tokens: each 2 x 2 patch one token of 4C channels (B x HW/4 x 4C)."""
    b, c, h, w = latents.shape
    patches = latents.view(b, c, h // 2, 2, w // 2, 2).permute(0, 2, 4, 1, 3, 5)
    return patches.reshape(b, (h // 2) * (w // 2), c * 4)


def unpack(tokens: torch.Tensor, height: int, width: int) -> torch.Tensor:
    """`pack` undone, for latents of `height` x `width`."""
    b, _, channels = tokens.shape
    patches = tokens.view(b, height // 2, width // 2, channels // 4, 2, 2).permute(0, 3, 1, 4, 2, 5)
    return patches.reshape(b, channels // 4, height, width)


def image_ids(height: int, width: int, device, dtype) -> torch.Tensor:
    """FLUX's position ids of the packed tokens: (0, row, column) per 2 x 2 patch."""
    ids = torch.zeros(height // 2, width // 2, 3)
    ids[..., 1] = torch.arange(height // 2)[:, None]
    ids[..., 2] = torch.arange(width // 2)[None, :]
    return ids.reshape(-1, 3).to(device, dtype)


def tokens_of(size: int, multiple: int) -> int:
    """The packed image tokens of a square image of `size` pixels (`multiple` pixels a token side)."""
    return math.ceil(size / multiple) ** 2
