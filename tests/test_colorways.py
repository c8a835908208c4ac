"""Colorways from the CLI on the toy model: one inversion, the colors batched, each judged against the toy
renderer's drawing of the scene in that color (the oracle)."""

import json

import numpy as np
import pytest
from PIL import Image

from coloredit.cli import main
from coloredit.colors import parse_color
from coloredit.colorways import file_name, split_colors
from coloredit.images import feather_radius, feather_weights
from coloredit.measure import delta_e_object
from coloredit.toy.render import draw, recolor, render


@pytest.mark.parametrize(
    "text, colors",
    [
        ("navy,#33cc99,200,40,40", ["navy", "#33cc99", "200,40,40"]),
        ("200,40,40,navy", ["200,40,40", "navy"]),
        ("navy; 10, 20, 30\n#fff", ["navy", "10, 20, 30", "#fff"]),
        ("red,,blue,", ["red", "blue"]),
    ],
)
def test_color_lists_keep_rgb_triples_together(text, colors):
    assert split_colors(text) == colors


def test_file_names_keep_only_safe_characters():
    assert file_name(3, "#33cc99") == "3-33cc99.png" and file_name(1, "10, 20, 30") == "1-10-20-30.png"


def test_colorways_cli_reaches_every_color_against_the_oracle(tmp_path, capsys):
    scene = render(123, shape="cup", color="red", objects=2, pattern=None, jpeg=0)
    Image.fromarray(scene.image).save(tmp_path / "cup.png")
    Image.fromarray(scene.mask.astype(np.uint8) * 255).save(tmp_path / "mask.png")
    colors = ["navy", "#33cc99", "240,200,40"]
    out = tmp_path / "ways"
    args = ["colorways", str(tmp_path / "cup.png"), "--mask", str(tmp_path / "mask.png"), "--colors", ",".join(colors)]
    args += ["--prompt", scene.caption, "--model", "toy", "--steps", "10", "--batch", "2", "-o", str(out), "--json"]
    args += ["--set", "scene_light=none"]  # the toy renderer's light is known: a white key of level 1
    assert main([*args, "--engine", "diffusion"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert [r["color"] for r in result["colorways"]] == colors
    assert result["unet"]["by_stage"]["inversion"]["rows"] == 10  # one inversion for every color
    assert sorted(p.name for p in out.iterdir()) == ["1-navy.png", "2-33cc99.png", "3-240-200-40.png", "sheet.png"]
    outside = feather_weights(scene.mask, feather_radius(0.02, (64, 64))) == 0
    for record, color in zip(result["colorways"], colors, strict=True):
        edited = np.asarray(Image.open(record["file"]).convert("RGB"))
        assert np.array_equal(edited[outside], scene.image[outside])  # background bytes kept
        oracle = draw(recolor(scene.spec, 0, parse_color(color))).image
        assert delta_e_object(edited, scene.mask, oracle) < 3.0, color
        assert record["delta_e00"] < 3.0
    assert Image.open(out / "sheet.png").height > 256
    # a second run into the same folder refuses to overwrite, before loading any model
    args[args.index("toy")] = str(tmp_path / "no-such-model")
    assert main(args) == 2 and "--force" in capsys.readouterr().err
