"""Where a pipeline runs: the one loader both front ends (the CLI and the app) call, with their device and
dtype rules (this process's GPU under a launcher, float16 on a GPU)."""

from __future__ import annotations

import os
from pathlib import Path

import torch

from .pipeline import ColorEditPipeline


def load_pipeline(model: str | Path, device: str | None = None, dtype: str = "auto") -> ColorEditPipeline:
    """The pipeline of `model` on `device` (default: this process's GPU under a launcher, else the CPU), in
    `dtype` ("auto": float16 on a GPU, float32 on the CPU)."""
    if device is None:
        device = f"cuda:{os.environ.get('LOCAL_RANK', 0)}" if torch.cuda.is_available() else "cpu"
    if dtype == "auto":
        dtype = "float16" if device.startswith("cuda") else "float32"
    return ColorEditPipeline.from_pretrained(model, dtype=getattr(torch, dtype)).to(device)
