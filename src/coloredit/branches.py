"""The rows of the joint denoising: what a branch is (source, reference, target), the image being edited, and
the order and names of the rows in the U-Net's batch.

Why a module: the source (step 1), the references (step 3) and the joint denoising (steps 4-7) all build or
read branches; the pipeline only calls those steps.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np
import torch
from PIL import Image

from . import exact, light
from .branch_names import BranchName
from .colors import prompt_color
from .images import rgb_pixels
from .inversion import Inversion


class Model(Protocol):
    """What the steps read of the pipeline: its model plumbing (`pipeline.ColorEditPipeline`)."""

    device: torch.device
    denoiser: torch.nn.Module  # the U-Net, or a flow model's transformer
    family: Any  # families.Family: how this model family encodes text and conditions the U-Net
    native_size: int  # the model's image size in pixels
    size_multiple: int  # a working size is a multiple of this

    def progress_bar(self, iterable=None, total: int | None = None): ...

    def initial_noise(self, seed: int, size: tuple[int, int]) -> torch.Tensor: ...
    def encode_text(self, prompts: list[str]) -> torch.Tensor: ...
    def encode_image(self, image: Image.Image) -> torch.Tensor: ...
    def decode(self, latents: torch.Tensor) -> Image.Image: ...
    def predict_noise(
        self, latents: torch.Tensor, timestep: int, embeddings: torch.Tensor, alpha: torch.Tensor | None = None
    ) -> torch.Tensor: ...
    def uncond_per_step(self, inversion: Inversion, empty: torch.Tensor, steps: int) -> torch.Tensor: ...
    def invert(self, image: Image.Image, prompt: str, schedule, config, method: str | None = None) -> Inversion: ...


@dataclass
class Branch:
    """One branch of the joint denoising: where it starts and how it is conditioned."""

    prompt: str
    initial_latents: torch.Tensor  # 1 x C x h x w
    cond: torch.Tensor  # 1 x tokens x dim
    uncond: torch.Tensor  # steps x tokens x dim: one unconditional embedding per step
    region: torch.Tensor | None = None  # 1 x 1 x h x w: how much of each latent cell is its object
    clean: torch.Tensor | None = None  # 1 x C x h x w: its clean latent, when known (an inverted image)
    target_rgb: tuple[int, int, int] | None = None  # the lit albedo it stands for (exact.py): the target color
    trajectory: torch.Tensor | None = None  # (steps + 1) x C x h x w: its inversion, clean first


@dataclass
class Source:
    """The image being edited: the user's (then `original` is set) or generated from prompt + seed."""

    branch: Branch
    work_size: tuple[int, int]
    original: Image.Image | None
    inversion: Inversion | None
    mask: np.ndarray | None = None  # the object's pixels at the original's size (step 2)
    decompositions: dict[tuple[int, int], exact.Decomposition] = field(default_factory=dict, repr=False)
    lights: dict[str, light.SceneLight] = field(default_factory=dict, repr=False)

    def decomposed(self, image: np.ndarray, mask: np.ndarray) -> exact.Decomposition:
        """The object's shade/albedo split (`exact.py`) at the image's size, made once for every color of
        a colorway (the image at one size is always the same one: the original, or it at the working size)."""
        size = image.shape[:2]
        if size not in self.decompositions:
            self.decompositions[size] = exact.decompose(image, mask, prompt_color(self.branch.prompt))
        return self.decompositions[size]

    def light(self, mode: str, pixels: np.ndarray | None = None) -> light.SceneLight:
        """The scene's light at the object (`light.py`), read once for every color from the original, or from
        `pixels` (a generated source's decoded image: it has no original)."""
        if mode not in self.lights:
            pixels = rgb_pixels(self.original) if pixels is None else pixels
            self.lights[mode] = light.scene_light(pixels, self.mask, prompt_color(self.branch.prompt), mode)
        return self.lights[mode]


def per_branch(names: tuple[BranchName, ...], callbacks: list, known: dict[BranchName, torch.Tensor] | None = None):
    """A sampler hook over the stacked batch that runs callbacks on {branch name: latents}. References that
    are not rows are read from their known trajectories at the level the step reached."""
    if not callbacks:
        return None

    def hook(step: int, timestep: int, stacked: torch.Tensor) -> torch.Tensor:
        latents = dict(zip(names, stacked.split(1), strict=True))
        for name, trajectory in (known or {}).items():
            latents[name] = trajectory[len(trajectory) - 2 - step].unsqueeze(0)
        for callback in callbacks:
            callback(step, timestep, latents)
        return torch.cat([latents[name] for name in names])

    return hook
