"""`python -m coloredit.toy train|evaluate|ablation`: train the toy model, score its generations, compare
color sources on held-out edits."""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from dataclasses import fields
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m coloredit.toy")
    commands = parser.add_subparsers(dest="command", required=True)
    train = commands.add_parser("train", help="train the toy model (resumable) and write a pipeline folder")
    train.add_argument("--out", type=Path, default=Path("src/coloredit/assets/toy"))
    train.add_argument("--work", type=Path, default=Path("runs/toy-train"), help="checkpoints (resume from here)")
    train.add_argument("--threads", type=int, default=2)
    from .train import TrainConfig

    for f in fields(TrainConfig):
        train.add_argument(f"--{f.name.replace('_', '-')}", type=type(f.default), default=f.default)
    evaluate = commands.add_parser("evaluate", help="score generation: color and shape accuracy")
    evaluate.add_argument("--model", default="toy")
    evaluate.add_argument("--per-pair", type=int, default=4, help="samples per (color, shape) pair")
    evaluate.add_argument("--steps", type=int, default=50)
    evaluate.add_argument("--guidance", type=float, default=7.5)
    ablation = commands.add_parser("ablation", help="compare color sources on held-out edits; write docs/ablation.md")
    ablation.add_argument("--model", default="toy")
    ablation.add_argument("--edits", type=int, default=48)
    ablation.add_argument("--out", type=Path, default=Path("docs/ablation.md"))
    ablation.add_argument("--threads", type=int, default=1)
    ablation.add_argument("--store", type=Path, default=Path("runs/ablation"), help="measured variants (resume)")
    ablation.add_argument("--variants", help="only these variants, names separated by '|'")
    ablation.add_argument("--report-only", action="store_true", help="write the report from stored variants")
    args = parser.parse_args(argv)

    import torch

    if args.command == "train":
        os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
        torch.set_num_threads(args.threads)
        config = TrainConfig(**{f.name: getattr(args, f.name) for f in fields(TrainConfig)})
        started = time.perf_counter()
        from .train import train as run_training

        out = run_training(args.out, args.work, config)
        print(f"wrote {out} in {time.perf_counter() - started:.0f} s", file=sys.stderr)
        return 0
    from ..pipeline import ColorEditPipeline

    pipe = ColorEditPipeline.from_pretrained(args.model)
    pipe.set_progress_bar_config(disable=True)
    if args.command == "ablation":
        from .ablation import VARIANTS, run_ablation

        torch.set_num_threads(args.threads)
        pipe.inversion_cache_size = 10 * args.edits  # every method's inversions of sources and references
        chosen = VARIANTS
        if args.variants:
            unknown = set(args.variants.split("|")) - set(VARIANTS)
            if unknown:
                parser.error(f"unknown variants: {sorted(unknown)}; choose from {list(VARIANTS)}")
            chosen = {name: VARIANTS[name] for name in args.variants.split("|")}
        run_ablation(pipe, args.edits, args.out, chosen, store=args.store, measure=not args.report_only)
        print(f"wrote {args.out}", file=sys.stderr)
        return 0
    from .evaluate import score_generation

    print(json.dumps(score_generation(pipe, args.per_pair, args.steps, args.guidance), indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
