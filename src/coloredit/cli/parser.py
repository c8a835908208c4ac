"""The command line's grammar: every subcommand, its options and their help."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..config import DEFAULT_PRESET, DEFAULT_SAM, ENGINES, INVERSIONS, MASK_REFINES, OUTPUT_PROFILES, PRESETS
from ..models import DEFAULT_RULE, OFFLOADS


def build_parser() -> argparse.ArgumentParser:
    from .. import __version__

    parser = argparse.ArgumentParser(
        prog="coloredit", description="Recolor an object in an image with Stable Diffusion."
    )
    parser.add_argument("--version", action="version", version=f"coloredit {__version__}")
    parser.add_argument(
        "--threads", type=int, help="CPU threads for torch (default: OMP_NUM_THREADS, else the physical cores)"
    )
    commands = parser.add_subparsers(dest="command", required=True)

    add_edit(commands)
    add_colorways(commands)
    add_tools(commands)
    add_bench_commands(commands)
    return parser


def add_edit(commands) -> None:
    """`coloredit edit`: one image, one or more objects."""
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


def add_colorways(commands) -> None:
    """`coloredit colorways`: one object in many colors."""
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


def add_tools(commands) -> None:
    """`coloredit mask`, `app`, `batch` and `demo`."""
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
    run.add_argument("--kontext-model", help="FLUX.1 Kontext model folder or id (registers method kontext)")
    run.add_argument("--qwen-edit-model", help="Qwen-Image-Edit model folder or id (registers method qwen-edit)")
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
    add_ablation_command(sub)


def add_ablation_command(sub) -> None:
    """`bench ablation`: the toy world's ablation, every variant through the benchmark's runner and store."""
    ablation = sub.add_parser(
        "ablation", help="every variant on the toy world against the oracle render; write docs/ablation.md"
    )
    ablation.add_argument("--model", default="toy")
    ablation.add_argument("--tune", type=int, default=0, help="edits of the tuning set (0: none)")
    ablation.add_argument("--test", type=int, default=60, help="edits of the test set")
    ablation.add_argument("--ood", type=int, default=30, help="edits of the out-of-distribution (toon) set")
    ablation.add_argument("--generated", type=int, default=30, help="edits of images the model generated")
    ablation.add_argument("--out", type=Path, default=Path("docs/ablation.md"))
    ablation.add_argument("--threads", type=int, default=1)
    ablation.add_argument("--store", type=Path, default=Path("runs/ablation"), help="sets and results (resume)")
    ablation.add_argument("--variants", help="only these variants, names separated by '|'")
    ablation.add_argument("--report-only", action="store_true", help="write the report from what is stored")


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
    parser.add_argument(
        "--offload",
        choices=OFFLOADS,
        default="none",
        help="model: each model kept in CPU memory until it runs (diffusers' model offload), for models that do "
        "not fit the GPU together; none (default): all on the device",
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
