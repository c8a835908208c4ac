"""Model families: what differs between Stable Diffusion generations, behind one small adapter.

Why: the method's steps (inversion, the denoising loop, the attention edits) are written for noise
predictions. SD 1.x predicts noise; SD 2.x (768 px) predicts v; SDXL adds pooled embeddings and size
conditioning; SD3 and FLUX are transformers with flow matching. `noise_from_output` turns what the U-Net
says into noise, so every step stays one; `check_family` refuses, with one line, a folder whose family is not
supported yet, before any weights load.
"""

from __future__ import annotations

import json
from pathlib import Path

import torch

from .errors import ColorEditError

SUPPORTED = ("StableDiffusionPipeline", "ColorEditPipeline", "StableDiffusionImg2ImgPipeline")
SUPPORTED_TEXT = "Stable Diffusion 1.x and 2.x (noise or v prediction), in diffusers format"


def check_family(folder: str | Path) -> None:
    """A ColorEditError naming what is supported, for a local diffusers folder of another family."""
    index = Path(folder) / "model_index.json"
    if not index.is_file():
        return  # a hub id: its index is read by diffusers, and an unknown layout fails there
    name = json.loads(index.read_text()).get("_class_name", "")
    if name and name not in SUPPORTED:
        raise ColorEditError(f"{folder} is a {name} model; coloredit supports {SUPPORTED_TEXT}")


def noise_from_output(output: torch.Tensor, latents: torch.Tensor, alpha: torch.Tensor, prediction_type: str):
    """The noise estimate from a U-Net output: as is for "epsilon"; from v for "v_prediction"
    (v = sqrt(a) eps - sqrt(1 - a) x0, so eps = sqrt(a) v + sqrt(1 - a) x_t, a the cumulative alpha)."""
    if prediction_type == "epsilon":
        return output
    if prediction_type == "v_prediction":
        alpha = alpha.to(output.dtype)
        return alpha.sqrt() * output + (1 - alpha).sqrt() * latents
    raise ColorEditError(f"prediction type {prediction_type!r} is not supported ({SUPPORTED_TEXT})")
