"""Instruction editors through diffusers, for comparison, when the user gives their model (folder or hub id):
InstructPix2Pix (Brooks et al. 2023), FLUX.1 Kontext (Black Forest Labs 2025) and Qwen-Image-Edit (Qwen 2025).

Why one module: each is "load a diffusers pipeline, tell it 'make the {object} {color}', resize back"; what
differs is the pipeline class, its guidance options and how many denoiser rows a step costs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import torch
from PIL import Image

from ..manifest import Sample
from .base import Edited


@dataclass
class InstructionEditor:
    """One editor: `pipeline` (a diffusers class name) loaded from `model`, called with the instruction, the
    source image and `options`; `rows_per_step` denoiser rows a step (its guidance branches)."""

    model: str
    name: str
    description: str
    pipeline: str
    rows_per_step: int
    options: dict = field(default_factory=dict)
    load_options: dict = field(default_factory=dict)
    steps: int = 50

    def __post_init__(self) -> None:
        self._pipe = None

    def feather(self, overrides: dict | None = None) -> float:
        return 0.0  # no paste-back: it redraws the whole image

    def edit(self, pipe, sample: Sample, root: Path, overrides: dict | None = None) -> Edited:
        steps = (overrides or {}).get("num_inference_steps", self.steps)
        if self._pipe is None:
            import diffusers

            loader = getattr(diffusers, self.pipeline)
            self._pipe = loader.from_pretrained(
                self.model, use_safetensors=True, dtype=pipe.denoiser.dtype, **self.load_options
            ).to(pipe.device)
            self._pipe.set_progress_bar_config(disable=True)
        source = Image.open(sample.path(root, "source")).convert("RGB")
        result = self._pipe(
            prompt=f"make the {sample.object} {sample.target_color}",
            image=source,
            num_inference_steps=steps,
            generator=torch.Generator("cpu").manual_seed(sample.seed),
            **self.options,
        ).images[0]
        return Edited(result.resize(source.size), self.rows_per_step * steps)


def editors(models: dict[str, str]) -> dict[str, InstructionEditor]:
    """The editors whose model is given, by method name ("ip2p", "kontext", "qwen-edit")."""
    made = {
        "ip2p": lambda model: InstructionEditor(
            model,
            "ip2p",
            "InstructPix2Pix: 'make the {object} {color}'",
            "StableDiffusionInstructPix2PixPipeline",
            rows_per_step=3,  # text and image, image, neither
            load_options={"safety_checker": None},
        ),
        "kontext": lambda model: InstructionEditor(
            model,
            "kontext",
            "FLUX.1 Kontext: 'make the {object} {color}'",
            "FluxKontextPipeline",
            rows_per_step=1,  # distilled guidance, one row
            options={"guidance_scale": 2.5},
            steps=28,
        ),
        "qwen-edit": lambda model: InstructionEditor(
            model,
            "qwen-edit",
            "Qwen-Image-Edit: 'make the {object} {color}'",
            "QwenImageEditPipeline",
            rows_per_step=2,  # true classifier-free guidance
            options={"true_cfg_scale": 4.0, "negative_prompt": " "},
        ),
    }
    return {name: made[name](model) for name, model in models.items() if model}


EDITOR_OPTIONS = {"ip2p": "--ip2p-model", "kontext": "--kontext-model", "qwen-edit": "--qwen-edit-model"}
