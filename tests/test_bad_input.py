"""Bad input, as a new user gives it, through the CLI (edit, colorways, batch) and the app's API: every case
exits 2 with exactly one line on stderr (the app: one ColorEditError), before any model loads, and writes
nothing. An interrupt ends with one line and exit 130."""

import json
import shutil
import signal
import struct
import subprocess
import sys
import threading
import time
import zlib

import numpy as np
import pytest
from PIL import Image

from coloredit.app import App
from coloredit.cli import main
from coloredit.errors import ColorEditError


def png_header(path, width, height):
    """A PNG whose header declares width x height (no pixel data): how a huge photo looks until decoded."""

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IEND", b""))
    return path


@pytest.fixture()
def files(tmp_path, photo, model_dir):
    """Every bad file the cases below point at, in `tmp_path/in`; outputs go to `tmp_path/out`."""
    image, mask = photo
    d = tmp_path / "in"
    d.mkdir()
    (d / "notes.png").write_text("not an image")
    (d / "zero.png").write_bytes(b"")
    (d / "truncated.png").write_bytes(image.read_bytes()[:60])
    png_header(d / "huge.png", 20000, 20000)  # 400 MP: PIL's own bomb check
    png_header(d / "big.png", 10000, 10000)  # 100 MP: over our 64 MP limit
    (d / "folder").mkdir()
    Image.fromarray(np.full((10, 100), 255, np.uint8)).save(d / "wide.png")
    Image.fromarray(np.zeros((96, 128), np.uint8)).save(d / "empty.png")
    Image.fromarray(np.full((96, 128), 255, np.uint8)).save(d / "full.png")
    clear = np.zeros((32, 32, 4), np.uint8)
    clear[..., :3] = (200, 30, 30)
    Image.fromarray(clear).save(d / "transparent.png")
    Image.fromarray(np.full((32, 32, 3), (30, 160, 60), np.uint8)).save(d / "reference.png")
    Image.fromarray(np.zeros((32, 32), np.uint8)).save(d / "reference-empty.png")
    (d / "a-file").write_text("in the way")
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "taken.png").write_bytes(b"keep me")
    odd_unet = d / "odd-unet"
    shutil.copytree(model_dir, odd_unet)
    config = json.loads((odd_unet / "unet" / "config.json").read_text())
    (odd_unet / "unet" / "config.json").write_text(json.dumps({**config, "_class_name": "UNetSpatioTemporal"}))
    video = d / "video"
    video.mkdir()
    (video / "model_index.json").write_text(json.dumps({"_class_name": "StableVideoDiffusionPipeline"}))
    return {"image": image, "mask": mask, "model": model_dir, "in": d, "out": tmp_path / "out"}


def edit(f, image=None, mask=None, color="#2050ff", out="edited.png", model=None, extra=()):
    args = ["edit", str(image or f["image"]), "--mask", str(mask or f["mask"]), "--prompt", "a red car"]
    args += ["--model", str(model or f["model"]), "--steps", "2", "--inversion", "ddim", "-o", str(f["out"] / out)]
    return [*args, *(["--color", color] if color is not None else []), *extra]


def colorways(f, colors="navy,#33cc99", out="ways", extra=()):
    args = ["colorways", str(f["image"]), "--mask", str(f["mask"]), "--colors", colors, "--prompt", "a red car"]
    return [*args, "--model", str(f["model"]), "--steps", "2", "-o", str(f["out"] / out), *extra]


def batch(f, *lines, raw=None):
    jobs = f["in"] / "jobs.jsonl"
    jobs.write_text(raw if raw is not None else "\n".join(json.dumps(line) for line in lines))
    return ["batch", str(jobs), "-o", str(f["out"] / "batch"), "--model", str(f["model"]), "--steps", "2"]


def job(f, **changes):
    base = {"image": str(f["image"]), "mask": str(f["mask"]), "prompt": "a red car", "color": "navy"}
    return {k: v for k, v in {**base, **changes}.items() if v is not None}


def with_reference(name, mask=None):
    """An edit to the color of the fixture's reference file `name` (and its mask file `mask`)."""

    def command(f):
        extra = ["--reference", str(f["in"] / name)] + (["--reference-mask", str(f["in"] / mask)] if mask else [])
        return edit(f, color=None, extra=extra)

    return command


# name: (how the command line is made, a fragment of the one line it must print)
CLI_CASES = {
    "missing image": (lambda f: edit(f, image=f["in"] / "nothere.png"), "not found"),
    "image is a folder": (lambda f: edit(f, image=f["in"] / "folder"), "is a folder"),
    "text file as image": (lambda f: edit(f, image=f["in"] / "notes.png"), "not a readable image"),
    "empty image file": (lambda f: edit(f, image=f["in"] / "zero.png"), "not a readable image"),
    "truncated image": (lambda f: edit(f, image=f["in"] / "truncated.png"), "not a readable image"),
    "400 MP image": (lambda f: edit(f, image=f["in"] / "huge.png"), "64 MP limit"),
    "100 MP image": (lambda f: edit(f, image=f["in"] / "big.png"), "64 MP limit"),
    "missing mask": (lambda f: edit(f, mask=f["in"] / "nothere.png"), "mask not found"),
    "mask is a folder": (lambda f: edit(f, mask=f["in"] / "folder"), "mask not found"),
    "text file as mask": (lambda f: edit(f, mask=f["in"] / "notes.png"), "not a readable image"),
    "mask of another aspect ratio": (lambda f: edit(f, mask=f["in"] / "wide.png"), "aspect ratio"),
    "empty mask": (lambda f: edit(f, mask=f["in"] / "empty.png"), "mask is empty"),
    "full mask": (lambda f: edit(f, mask=f["in"] / "full.png"), "whole image"),
    "unknown color name": (lambda f: edit(f, color="blurple"), "unknown color"),
    "color above 255": (lambda f: edit(f, color="300,0,0"), "0-255"),
    "negative color": (lambda f: edit(f, color="-1,0,0"), "unknown color '-1,0,0'"),
    "five-digit hex": (lambda f: edit(f, color="#12345"), "unknown color"),
    "empty color": (lambda f: edit(f, color=""), "unknown color"),
    "color with four values": (lambda f: edit(f, color="1,2,3,4"), "unknown color"),
    "missing reference": (with_reference("nothere.png"), "reference image not found"),
    "reference is a folder": (with_reference("folder"), "is a folder"),
    "text file as reference": (with_reference("notes.png"), "not a readable image"),
    "fully transparent reference": (with_reference("transparent.png"), "fully transparent"),
    "empty reference mask": (with_reference("reference.png", "reference-empty.png"), "reference mask is empty"),
    "reference mask of another aspect ratio": (with_reference("reference.png", "wide.png"), "reference mask is 100x10"),
    "missing reference mask": (with_reference("reference.png", "no.png"), "reference mask not found"),
    "output is a folder": (lambda f: edit(f, out="."), "is a folder"),
    "output under a file": (lambda f: edit(f, out="../in/a-file/edited.png"), "which is a file"),
    "output exists": (lambda f: edit(f, out="taken.png"), "--force"),
    "unknown output format": (lambda f: edit(f, out="edited.xyz"), "unknown image format"),
    "missing model folder": (lambda f: edit(f, model=f["in"] / "no-model"), "model folder not found"),
    "hub model without network": (lambda f: edit(f, model="nobody/no-such-model"), "not in the Hugging Face cache"),
    "unknown U-Net class": (lambda f: edit(f, model=f["in"] / "odd-unet"), "UNetSpatioTemporal"),
    "another model family": (lambda f: edit(f, model=f["in"] / "video"), "StableVideoDiffusionPipeline"),
    "unknown config field": (lambda f: edit(f, extra=["--set", "speed=11"]), "speed"),
    "config value out of range": (lambda f: edit(f, extra=["--set", "tau=2"]), "tau must be in [0, 1]"),
    "unknown scene light": (lambda f: edit(f, extra=["--set", "scene_light=sunny"]), "scene_light must be"),
    "unknown material": (lambda f: edit(f, extra=["--set", "material=wood"]), "material must be"),
    "zero steps": (lambda f: edit(f, extra=["--steps", "0"]), "num_inference_steps"),
    "zero threads": (lambda f: ["--threads", "0", *edit(f)], "--threads must be at least 1"),
    "a prompt too many": (lambda f: edit(f, extra=["--prompt", "a blue house"]), "2 --prompt for 1 objects"),
    "two masks, one color": (lambda f: edit(f, extra=["--mask", str(f["mask"])]), "2 --mask but 1"),
    "mask and mask text": (lambda f: edit(f, extra=["--mask-text", "car"]), "give --mask, or one of"),
    "colorways: an unknown color": (lambda f: colorways(f, colors="navy,blurple"), "unknown color 'blurple'"),
    "colorways: no colors": (lambda f: colorways(f, colors=" , "), "color"),
    "colorways: output is a file": (lambda f: colorways(f, out="taken.png"), "is a file"),
    "colorways: a negative color": (lambda f: colorways(f, colors="-1,0,0"), "unknown color"),
    "batch: no jobs file": (lambda f: ["batch", str(f["in"] / "none.jsonl"), "-o", str(f["out"] / "b")], "not found"),
    "batch: not JSON": (lambda f: batch(f, raw="{image: 1"), "line 1"),
    "batch: unknown key": (lambda f: batch(f, {**job(f), "colour": "red"}), "unknown ['colour']"),
    "batch: no image": (lambda f: batch(f, job(f, image=None)), "missing ['image']"),
    "batch: missing image file": (lambda f: batch(f, job(f, image="nothere.png")), "not found"),
    "batch: unknown color": (lambda f: batch(f, job(f), job(f, color="blurple")), "line 2: unknown color"),
    "batch: mask of another aspect ratio": (
        lambda f: batch(f, job(f, mask=str(f["in"] / "wide.png"))),
        "line 1: mask is 100x10",
    ),
    "batch: color and reference": (
        lambda f: batch(f, job(f, reference=str(f["in"] / "reference.png"))),
        "exactly one of color or reference",
    ),
    "batch: transparent reference": (
        lambda f: batch(f, job(f, color=None, reference=str(f["in"] / "transparent.png"))),
        "fully transparent",
    ),
    "batch: empty file": (lambda f: batch(f, raw="\n"), "has no jobs"),
}


def listing(folder):
    return sorted(p.relative_to(folder) for p in folder.rglob("*"))


@pytest.mark.parametrize("case", list(CLI_CASES))
def test_bad_input_through_the_cli(case, files, capsys):
    command, fragment = CLI_CASES[case]
    argv = command(files)
    before = listing(files["out"])
    started = time.perf_counter()
    assert main(argv) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("coloredit: error:"), lines
    assert fragment in lines[0], lines[0]
    assert listing(files["out"]) == before  # nothing written
    assert (files["out"] / "taken.png").read_bytes() == b"keep me"
    assert time.perf_counter() - started < 30  # refused before any slow step


class NoPipeline:
    """The app's edit must refuse bad input before it ever reaches the pipeline."""

    def __call__(self, *args, **kwargs):
        raise AssertionError("the pipeline was called")


IMAGE = np.full((48, 64, 3), 120, np.uint8)
MASK = np.zeros((48, 64), bool)
MASK[10:30, 20:40] = True
CLEAR = np.zeros((16, 16, 4), np.uint8)
APP_CASES = {
    "no image": (dict(image=None), "upload an image"),
    "no mask": (dict(mask=None), "mark the object"),
    "empty mask": (dict(mask=np.zeros_like(MASK)), "mark the object"),
    "no color and no reference": (dict(colors=[]), "pick a color"),
    "unknown color": (dict(colors=["blurple"]), "unknown color"),
    "negative color": (dict(colors=["-1,0,0"]), "unknown color"),
    "mask of another aspect ratio": (dict(mask=np.ones((10, 100), bool)), "aspect ratio"),
    "fully transparent reference": (dict(colors=[], reference=CLEAR), "fully transparent"),
}


@pytest.mark.parametrize("case", list(APP_CASES))
def test_bad_input_through_the_apps_edit(case, tmp_path):
    change, fragment = APP_CASES[case]
    call = dict(image=IMAGE, mask=MASK, colors=["navy"], reference=None, prompt="a box") | change
    app = App(NoPipeline(), out=tmp_path)
    with pytest.raises(ColorEditError, match=None) as caught:
        app.recolor(**call)
    assert fragment in str(caught.value) and "\n" not in str(caught.value)
    assert list(tmp_path.iterdir()) == []


def test_there_are_at_least_sixty_bad_inputs():
    assert len(CLI_CASES) + len(APP_CASES) >= 60


@pytest.mark.parametrize("sent", [signal.SIGINT, signal.SIGTERM])
def test_an_interrupted_edit_says_so_in_one_line_and_leaves_nothing(sent, photo, tmp_path):
    image, mask = photo
    out = tmp_path / "edited.png"
    argv = ["edit", str(image), "--mask", str(mask), "--color", "navy", "--prompt", "a red car", "--model", "toy"]
    argv += ["--engine", "diffusion", "--steps", "500", "-o", str(out)]  # the model's path: a long edit
    proc = subprocess.Popen(
        [sys.executable, "-m", "coloredit.cli", *argv],
        stderr=subprocess.PIPE,
        text=True,
        # a test runner's worker may ignore SIGINT, and children inherit that: give the CLI a terminal's default
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    seen: list[str] = []
    reader = threading.Thread(target=lambda: seen.extend(iter(lambda: proc.stderr.read(1), "")), daemon=True)
    reader.start()
    deadline = time.monotonic() + 120
    while "/500 [" not in "".join(seen) and time.monotonic() < deadline:  # the edit's progress bar: under way
        time.sleep(0.2)
    proc.send_signal(sent)
    proc.wait(timeout=60)
    reader.join(timeout=10)
    err = "".join(seen)
    assert proc.returncode == 130, err[-500:]
    lines = [line for line in err.replace("\r", "\n").splitlines() if line.strip() and "%|" not in line]
    assert lines[-1] == "coloredit: interrupted (nothing partial was written)"
    assert "Traceback" not in err
    assert list(tmp_path.iterdir()) == []
