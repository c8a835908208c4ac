"""What edits and on how many threads: the pipeline (its model located first), or the engine alone."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from ..models import check_family, default_model, locate, native_size


def physical_cores() -> int:
    """Physical CPU cores this process may use (hyper-threads counted once), from Linux's topology files."""
    allowed = os.sched_getaffinity(0) if hasattr(os, "sched_getaffinity") else range(os.cpu_count() or 1)
    cores = set()
    for cpu in allowed:
        topology = Path(f"/sys/devices/system/cpu/cpu{cpu}/topology")
        try:
            cores.add(((topology / "physical_package_id").read_text(), (topology / "core_id").read_text()))
        except OSError:
            cores.add(("", str(cpu)))
    return max(1, len(cores))


def set_threads(threads: int | None) -> None:
    """Spinning OpenMP threads on a busy machine made CPU runs 14x slower: wait passively, one thread a
    physical core, unless --threads or OMP_NUM_THREADS says otherwise. Said through the environment, so torch
    reads it when a command first needs it (bad input must not wait for torch to import)."""
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    from_env = os.environ.get("OMP_NUM_THREADS", "")
    count = threads or (int(from_env) if from_env.isdigit() and int(from_env) > 0 else physical_cores())
    os.environ["OMP_NUM_THREADS"] = str(count)
    if sys.modules.get("torch") is not None:  # already loaded (the CLI called from Python): tell it directly
        sys.modules["torch"].set_num_threads(count)


def editor(args: argparse.Namespace, config):
    """What edits: the engine alone when `engine` is exact (no model is loaded); with `auto`, the engine alone
    wherever it can and the model loaded only for an edit that needs it; else the pipeline."""
    attention_mask = getattr(args, "mask_text", None) and not getattr(args, "detector_model", None)
    if attention_mask or config.engine == "diffusion":  # a phrase's mask is read from the model's attention
        return load_pipeline(args.model, args.device, args.dtype, args.offload)
    from ..engine import ExactEditor, ModelOnDemand

    if config.engine == "exact":
        return ExactEditor()
    where = locate(args.model or default_model())
    check_family(where)  # a family we cannot run is one line now, not after the engine's edits
    return ModelOnDemand(lambda: load_pipeline(where, args.device, args.dtype, args.offload), native_size(where))


def load_pipeline(model: str | None, device: str | None, dtype: str, offload: str = "none"):
    """The pipeline, its model located first: a model that cannot be had is one line before torch loads."""
    where = locate(model or default_model())
    from ..devices import load_pipeline as load  # here, not at the top: `--help` must not import torch

    return load(where, device, dtype, offload)
