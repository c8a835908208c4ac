"""Where a pipeline runs: the one loader both front ends (the CLI and the app) call, with their device and
dtype rules (this process's GPU under a launcher; on a GPU float16, bfloat16 for a flow transformer)."""

from __future__ import annotations

import os
from pathlib import Path

import torch

from .models import locate
from .pipeline import ColorEditPipeline


def load_pipeline(model: str | Path, device: str | None = None, dtype: str = "auto") -> ColorEditPipeline:
    """The pipeline of `model` on `device` (default: this process's GPU under a launcher, else the CPU), in
    `dtype` ("auto": float32 on the CPU; on a GPU float16, or bfloat16 for FLUX and SD3, whose activations
    overflow float16's range)."""
    if device is None:
        device = f"cuda:{os.environ.get('LOCAL_RANK', 0)}" if torch.cuda.is_available() else "cpu"
    if dtype == "auto":
        flow = (Path(locate(model)) / "transformer").is_dir()
        dtype = "float32" if not device.startswith("cuda") else "bfloat16" if flow else "float16"
    return ColorEditPipeline.from_pretrained(model, dtype=getattr(torch, dtype)).to(device)
