"""Seconds per step of the toy U-Net stage and of the grounding stage on a device, timed through the real
training loop (`fit_unet`) on random latents and masks, so that `tools/gpu-train-toy.sh` can size its stages to
a GPU lease. Prints one JSON line: {"unet": s, "grounding": s, "batch": n, "device": name}."""

from __future__ import annotations

import argparse
import copy
import json
import tempfile
import time
from pathlib import Path

import torch

from coloredit.toy.models import MAX_TOKENS, toy_text_encoder, toy_tokenizer, toy_unet
from coloredit.toy.render import sample_scene
from coloredit.toy.train import TrainConfig
from coloredit.toy.train_unet import UNetStage, fit_unet

WARM_STEPS, TIMED_STEPS = 20, 60


def seconds_per_step(stage: UNetStage, config: TrainConfig, device: str, work: Path) -> float:
    """Run `WARM_STEPS` steps, then time `TIMED_STEPS` more (resumed from the checkpoint, as a long run saves
    them; the end-of-stage save included)."""
    tokenizer = toy_tokenizer()
    unet, text_encoder = toy_unet().to(device), toy_text_encoder(tokenizer).to(device)
    models = (unet, text_encoder, copy.deepcopy(unet), copy.deepcopy(text_encoder), tokenizer)
    latents = torch.randn(1024, 4, 16, 16, device=device)
    captions = [sample_scene(seed).captions(MAX_TOKENS - 2) for seed in range(1024)]
    masks = torch.rand(1024, 3, 16, 16)
    state = work / f"{stage.name}.pt"
    fit_unet(*models, latents, captions, config, UNetStage(**{**vars(stage), "steps": WARM_STEPS}), state, masks)
    if device.startswith("cuda"):
        torch.cuda.synchronize()
    start = time.perf_counter()
    fit_unet(*models, latents, captions, config, stage, state, masks)
    if device.startswith("cuda"):
        torch.cuda.synchronize()
    return (time.perf_counter() - start) / TIMED_STEPS


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--unet-batch", type=int, default=TrainConfig.unet_batch)
    args = parser.parse_args()
    config = TrainConfig(unet_batch=args.unet_batch)
    steps = WARM_STEPS + TIMED_STEPS
    stages = {
        "unet": UNetStage("unet", steps, config.unet_lr, config.warmup),
        "grounding": UNetStage("grounding", steps, config.grounding_lr, 50, config.grounding_weight, 0.7),
    }
    with tempfile.TemporaryDirectory() as work:
        times = {name: seconds_per_step(stage, config, args.device, Path(work)) for name, stage in stages.items()}
    name = torch.cuda.get_device_name() if args.device.startswith("cuda") else args.device
    print(json.dumps({**times, "batch": config.unet_batch, "device": name}))


if __name__ == "__main__":
    main()
