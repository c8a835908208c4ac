"""`python -m coloredit.toy train|detector|evaluate|render-pbr|train-light`: train the toy model and the detector
that scores it, score its generations and reconstructions, render the physically based world's training scenes
and fit the light model on them. (The ablation on the toy world runs through the benchmark: `coloredit bench
ablation`.)"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from dataclasses import fields
from pathlib import Path


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m coloredit.toy")
    commands = parser.add_subparsers(dest="command", required=True)
    train = commands.add_parser("train", help="train the toy model (resumable) and write a pipeline folder")
    train.add_argument("--out", type=Path, default=Path("src/coloredit/assets/toy"))
    train.add_argument("--work", type=Path, default=Path("runs/toy-train"), help="checkpoints (resume from here)")
    train.add_argument("--threads", type=int, default=2)
    train.add_argument("--device", default="cpu", help="where the models learn, e.g. cuda")
    train.add_argument(
        "--stages",
        default="vae,unet,grounding,decoder",
        help="stages to run now, comma-separated; after 'vae', 'unet' (then 'grounding') and 'decoder' can run at once",
    )
    train.add_argument("--init", type=Path, help="start the U-Net stage from these averages (unet-average.pt)")
    from .train import TrainConfig

    for f in fields(TrainConfig):
        train.add_argument(f"--{f.name.replace('_', '-')}", type=type(f.default), default=f.default)
    add_measuring(commands)
    return parser


def add_measuring(commands) -> None:
    """The subcommands that measure or make data: detector, evaluate, render-pbr, train-light."""
    detector = commands.add_parser("detector", help="train the object detector that scores generations")
    detector.add_argument("--out", type=Path, default=None, help="default: the shipped detector's path")
    detector.add_argument("--steps", type=int, default=4000)
    detector.add_argument("--images", type=int, default=8000)
    detector.add_argument("--threads", type=int, default=1)
    evaluate = commands.add_parser("evaluate", help="VAE round trip, generation and no-edit reconstruction")
    evaluate.add_argument("--model", default="toy")
    evaluate.add_argument("--scenes", type=int, default=100, help="held-out scenes of each style")
    evaluate.add_argument("--per-pair", type=int, default=2, help="samples per (color word, shape) pair")
    evaluate.add_argument("--two-object", type=int, default=60, help="two-object prompts")
    evaluate.add_argument("--reconstructions", type=int, default=24, help="no-edit reconstructions per style")
    evaluate.add_argument("--masks", type=int, default=40, help="two-object scenes per style for text masks")
    evaluate.add_argument("--threads", type=int, default=1)
    evaluate.add_argument("--out", type=Path, default=None, help="also write the report as JSON here")
    render = commands.add_parser("render-pbr", help="render training scenes of the physically based world (resumable)")
    render.add_argument("--out", type=Path, default=Path("runs/pbr/train"))
    render.add_argument("--n", type=int, default=2000, help="scenes")
    render.add_argument("--size", type=int, default=128)
    render.add_argument("--spp", type=int, default=64)
    fit = commands.add_parser("train-light", help="fit the light model (coloredit.light) on the training scenes")
    fit.add_argument("--data", type=Path, default=Path("runs/pbr/train"))
    fit.add_argument("--out", type=Path, default=None, help="default: the shipped light model's path")


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command == "train-light":
        from ..light import WEIGHTS
        from .train_light import train_light

        print(json.dumps(train_light(args.data, args.out or WEIGHTS), indent=1))
        return 0
    if args.command == "render-pbr":
        from .pbr_data import render_training_set

        rank, world = int(os.environ.get("RANK", 0)), int(os.environ.get("WORLD_SIZE", 1))
        done = render_training_set(args.out, args.n, args.size, args.spp, rank, world)
        print(f"{done} training scenes in {args.out}", file=sys.stderr)
        return 0

    if args.command in ("detector", "train"):
        return train_command(args, parser)
    return model_command(args, parser)


def train_command(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    """Train the detector or the toy model."""
    import torch

    from .train import TrainConfig

    if args.command == "detector":
        from .detector import DETECTOR, train_detector

        os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
        torch.set_num_threads(args.threads)
        print(f"wrote {train_detector(args.out or DETECTOR, images=args.images, steps=args.steps)}", file=sys.stderr)
        return 0
    if args.command == "train":
        os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
        torch.set_num_threads(args.threads)
        config = TrainConfig(**{f.name: getattr(args, f.name) for f in fields(TrainConfig)})
        started = time.perf_counter()
        from .train_run import STAGES
        from .train_run import train as run_training

        stages = tuple(filter(None, args.stages.split(",")))  # none: only write the folder
        if set(stages) - set(STAGES):
            parser.error(f"--stages: choose from {','.join(STAGES)}")
        out = run_training(args.out, args.work, config, stages, args.device, args.init)
        seconds = time.perf_counter() - started
        done = f"wrote {out}" if out else f"stages {args.stages} done (the others are not)"
        print(f"{done} in {seconds:.0f} s", file=sys.stderr)
        return 0


def model_command(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    """Measure the toy model: its evaluation."""
    import torch

    from ..pipeline import ColorEditPipeline

    pipe = ColorEditPipeline.from_pretrained(args.model)
    pipe.set_progress_bar_config(disable=True)
    from .evaluate import evaluate as run_evaluation

    torch.set_num_threads(args.threads)
    report = run_evaluation(pipe, args.scenes, args.per_pair, args.two_object, args.reconstructions, args.masks)
    text = json.dumps(report, indent=1)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text + "\n")
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
