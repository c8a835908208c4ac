import json
import os
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from coloredit.cli import main
from coloredit.images import feather_radius, feather_weights, load_mask


def edit_args(image, mask, model, out, *extra):
    return [
        "edit",
        str(image),
        "--mask",
        str(mask),
        "--color",
        "#2050ff",
        "--prompt",
        "a red car",
        "--model",
        str(model),
        "--steps",
        "4",
        "--inversion",
        "ddim",
        "-o",
        str(out),
        *extra,
    ]


def test_cli_edits_with_a_saved_model_folder(photo, model_dir, tmp_path):
    image, mask = photo
    out = tmp_path / "edited.png"
    env = dict(os.environ, HF_HUB_OFFLINE="1")
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "coloredit.cli",
            *edit_args(image, mask, model_dir, out, "--json", "--mask-refine", "off", "--engine", "diffusion"),
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    assert result["output"] == str(out) and result["mask_change"] == [0.0]  # the mask as given
    assert result["config"]["num_inference_steps"] == 4 and result["config"]["inversion"] == "ddim"
    assert {"load", "inversion", "edit", "decode"} <= set(result["seconds"])
    unet = result["unet"]
    assert unet["calls"] == sum(s["calls"] for s in unet["by_stage"].values()) == 4 + 4
    # inversion: 1 row a step; edit: source and target, 1 row each a step (no guidance; the color's
    # reference is the source recolored in pixels: no rows of its own)
    assert unet["rows"] == 4 * 1 + 4 * 2
    assert "100%" in proc.stderr  # progress bars go to stderr

    original = np.asarray(Image.open(image).convert("RGB"))
    edited = np.asarray(Image.open(out).convert("RGB"))
    assert edited.shape == original.shape
    outside = feather_weights(load_mask(mask, (128, 96)), feather_radius(0.02, (128, 96))) == 0
    assert np.array_equal(edited[outside], original[outside])


def test_cli_refuses_to_overwrite_without_force(photo, model_dir, tmp_path, capsys):
    image, mask = photo
    out = tmp_path / "edited.png"
    out.write_bytes(b"keep me")
    assert main(edit_args(image, mask, model_dir, out)) == 2
    assert "--force" in capsys.readouterr().err and out.read_bytes() == b"keep me"
    assert main(edit_args(image, mask, model_dir, out, "--force", "--set", "feather=0.05")) == 0
    assert Image.open(out).size == (128, 96)


@pytest.fixture()
def bad_inputs(tmp_path):
    not_image = tmp_path / "notes.png"
    not_image.write_text("not an image")
    wide_mask = tmp_path / "wide.png"
    Image.fromarray(np.full((10, 100), 255, np.uint8)).save(wide_mask)
    empty = tmp_path / "empty.png"
    Image.fromarray(np.zeros((96, 128), np.uint8)).save(empty)
    full = tmp_path / "full.png"
    Image.fromarray(np.full((96, 128), 255, np.uint8)).save(full)
    return {
        "missing image": (dict(image=tmp_path / "nothere.png"), "not found"),
        "unreadable image": (dict(image=not_image), "not a readable image"),
        "mask of another aspect ratio": (dict(mask=wide_mask), "aspect ratio"),
        "empty mask": (dict(mask=empty), "mask is empty"),
        "full mask": (dict(mask=full), "whole image"),
        "unknown color": (dict(extra=["--color", "blurple"]), "unknown color"),
        "missing model": (dict(model=tmp_path / "no-model"), "model folder not found"),
        "hub model without network": (dict(model="nobody/no-such-model"), "not in the Hugging Face cache"),
        "bad config override": (dict(extra=["--set", "tau=2"]), "tau must be in [0, 1]"),
        "a prompt too many": (dict(extra=["--prompt", "a blue house"]), "2 --prompt for 1 objects"),
    }


@pytest.mark.parametrize(
    "case",
    [
        "missing image",
        "unreadable image",
        "mask of another aspect ratio",
        "empty mask",
        "full mask",
        "unknown color",
        "missing model",
        "hub model without network",
        "bad config override",
        "a prompt too many",
    ],
)
def test_bad_input_exits_2_with_one_line_and_no_output(case, bad_inputs, photo, model_dir, tmp_path, capsys):
    image, mask = photo
    change, message = bad_inputs[case]
    out = tmp_path / "out.png"
    args = edit_args(change.get("image", image), change.get("mask", mask), change.get("model", model_dir), out)
    extra = change.get("extra", [])
    if extra[:1] == ["--color"]:
        args[args.index("--color") + 1] = extra[1]
    else:
        args += extra
    assert main(args) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("coloredit: error:") and message in err[-1]
    assert "Traceback" not in "\n".join(err)
    assert list(tmp_path.glob("*out*")) == []


def test_cli_exit_code_and_message_in_a_subprocess(photo, tmp_path):
    image, mask = photo
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "coloredit.cli",
            "edit",
            str(image),
            "--mask",
            str(mask),
            "--color",
            "nocolor",
            "--prompt",
            "x",
            "-o",
            str(tmp_path / "o.png"),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2
    assert proc.stderr.strip() == "coloredit: error: unknown color 'nocolor': give a CSS color name, #rrggbb or r,g,b"
    assert not (tmp_path / "o.png").exists()


@pytest.mark.parametrize(
    "argv", [["--help"], ["--version"], ["edit", "--help"], ["bench", "build", "--help"], ["edit"]]
)
def test_help_version_and_argument_errors_answer_without_loading_torch(argv):
    code = (
        "import sys\nfrom coloredit.cli import main\n"
        f"try:\n    main({argv!r})\nexcept SystemExit:\n    pass\n"
        "heavy = [m for m in ('torch', 'diffusers', 'transformers') if m in sys.modules]\n"
        "assert not heavy, heavy"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-500:]
