"""InstructPix2Pix (Brooks et al. 2023) through diffusers, when the user gives its model (folder or id)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch
from PIL import Image

from ..manifest import Sample
from .base import Edited


@dataclass
class InstructPix2Pix:
    model: str
    name: str = "ip2p"
    description: str = "InstructPix2Pix: 'make the {object} {color}'"
    steps: int = 50

    def __post_init__(self) -> None:
        self._pipe = None

    def feather(self, overrides: dict | None = None) -> float:
        return 0.0  # no paste-back: it redraws the whole image

    def edit(self, pipe, sample: Sample, root: Path, overrides: dict | None = None) -> Edited:
        if self._pipe is None:
            from diffusers import StableDiffusionInstructPix2PixPipeline

            self._pipe = StableDiffusionInstructPix2PixPipeline.from_pretrained(
                self.model, use_safetensors=True, safety_checker=None, dtype=pipe.unet.dtype
            ).to(pipe.device)
            self._pipe.set_progress_bar_config(disable=True)
        source = Image.open(sample.path(root, "source")).convert("RGB")
        generator = torch.Generator("cpu").manual_seed(sample.seed)
        result = self._pipe(
            f"make the {sample.object} {sample.target_color}",
            image=source,
            num_inference_steps=self.steps,
            generator=generator,
        ).images[0]
        return Edited(result.resize(source.size), 3 * self.steps)  # rows a step: text and image, image, neither
