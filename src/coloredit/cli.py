"""`coloredit` commands: parse, call the library, print. No method logic lives here."""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import NamedTuple

import numpy as np

from .config import (
    DEFAULT_PRESET,
    DEFAULT_SAM,
    ENGINES,
    INVERSIONS,
    MASK_REFINES,
    OUTPUT_PROFILES,
    PRESETS,
    preset,
)
from .errors import ColorEditError
from .models import DEFAULT_RULE, default_model, locate


def build_parser() -> argparse.ArgumentParser:
    from . import __version__

    parser = argparse.ArgumentParser(
        prog="coloredit", description="Recolor an object in an image with Stable Diffusion."
    )
    parser.add_argument("--version", action="version", version=f"coloredit {__version__}")
    parser.add_argument(
        "--threads", type=int, help="CPU threads for torch (default: OMP_NUM_THREADS, else the physical cores)"
    )
    commands = parser.add_subparsers(dest="command", required=True)

    edit = commands.add_parser(
        "edit",
        help="recolor the masked object(s) of an image",
        description="Recolor the masked object of IMAGE to a reference image's color or "
        "a named color. Repeat --mask with --color/--reference for several "
        "objects, edited one after another.",
    )
    edit.add_argument("image", metavar="IMAGE", help="the image to edit")
    edit.add_argument(
        "--mask",
        action="append",
        default=[],
        help="object mask (white = object, thresholded at 50%%); any size of the image's aspect ratio",
    )
    _mask_prompts(edit, "--mask-text", "in place of --mask: ")
    source = edit.add_mutually_exclusive_group(required=True)
    source.add_argument("--reference", action="append", help="reference color image")
    source.add_argument(
        "--color", action="append", help="target color, reached exactly: CSS name, #rrggbb or r,g,b (the lit albedo)"
    )
    edit.add_argument(
        "--reference-prompt",
        help="prompt describing the reference (default: the source prompt with the reference's nearest color word)",
    )
    edit.add_argument(
        "--reference-mask",
        help="where the color is in the reference image (default: its alpha, else its object found automatically)",
    )
    edit.add_argument(
        "--reference-text", metavar="PHRASE", help="in place of --reference-mask: the object a phrase names"
    )
    edit.add_argument(
        "--reference-point",
        action="append",
        default=[],
        metavar="X,Y",
        help="in place of --reference-mask: a click (SAM)",
    )
    edit.add_argument("--reference-box", metavar="X0,Y0,X1,Y1", help="in place of --reference-mask: a box (SAM)")
    edit.add_argument(
        "--prompt",
        action="append",
        required=True,
        help="prompt describing IMAGE, e.g. 'a red car'; or one per --mask, each naming its object",
    )
    _run_options(edit)
    edit.add_argument("--seed", type=int, default=0)
    edit.add_argument("--inversion", choices=INVERSIONS, help="how IMAGE is inverted (default: the preset's, direct)")
    edit.add_argument("-o", "--output", help="output PNG (default: IMAGE's name + _edited.png, here)")
    edit.add_argument("--force", action="store_true", help="overwrite an existing output")
    edit.add_argument("--json", action="store_true", help="print one JSON object with output, config, seconds, unet")

    colorways = commands.add_parser(
        "colorways",
        help="one object in many colors: one inversion, the colors batched",
        description="Recolor the masked object of IMAGE to each of --colors from one inversion, the targets "
        "denoised together; writes DIR/<index>-<color>.png and a labelled DIR/sheet.png.",
    )
    colorways.add_argument("image", metavar="IMAGE")
    colorways.add_argument("--mask", help="object mask (white = object, thresholded at 50%%)")
    _mask_prompts(colorways, "--mask-text", "in place of --mask: ")
    colorways.add_argument(
        "--colors", required=True, help="target colors: 'navy,#33cc99,200,40,40' or separated by ';'"
    )
    colorways.add_argument("--prompt", required=True, help="prompt describing IMAGE, e.g. 'a red car'")
    _run_options(colorways)
    colorways.add_argument("--seed", type=int, default=0)
    colorways.add_argument(
        "--batch", type=int, default=8, help="colors denoised together (fewer use less memory; default 8)"
    )
    colorways.add_argument("-o", "--output", required=True, type=Path, help="output folder DIR")
    colorways.add_argument("--force", action="store_true", help="overwrite files of an earlier run")
    colorways.add_argument("--json", action="store_true", help="print one JSON object: files, colors, seconds, unet")

    mask = commands.add_parser(
        "mask",
        help="make an object mask from a phrase, clicks or a box",
        description="A binary 0/255 PNG of IMAGE's size (as displayed) from --text (the diffusion model's own "
        "attention, or Grounding DINO + SAM with --detector-model), --point (SAM) or --box (SAM).",
    )
    mask.add_argument("image", metavar="IMAGE")
    _mask_prompts(mask, "--text", "")
    mask.add_argument("--model", help=f"diffusion model for --text (default: {DEFAULT_RULE})")
    mask.add_argument("-o", "--output", required=True, type=Path, help="MASK.png")
    mask.add_argument("--force", action="store_true", help="overwrite an existing output")
    mask.add_argument(
        "--json", action="store_true", help="print one JSON object: output, pixels, box, source, confidence"
    )

    app = commands.add_parser("app", help="start the web app (Gradio)")
    app.add_argument("--model", help=f"diffusers folder or hub id (default: {DEFAULT_RULE})")
    app.add_argument("--host", default="127.0.0.1")
    app.add_argument("--port", type=int, default=7860)
    app.add_argument("--share", action="store_true", help="also serve through a public Gradio link")
    app.add_argument("--sam-model", help="SAM folder or id: lets people click the object")

    batch = commands.add_parser(
        "batch",
        help="many edits: a folder of photos in some colors, or a JSON-lines file; resumable, split by accelerate",
        description="A folder of photos with --masks MASKDIR (same file names) or --mask-text PHRASE, and "
        "--colors: every photo in every color, written as <photo>-<color>.png. Or a JSON-lines file, one "
        "object a line: image, mask, prompt, and color or reference (optional reference_mask, "
        "reference_prompt, seed, output); paths relative to the file. An output that exists is done.",
    )
    batch.add_argument("jobs", type=Path, help="a folder of photos, or JOBS.jsonl")
    batch.add_argument("--masks", type=Path, metavar="MASKDIR", help="folder: each photo's mask, by file name")
    batch.add_argument("--mask-text", metavar="PHRASE", help="folder: the object a phrase names, found in each")
    batch.add_argument("--colors", help="folder: the colors, separated by ';' (names, #hex, r,g,b)")
    batch.add_argument("--prompt", help="folder: the photos' prompt (default: derived from each object's color)")
    batch.add_argument("-o", "--output", required=True, type=Path, help="output folder")
    _run_options(batch)
    batch.add_argument("--json", action="store_true", help="print one JSON object with the records of this run")

    demo = commands.add_parser(
        "demo",
        help="recolor a toy-world object on the shipped toy model (offline)",
        description="Render a toy source and a reference of another color, recolor the "
        "source on the shipped toy model, write source/reference/mask/edited/sheet PNGs "
        "and print hue error, IoU with the source object and background change.",
    )
    demo.add_argument("-o", "--output", default="coloredit-demo", help="output folder (default: coloredit-demo)")
    demo.add_argument("--preset", choices=sorted(PRESETS), default=DEFAULT_PRESET)
    demo.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE")
    demo.add_argument("--force", action="store_true", help="overwrite files of an earlier demo")
    demo.add_argument("--json", action="store_true", help="print the scores as one JSON object")
    add_bench_commands(commands)
    return parser


def add_bench_commands(commands) -> None:
    bench = commands.add_parser("bench", help="COLORBENCH: build benchmarks, run methods, report")
    sub = bench.add_subparsers(dest="bench_command", required=True)
    build = sub.add_parser(
        "build",
        help="build a benchmark folder: path traced (--world pbr), the toy world, or generated by a model",
    )
    build.add_argument("--model", help="'toy', or an SD folder / hub id (synthesized samples)")
    build.add_argument(
        "--world",
        choices=("pbr",),
        help="pbr: COLORBENCH-PBR, path traced by Mitsuba (pip install -e .[pbr]); resumable, split by RANK/WORLD_SIZE",
    )
    build.add_argument("--split", choices=("tune", "test", "ood"), default="test", help="PBR set (default test)")
    build.add_argument("--size", type=int, default=128, help="PBR image side in pixels (default 128)")
    build.add_argument("--spp", type=int, default=256, help="PBR samples per pixel (default 256)")
    build.add_argument("--out", required=True, type=Path)
    build.add_argument("--n", type=int, default=600, help="number of samples (default 600)")
    build.add_argument("--objects", help="comma-separated object words (SD models; default: 50 common objects)")
    build.add_argument("--colors", help="comma-separated color words (SD models; default: 12 colors)")
    build.add_argument("--seed", type=int, default=0)
    build.add_argument("--steps", type=int, default=50)
    pie = sub.add_parser("import-pie", help="PIE-Bench's 'change color' edits as a benchmark folder")
    pie.add_argument("path", type=Path, help="PIE-Bench folder with mapping_file.json and annotation_images/")
    pie.add_argument("--out", required=True, type=Path)
    sub.add_parser("methods", help="list the registered methods")
    run = sub.add_parser(
        "run",
        help="run methods on a benchmark (resumable; split over processes by RANK/"
        "WORLD_SIZE, e.g. under `accelerate launch`)",
    )
    run.add_argument("bench", type=Path)
    run.add_argument("--out", required=True, type=Path)
    run.add_argument("--methods", help="comma-separated method names (default: all)")
    run.add_argument("--model", help="model (default: the one the benchmark was built with)")
    run.add_argument("--ip2p-model", help="InstructPix2Pix model folder or id (registers method ip2p)")
    run.add_argument("--steps", type=int, help="denoising steps for every method")
    run.add_argument("--limit", type=int, help="only the first N samples of the manifest (slow methods)")
    run.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="config change for every ColorEdit-framework method",
    )
    run.add_argument("--device", help="torch device (default: cuda if available, else cpu)")
    run.add_argument("--dtype", choices=("auto", "float32", "float16", "bfloat16"), default="auto")
    run.add_argument("--dino", help="DINO ViT-B/8 folder or id for DS (e.g. facebook/dino-vitb8)")
    run.add_argument("--clip", help="CLIP folder or id for the CLIP score (e.g. openai/clip-vit-large-patch14)")
    run.add_argument("--lpips", help="LPIPS AlexNet weights file (.safetensors/.pth) for LPIPS_bg")
    report = sub.add_parser("report", help="report.md, results.csv, plots and grids from a run")
    report.add_argument("results", type=Path, help="the run's --out folder")
    report.add_argument("--bench", type=Path, help="the benchmark folder (for image grids)")
    report.add_argument("--grid-samples", type=int, default=4)


def _run_options(parser: argparse.ArgumentParser) -> None:
    """What every command that edits takes: the model, steps, preset and overrides, device and dtype."""
    parser.add_argument("--model", help=f"diffusers folder or hub id (default: {DEFAULT_RULE})")
    parser.add_argument("--steps", type=int, help="denoising steps (default 50)")
    parser.add_argument("--preset", choices=sorted(PRESETS), default=DEFAULT_PRESET)
    parser.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override any EditConfig field, e.g. --set tau=0.7 (repeatable)",
    )
    parser.add_argument(
        "--mask-refine",
        choices=MASK_REFINES,
        help="auto (default): move the mask's outline to the object's edge; off: keep the mask exactly as given",
    )
    parser.add_argument(
        "--engine",
        choices=ENGINES,
        help="auto (default): the exact-color engine alone wherever it makes the model's very edit, the model "
        "elsewhere; diffusion: always the model; exact: the engine alone, no model loaded",
    )
    parser.add_argument(
        "--output-profile",
        choices=OUTPUT_PROFILES,
        help="photo (default): written in the photo's own color profile, unedited pixels byte for byte; srgb: in sRGB",
    )
    parser.add_argument("--device", help="torch device (default: cuda if available, else cpu)")
    parser.add_argument(
        "--dtype",
        choices=("auto", "float32", "float16", "bfloat16"),
        default="auto",
        help="model dtype (auto: float16 on GPU, float32 on CPU)",
    )


def _mask_prompts(parser: argparse.ArgumentParser, text_flag: str, lead: str) -> None:
    parser.add_argument(text_flag, dest="mask_text", metavar="PHRASE", help=f"{lead}the object a phrase names")
    parser.add_argument(
        "--point", action="append", default=[], metavar="X,Y", help=f"{lead}a click on the object (SAM)"
    )
    parser.add_argument("--negative-point", action="append", default=[], metavar="X,Y", help="a click off the object")
    parser.add_argument("--box", metavar="X0,Y0,X1,Y1", help=f"{lead}a box around the object (SAM)")
    parser.add_argument("--sam-model", default=None, help=f"SAM folder or id (default {DEFAULT_SAM})")
    parser.add_argument("--detector-model", help="Grounding DINO folder or id: the phrase's box, then SAM")
    parser.add_argument(
        "--strict", action="store_true", help="exit 2 when a mask found automatically is uncertain (not a warning)"
    )


def _numbers(text: str, count: int, what: str) -> tuple[float, ...]:
    try:
        values = tuple(float(v) for v in text.split(","))
    except ValueError:
        values = ()
    if len(values) != count:
        raise ColorEditError(f"bad {what} {text!r}: give {count} numbers separated by commas")
    return values


class Found(NamedTuple):
    """A mask found from prompts, and how sure the image's own edges make it (`masks.mask_confidence`)."""

    mask: np.ndarray
    confidence: float


def mask_from_prompts(args: argparse.Namespace, image, pipe_loader) -> Found | None:
    """The object mask the prompts of `args` ask for (None when there are none)."""
    found = prompted_mask(args, image, args.mask_text, args.point, args.negative_point, args.box, pipe_loader)
    return _trusted(found, "the object's mask", args.strict)


def reference_mask_from_prompts(args: argparse.Namespace, reference, pipe_loader) -> Found | None:
    """Where the color is in the reference image, by the `--reference-*` prompts (None when there are none)."""
    found = prompted_mask(
        args, reference, args.reference_text, args.reference_point, [], args.reference_box, pipe_loader
    )
    return _trusted(found, "the reference's mask", args.strict)


def _trusted(found: Found | None, what: str, strict: bool) -> Found | None:
    """A one-line warning for an uncertain mask, or with `strict` a ColorEditError (exit 2)."""
    from .masks import CONFIDENT

    if found is not None and found.confidence < CONFIDENT:
        message = (
            f"{what} was found with low confidence ({found.confidence:.2f} < {CONFIDENT:.2f}: its outline is not "
            "on the image's edges); check it, or give a mask"
        )
        if strict:
            raise ColorEditError(message)
        print(f"coloredit: warning: {message}", file=sys.stderr)
    return found


def checked_prompts(image, text: str | None, points: list[str], negative: list[str], box: str | None) -> tuple:
    """The prompts parsed, (points, negative points, box), checked against the image: a one-line
    ColorEditError before any model loads."""
    from .photos import open_photo
    from .validate import check_prompts

    points = [_numbers(p, 2, "point") for p in points]
    negative = [_numbers(p, 2, "point") for p in negative]
    box = _numbers(box, 4, "box") if box else None
    if text and (points or negative or box):
        raise ColorEditError("give a phrase, or points and a box, not both")
    if points or negative or box:
        check_prompts(open_photo(image)[0].size, points, negative, box)
    return points, negative, box


def prompted_mask(
    args: argparse.Namespace,
    image,
    text: str | None,
    points: list[str],
    negative: list[str],
    box: str | None,
    pipe_loader,
) -> Found | None:
    """A phrase's mask (the model's attention, or Grounding DINO + SAM with `--detector-model`), or SAM's for
    points and a box, with its confidence; None when nothing is asked. The pipeline is loaded only for an
    attention mask."""
    from . import masks
    from .photos import open_photo

    points, negative, box = checked_prompts(image, text, points, negative, box)
    sam = args.sam_model or DEFAULT_SAM
    if points or negative or box:
        mask = masks.sam_mask(image, points, negative, box, model=sam)
    elif text and args.detector_model:
        mask = masks.grounded_mask(image, text, args.detector_model, sam)
    elif text:
        mask = masks.attention_mask(pipe_loader(), image, text)
    else:
        return None
    return Found(mask, masks.mask_confidence(np.asarray(open_photo(image)[0]), mask))


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


COLOR_OPTIONS = ("--color", "--colors")  # their values may start with '-' ("-1,0,0"): a bad color, not an option


def _attached(argv: list[str]) -> list[str]:
    """`--color -1,0,0` as `--color=-1,0,0`, so argparse hands the value over and the color check can say
    what is wrong with it, in one line (argparse would print the whole usage)."""
    out: list[str] = []
    for token in argv:
        if out and out[-1] in COLOR_OPTIONS and token.startswith("-") and not token.startswith("--"):
            out[-1] = f"{out[-1]}={token}"
        else:
            out.append(token)
    return out


def _one_line_warning(message, category, filename, lineno, file=None, line=None) -> None:
    print(f"coloredit: warning: {str(message).splitlines()[0]}", file=sys.stderr)


def _interrupted(signum, frame) -> None:
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    import signal
    import threading
    import warnings

    args = build_parser().parse_args(_attached(list(sys.argv[1:] if argv is None else argv)))
    if signal.getsignal(signal.SIGTERM) is signal.SIG_DFL and threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _interrupted)  # a kill ends like Ctrl-C: one line, nothing partial
    if args.threads is not None and args.threads < 1:
        print("coloredit: error: --threads must be at least 1", file=sys.stderr)
        return 2
    set_threads(args.threads)
    for option in ("mask_refine", "output_profile", "engine"):  # config fields with their own flags
        if getattr(args, option, None):
            args.overrides.append(f"{option}={getattr(args, option)}")
    try:
        commands = {
            "edit": run_edit,
            "colorways": run_colorways,
            "mask": run_mask,
            "app": run_app,
            "batch": run_batch,
            "demo": run_demo,
            "bench": run_bench,
        }
        with warnings.catch_warnings():  # ours and the libraries': one line each on stderr
            warnings.showwarning = _one_line_warning
            return commands[args.command](args)
    except ColorEditError as error:
        print(f"coloredit: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("coloredit: interrupted (nothing partial was written)", file=sys.stderr)
        return 130
    except MemoryError:
        print("coloredit: error: out of memory: try --dtype float16, fewer --steps or a GPU", file=sys.stderr)
        return 2
    except RuntimeError as error:
        if "out of memory" in str(error).lower() or "can't allocate" in str(error).lower():
            print("coloredit: error: out of memory: try --dtype float16, fewer --steps or a GPU", file=sys.stderr)
            return 2
        raise


def run_edit(args: argparse.Namespace) -> int:
    from .images import check_output, save_atomic

    config = preset(args.preset)
    changes = {k: v for k, v in (("num_inference_steps", args.steps), ("inversion", args.inversion)) if v is not None}
    config = config.replace(**changes).with_overrides(args.overrides)
    references = args.reference or args.color
    kind = "reference" if args.reference else "color"
    prompted = bool(args.mask_text or args.point or args.negative_point or args.box)
    if prompted == bool(args.mask):
        raise ColorEditError("give --mask, or one of --mask-text, --point, --box")
    if prompted and len(references) != 1:
        raise ColorEditError("a mask prompt marks one object: give one --reference/--color")
    if not prompted and len(references) != len(args.mask):
        raise ColorEditError(f"{len(args.mask)} --mask but {len(references)} --reference/--color: give one each")
    if len(args.prompt) not in (1, len(references)):
        raise ColorEditError(f"{len(args.prompt)} --prompt for {len(references)} objects: give one, or one each")
    prompts = args.prompt * len(references) if len(args.prompt) == 1 else args.prompt
    reference_prompted = bool(args.reference_text or args.reference_point or args.reference_box)
    if reference_prompted and (kind != "reference" or len(references) != 1 or args.reference_mask):
        raise ColorEditError(
            "--reference-text/-point/-box mark the object of one --reference, in place of --reference-mask"
        )
    output = Path(args.output or f"{Path(args.image).stem}_edited.png")
    check_output(output, args.force)

    # Check every input before the (slow) model load.
    from .photos import open_photo
    from .validate import check_inputs

    image, _, notices = open_photo(args.image, "image")
    for notice in notices:
        print(f"coloredit: {notice}", file=sys.stderr)
    for mask, ref in zip(args.mask, references, strict=False):
        check_inputs(mask, image, **{kind: ref}, reference_mask=args.reference_mask)
    checked_prompts(args.image, args.mask_text, args.point, args.negative_point, args.box)
    if reference_prompted:
        open_photo(references[0], "reference image")
        checked_prompts(references[0], args.reference_text, args.reference_point, [], args.reference_box)

    started = time.perf_counter()
    pipe = editor(args, config)
    load_seconds = time.perf_counter() - started
    found = None if args.mask else mask_from_prompts(args, image, lambda: pipe)
    masks = args.mask or [found.mask]
    reference_mask, reference_found = args.reference_mask, None
    if reference_prompted:
        reference_found = reference_mask_from_prompts(args, references[0], lambda: pipe)
        reference_mask = reference_found.mask

    from .pipeline import ObjectEdit

    edits = [
        ObjectEdit(
            mask=mask,
            reference_prompt=args.reference_prompt,
            reference_mask=reference_mask,
            prompt=prompt,
            **{kind: ref},
        )
        for mask, ref, prompt in zip(masks, references, prompts, strict=True)
    ]
    results = pipe.edit_objects(prompts[0], edits, image=args.image, seed=args.seed, config=config)
    save_atomic(results[-1].image, output, force=args.force)

    if args.json:
        seconds = {"load": round(load_seconds, 4)}
        unet = {"calls": 0, "rows": 0}
        for result in results:
            for stage, value in result.seconds.items():
                seconds[stage] = round(seconds.get(stage, 0.0) + value, 4)
            unet["calls"] += result.unet["calls"]
            unet["rows"] += result.unet["rows"]
        unet["by_stage"] = _merge_stages([r.unet["by_stage"] for r in results])
        print(
            json.dumps(
                {
                    "output": str(output),
                    "config": config.to_dict(),
                    "seconds": seconds,
                    "unet": unet,
                    "reference_prompts": [r.reference_prompt for r in results],
                    "mask_change": [round(r.mask_change, 4) for r in results],
                    "mask_confidence": _rounded(found),
                    "engine": [{"engine": r.engine, "why": r.engine_reason} for r in results],
                    "reference_mask_confidence": _rounded(reference_found),
                }
            )
        )
    else:
        print(f"wrote {output}", file=sys.stderr)
    return 0


def run_colorways(args: argparse.Namespace) -> int:
    from .colors import parse_color
    from .colorways import output_paths, split_colors, write_colorways
    from .images import load_mask
    from .photos import open_photo

    config = preset(args.preset)
    if args.steps is not None:
        config = config.replace(num_inference_steps=args.steps)
    config = config.with_overrides(args.overrides)
    colors = split_colors(args.colors)
    if not colors:
        raise ColorEditError("--colors: give at least one color")
    if args.batch < 1:
        raise ColorEditError("--batch must be at least 1")
    prompted = bool(args.mask_text or args.point or args.negative_point or args.box)
    if prompted == bool(args.mask):
        raise ColorEditError("give --mask, or one of --mask-text, --point, --box")
    output_paths(args.output, colors, args.force)  # every input checked before the (slow) model load
    for color in colors:
        parse_color(color)
    image, _, notices = open_photo(args.image, "image")
    for notice in notices:
        print(f"coloredit: {notice}", file=sys.stderr)
    if args.mask:
        load_mask(args.mask, image.size)

    started = time.perf_counter()
    pipe = editor(args, config)
    load_seconds = time.perf_counter() - started
    found = None if args.mask else mask_from_prompts(args, image, lambda: pipe)
    mask = args.mask or found.mask
    result = pipe(
        args.prompt, mask, image=args.image, color=colors, seed=args.seed, config=config, targets_per_batch=args.batch
    )
    records = write_colorways(
        result.images,
        result.source_image,
        load_mask(mask, image.size),
        colors,
        args.output,
        args.force,
        config.scene_light,
    )
    if args.json:
        seconds = {"load": round(load_seconds, 4), **{k: round(v, 4) for k, v in result.seconds.items()}}
        described = {"output": str(args.output), "colorways": records, "seconds": seconds, "unet": result.unet}
        described["engine"] = {"engine": result.engine, "why": result.engine_reason}
        print(json.dumps({**described, "mask_confidence": _rounded(found)}))
    else:
        for record in records:
            print(f"{record['file']}: {record['color']} reached {record['achieved_hex']} (dE00 {record['delta_e00']})")
        print(f"wrote {args.output / 'sheet.png'}", file=sys.stderr)
    return 0


def run_mask(args: argparse.Namespace) -> int:
    from PIL import Image

    from .images import check_output, save_atomic
    from .photos import open_photo

    check_output(args.output, args.force)
    image = open_photo(args.image)[0]
    found = mask_from_prompts(args, image, lambda: load_pipeline(args.model, None, "auto"))
    if found is None:
        raise ColorEditError("give --text, --point or --box")
    confidence, found = found.confidence, found.mask
    save_atomic(Image.fromarray(found.astype(np.uint8) * 255), args.output, force=args.force)
    if args.json:
        ys, xs = np.nonzero(found)
        box = [int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1] if found.any() else None
        source = (
            "sam"
            if args.point or args.negative_point or args.box
            else ("grounding-dino+sam" if args.detector_model else "attention")
        )
        described = {"output": str(args.output), "pixels": int(found.sum()), "box": box, "source": source}
        print(json.dumps({**described, "confidence": round(confidence, 4)}))
    else:
        print(f"wrote {args.output}", file=sys.stderr)
    return 0


def run_app(args: argparse.Namespace) -> int:
    try:
        from .app import serve
    except ImportError:
        raise ColorEditError("the app needs gradio: pip install 'coloredit[app]'") from None
    serve(locate(args.model or default_model()), args.host, args.port, args.share, args.sam_model)
    return 0


def run_batch(args: argparse.Namespace) -> int:
    from .batch import folder_jobs, read_jobs
    from .batch import run_batch as run_jobs
    from .colorways import split_colors

    if args.jobs.is_dir():  # every photo, mask and color checked before the model loads
        jobs = folder_jobs(args.jobs, split_colors(args.colors or ""), args.masks, args.mask_text, args.prompt)
    elif any(v is not None for v in (args.masks, args.mask_text, args.colors, args.prompt)):
        raise ColorEditError("--masks, --mask-text, --colors and --prompt go with a folder of photos, not a jobs file")
    else:
        jobs = read_jobs(args.jobs)  # every line checked before the model loads
    if args.output.exists() and not args.output.is_dir():
        raise ColorEditError(f"output {args.output} is a file: give a folder")
    config = preset(args.preset)
    if args.steps is not None:
        config = config.replace(num_inference_steps=args.steps)
    config = config.with_overrides(args.overrides)
    pipe = editor(args, config)
    records = run_jobs(pipe, jobs, args.output, config)
    if args.json:
        print(json.dumps({"done": len(records), "jobs": len(jobs), "records": records}))
    else:
        print(
            f"{len(records)} edits written to {args.output} ({len(jobs)} jobs in all; an output already there is done)",
            file=sys.stderr,
        )
    return 0


def run_demo(args: argparse.Namespace) -> int:
    from .pipeline import ColorEditPipeline
    from .toy.demo import run_demo as demo

    config = preset(args.preset).with_overrides(args.overrides)
    pipe = ColorEditPipeline.from_pretrained("toy")
    pipe.set_progress_bar_config(disable=True)
    result = demo(pipe, Path(args.output), config, force=args.force)
    if args.json:
        print(json.dumps(result))
    else:
        print(f"{result['source']} -> color of {result['reference']} in {result['seconds']:.1f} s")
        print(f"ΔE00 to the oracle render {result['delta_e']:.2f} (appearance, per pixel: {result['appearance']:.2f})")
        print(f"IoU with the oracle's object {result['iou']:.3f}")
        print(f"background outside the feathered mask byte-identical: {result['background_identical']}")
        print(f"wrote {', '.join(result['files'])}")
    return 0


def run_bench(args: argparse.Namespace) -> int:
    from .bench import build, methods, report, run

    command = args.bench_command
    if command == "methods":
        for method in methods.get_methods():
            print(f"{method.name}\t{method.description}")
        print("ip2p\tInstructPix2Pix through diffusers (with --ip2p-model)")
        return 0
    if command == "report":
        print(report.write_report(args.results, args.bench, args.grid_samples))
        return 0
    if command == "import-pie":
        samples = build.import_pie(args.path, args.out)
        print(f"wrote {len(samples)} samples to {args.out}", file=sys.stderr)
        return 0
    if command == "build":
        if (args.world is None) == (args.model is None):
            raise ColorEditError("bench build takes --world pbr or --model, one of them")
        if args.world == "pbr":
            from .bench.pbr import build_pbr

            rank, world = run.process_split()
            samples = build_pbr(args.out, args.n, args.split, args.size, args.spp, rank, world)
            print(f"{len(samples)} samples in {args.out}", file=sys.stderr)
            return 0
        if args.model == "toy":
            samples = build.build_toy(args.out, args.n, seed=40_000_000 + args.seed)
        else:
            pipe = load_pipeline(args.model, None, "auto")
            pipe.set_progress_bar_config(disable=True)
            kwargs = {k: tuple(getattr(args, k).split(",")) for k in ("objects", "colors") if getattr(args, k)}
            samples = build.build_synthetic(pipe, args.out, args.n, seed=args.seed, steps=args.steps, **kwargs)
        (args.out / "bench.json").write_text(json.dumps({"model": args.model, "samples": len(samples)}))
        print(f"wrote {len(samples)} samples to {args.out}", file=sys.stderr)
        return 0
    from .bench.manifest import load_manifest

    load_manifest(args.bench)  # validate before loading any model
    if args.limit is not None and args.limit < 1:
        raise ColorEditError("--limit must be at least 1")
    info = args.bench / "bench.json"
    model = args.model or (json.loads(info.read_text())["model"] if info.exists() else None)
    if model is None:
        raise ColorEditError(f"{args.bench} does not say which model built it: pass --model")
    chosen = methods.get_methods(args.methods.split(",") if args.methods else None, args.ip2p_model)
    overrides = {"num_inference_steps": args.steps} if args.steps else {}
    overrides.update(vars(preset("paper").with_overrides(args.overrides)) if args.overrides else {})
    overrides = {
        k: v
        for k, v in overrides.items()
        if k == "num_inference_steps" or any(a.split("=")[0].strip().replace("-", "_") == k for a in args.overrides)
    }
    from .bench.metrics import model_metrics, pixel_metrics

    metrics = pixel_metrics() + model_metrics(args.dino, args.clip, args.lpips)
    pipe = load_pipeline(model, args.device, args.dtype)
    pipe.set_progress_bar_config(disable=True)
    rank, world = run.process_split()
    merged = run.run_benchmark(
        pipe, args.bench, args.out, chosen, metrics, overrides, rank=rank, world=world, limit=args.limit
    )
    print(f"results in {merged}", file=sys.stderr)
    return 0


def _rounded(found: Found | None) -> float | None:
    return None if found is None else round(found.confidence, 4)


def _merge_stages(stages: list[dict]) -> dict:
    merged: dict[str, dict[str, int]] = {}
    for by_stage in stages:
        for stage, counts in by_stage.items():
            slot = merged.setdefault(stage, {"calls": 0, "rows": 0})
            slot["calls"] += counts["calls"]
            slot["rows"] += counts["rows"]
    return merged


def editor(args: argparse.Namespace, config):
    """What edits: the engine alone when `engine` is exact (no model is loaded), else the pipeline."""
    if config.engine == "exact" and not (getattr(args, "mask_text", None) and not args.detector_model):
        from .engine import ExactEditor

        return ExactEditor()
    return load_pipeline(args.model, args.device, args.dtype)


def load_pipeline(model: str | None, device: str | None, dtype: str):
    """The pipeline, its model located first: a model that cannot be had is one line before torch loads."""
    where = locate(model or default_model())
    from .pipeline import load_pipeline as load  # here, not at the top: `--help` must not import torch

    return load(where, device, dtype)


if __name__ == "__main__":
    sys.exit(main())
