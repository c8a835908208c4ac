"""Where a pipeline runs: the one loader both front ends (the CLI and the app) call, with their device and
dtype rules (this process's GPU under a launcher; on a GPU float16, bfloat16 for a flow transformer)."""

from __future__ import annotations

import os
from pathlib import Path

import torch

from .models import OFFLOADS, default_model, locate
from .pipeline import ColorEditPipeline


def load_pipeline(
    model: str | Path | None, device: str | None = None, dtype: str = "auto", offload: str = "none"
) -> ColorEditPipeline:
    """The pipeline of `model` on `device` (default: this process's GPU under a launcher, else the CPU), in
    `dtype` ("auto": float32 on the CPU; on a GPU float16, or bfloat16 for FLUX and SD3, whose activations
    overflow float16's range). `offload="model"` (diffusers' model CPU offload, for models that do not fit the GPU
    together) keeps each model in CPU memory until it runs: only the largest must fit."""
    if offload not in OFFLOADS:
        raise ValueError(f"offload must be one of {', '.join(OFFLOADS)}, not {offload!r}")
    if device is None:
        device = f"cuda:{os.environ.get('LOCAL_RANK', 0)}" if torch.cuda.is_available() else "cpu"
    if dtype == "auto" and device.startswith("cuda"):
        model = locate(model or default_model())  # once: the loader below takes the folder as it is
        dtype = "bfloat16" if (Path(model) / "transformer").is_dir() else "float16"
    elif dtype == "auto":
        dtype = "float32"
    pipe = ColorEditPipeline.from_pretrained(model, dtype=getattr(torch, dtype))
    if offload == "model":
        pipe.enable_model_cpu_offload(device=device)
    else:
        pipe.to(device)
    return pipe
