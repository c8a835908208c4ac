"""Latent-space steps of the method: masks at latent resolution, reference blending, background restore."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from .branch_names import REFERENCE, SOURCE, TARGET, BranchName


def latent_coverage(mask: np.ndarray, latent_hw: tuple[int, int]) -> torch.Tensor:
    """Fraction of each latent cell covered by the pixel mask, shape 1x1xhxw."""
    pixels = torch.from_numpy(mask.astype(np.float32))[None, None]
    return F.adaptive_avg_pool2d(pixels, latent_hw)


def latent_mask(coverage: torch.Tensor, dilation: int) -> torch.Tensor:
    """Binary latent mask: every cell the object touches, grown by `dilation` cells."""
    mask = (coverage > 0).float()
    if dilation > 0:
        mask = F.max_pool2d(mask, 2 * dilation + 1, stride=1, padding=dilation)
    return mask


def masked_channel_stats(latents: torch.Tensor, weights: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-channel mean and std of `latents` (1xCxhxw) weighted by `weights` (1x1xhxw)."""
    total = weights.sum().clamp_min(1e-8)
    mean = (latents * weights).sum(dim=(2, 3), keepdim=True) / total
    var = ((latents - mean) ** 2 * weights).sum(dim=(2, 3), keepdim=True) / total
    return mean, var.sqrt()


def adain(
    x: torch.Tensor,
    mean: torch.Tensor,
    std: torch.Tensor,
    target_mean: torch.Tensor,
    target_std: torch.Tensor,
    eps: float = 1e-5,
) -> torch.Tensor:
    """AdaIN: `x` with statistics (mean, std) moved to (target_mean, target_std)."""
    return (x - mean) / (std + eps) * target_std + target_mean


class LatentBlend:
    """Step 6: blend a little of the reference into the target's object region while t >= tau * T.

    "statistics" moves the object's per-channel latent statistics toward the reference object's (its
    own region); "spatial" mixes the reference latent itself in, cell by cell, as the paper describes.
    """

    def __init__(
        self,
        ratio: float,
        mode: str,
        tau: float,
        target_mask: torch.Tensor,
        reference_mask: torch.Tensor,
        num_train_timesteps: int,
        target: BranchName = TARGET,
        reference: BranchName = REFERENCE,
    ):
        self.ratio, self.mode = ratio, mode
        self.threshold = tau * num_train_timesteps
        self.target_mask, self.reference_mask = target_mask, reference_mask
        self.target, self.reference = target, reference

    def __call__(self, step: int, timestep: int, latents: dict[BranchName, torch.Tensor]) -> None:
        if self.ratio == 0 or timestep < self.threshold:
            return
        target, reference = latents[self.target], latents[self.reference]
        if self.mode == "spatial":
            goal = reference
        else:
            mean, std = masked_channel_stats(target, self.target_mask)
            ref_mean, ref_std = masked_channel_stats(reference, self.reference_mask)
            goal = adain(target, mean, std, ref_mean, ref_std)
        latents[self.target] = target + self.ratio * self.target_mask * (goal - target)


class ExactSourceTrajectory:
    """Direct inversion (Ju et al. 2024): after every step the source branch is put back on its inversion
    trajectory, so the structure the target copies is the image's own, at no extra U-Net cost."""

    def __init__(self, trajectory: torch.Tensor):
        self.trajectory = trajectory

    def __call__(self, step: int, timestep: int, latents: dict[BranchName, torch.Tensor]) -> None:
        latents[SOURCE] = self.trajectory[len(self.trajectory) - 2 - step].unsqueeze(0)


class BackgroundRestore:
    """Step 7: from `start_step` on, the targets keep the source's latent outside the (dilated) mask."""

    def __init__(self, start_step: int, mask: torch.Tensor, targets: tuple[BranchName, ...] = (TARGET,)):
        self.start_step, self.mask, self.targets = start_step, mask, targets

    def __call__(self, step: int, timestep: int, latents: dict[BranchName, torch.Tensor]) -> None:
        if step >= self.start_step:
            for name in self.targets:
                latents[name] = self.mask * latents[name] + (1 - self.mask) * latents[SOURCE]


def masked_channel_covariance(latents: torch.Tensor, weights: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Weighted per-channel mean (C) and channel covariance (C x C) of 1xCxhxw latents."""
    x = latents[0].flatten(1)  # C x cells
    w = weights[0].flatten(1)  # 1 x cells
    total = w.sum().clamp_min(1e-8)
    mean = (x * w).sum(dim=1) / total
    centred = x - mean[:, None]
    return mean, (centred * w) @ centred.T / total


def _matrix_power(cov: torch.Tensor, power: float, eps: float = 1e-5) -> torch.Tensor:
    values, vectors = torch.linalg.eigh(cov.double())
    return (vectors * values.clamp_min(eps) ** power @ vectors.T).to(cov.dtype)


def whiten_color(
    x: torch.Tensor, mean: torch.Tensor, cov: torch.Tensor, target_mean: torch.Tensor, target_cov: torch.Tensor
) -> torch.Tensor:
    """Whitening-coloring transform of 1xCxhxw latents: the channels' joint mean and covariance moved
    to the target's (AdaIN matches each channel alone; color lives in how the channels co-vary)."""
    transform = _matrix_power(target_cov, 0.5) @ _matrix_power(cov, -0.5)
    flat = x[0].flatten(1) - mean[:, None]
    return (transform @ flat + target_mean[:, None]).reshape_as(x[0])[None]


class CleanColorTransfer:
    """[ours] x0-AdaIN: during the first `last_step` steps, the target's predicted clean latent inside the
    object takes the reference object's per-channel statistics. Statistics and update are weighted by
    the target mask's coverage of each cell; the reference's are taken over cells more than half its
    object, from its known clean latent or, when there is none, its own current x0 prediction."""

    def __init__(
        self,
        last_step: int,
        target_region: torch.Tensor,
        reference_region: torch.Tensor,
        reference_clean: torch.Tensor | None,
        match_std: bool,
        mode: str = "adain",
        target: BranchName = TARGET,
        reference: BranchName = REFERENCE,
    ):
        self.last_step, self.target_region, self.match_std, self.mode = last_step, target_region, match_std, mode
        self.target, self.reference = target, reference
        core = (reference_region > 0.5).float()
        self.reference_weights = core if core.sum() > 0 else reference_region
        self.reference_clean = reference_clean

    def __call__(self, step: int, timestep: int, clean: dict[BranchName, torch.Tensor]) -> None:
        if step >= self.last_step:
            return
        target = clean[self.target]
        reference = self.reference_clean if self.reference_clean is not None else clean[self.reference]
        if self.mode == "wct":
            mean, cov = masked_channel_covariance(target, self.target_region)
            ref_mean, ref_cov = masked_channel_covariance(reference, self.reference_weights)
            moved = whiten_color(target, mean, cov, ref_mean, ref_cov)
        else:
            mean, std = masked_channel_stats(target, self.target_region)
            ref_mean, ref_std = masked_channel_stats(reference, self.reference_weights)
            moved = adain(target, mean, std, ref_mean, ref_std if self.match_std else std)
        clean[self.target] = target + self.target_region * (moved - target)
