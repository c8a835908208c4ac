"""`coloredit bench`: build, run and report COLORBENCH."""

from __future__ import annotations

import argparse
import json
import sys

from ..config import preset
from ..errors import ColorEditError
from .loading import load_pipeline


def run_bench(args: argparse.Namespace) -> int:
    from ..bench import build, methods, report, run

    command = args.bench_command
    if command == "methods":
        for method in methods.get_methods():
            print(f"{method.name}\t{method.description}")
        print("ip2p\tInstructPix2Pix through diffusers (with --ip2p-model)")
        print("kontext\tFLUX.1 Kontext through diffusers (with --kontext-model)")
        print("qwen-edit\tQwen-Image-Edit through diffusers (with --qwen-edit-model)")
        return 0
    if command == "report":
        print(report.write_report(args.results, args.bench, args.grid_samples))
        return 0
    if command == "ablation":
        return run_ablation(args)
    if command == "import-pie":
        samples = build.import_pie(args.path, args.out)
        print(f"wrote {len(samples)} samples to {args.out}", file=sys.stderr)
        return 0
    if command == "build":
        if (args.world is None) == (args.model is None):
            raise ColorEditError("bench build takes --world pbr or --model, one of them")
        if args.world == "pbr":
            from ..bench.pbr import build_pbr

            rank, world = run.process_split()
            samples = build_pbr(args.out, args.n, args.split, args.size, args.spp, rank, world)
            print(f"{len(samples)} samples in {args.out}", file=sys.stderr)
            return 0
        if args.model == "toy":
            from ..bench.toy_sets import TOY_SEED, build_toy

            samples = build_toy(args.out, args.n, seed=TOY_SEED + args.seed)
        else:
            pipe = load_pipeline(args.model, None, "auto")
            pipe.set_progress_bar_config(disable=True)
            kwargs = {k: tuple(getattr(args, k).split(",")) for k in ("objects", "colors") if getattr(args, k)}
            samples = build.build_synthetic(pipe, args.out, args.n, seed=args.seed, steps=args.steps, **kwargs)
        (args.out / "bench.json").write_text(json.dumps({"model": args.model, "samples": len(samples)}))
        print(f"wrote {len(samples)} samples to {args.out}", file=sys.stderr)
        return 0
    from ..bench.manifest import load_manifest

    load_manifest(args.bench)  # validate before loading any model
    if args.limit is not None and args.limit < 1:
        raise ColorEditError("--limit must be at least 1")
    info = args.bench / "bench.json"
    model = args.model or (json.loads(info.read_text())["model"] if info.exists() else None)
    if model is None:
        raise ColorEditError(f"{args.bench} does not say which model built it: pass --model")
    chosen = methods.get_methods(
        args.methods.split(",") if args.methods else None,
        args.ip2p_model,
        kontext_model=args.kontext_model,
        qwen_edit_model=args.qwen_edit_model,
    )
    overrides = {"num_inference_steps": args.steps} if args.steps else {}
    overrides.update(vars(preset("paper").with_overrides(args.overrides)) if args.overrides else {})
    overrides = {
        k: v
        for k, v in overrides.items()
        if k == "num_inference_steps" or any(a.split("=")[0].strip().replace("-", "_") == k for a in args.overrides)
    }
    from ..bench.metrics import model_metrics, pixel_metrics

    metrics = pixel_metrics() + model_metrics(args.dino, args.clip, args.lpips)
    pipe = load_pipeline(model, args.device, args.dtype)
    pipe.set_progress_bar_config(disable=True)
    rank, world = run.process_split()
    merged = run.run_benchmark(
        pipe, args.bench, args.out, chosen, metrics, overrides, rank=rank, world=world, limit=args.limit
    )
    print(f"results in {merged}", file=sys.stderr)
    return 0


def run_ablation(args: argparse.Namespace) -> int:
    """`bench ablation`: the sets asked for, every chosen variant measured (or, --report-only, read back)."""
    import torch

    from ..bench.ablation import VARIANTS
    from ..bench.ablation import run_ablation as ablation

    chosen = args.variants.split("|") if args.variants else list(VARIANTS)
    unknown = sorted(set(chosen) - set(VARIANTS))
    if unknown:
        raise ColorEditError(f"unknown variants: {unknown}; choose from {list(VARIANTS)}")
    chosen_counts = (("tune", args.tune), ("test", args.test), ("ood", args.ood), ("generated", args.generated))
    counts = {split: n for split, n in chosen_counts if n}
    if not counts or any(n < 0 for _, n in chosen_counts):
        raise ColorEditError("give at least one set a positive number of edits (--tune/--test/--ood/--generated)")
    torch.set_num_threads(args.threads)
    pipe = load_pipeline(args.model, None, "auto")
    pipe.set_progress_bar_config(disable=True)
    ablation(pipe, counts, args.out, chosen, store=args.store, measure=not args.report_only)
    print(f"wrote {args.out}", file=sys.stderr)
    return 0
