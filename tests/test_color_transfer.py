"""Acceptance of image-guided color on the toy world, on a fixed smaller set of held-out edits: the
default preset, no color word in the target prompt, color lock off."""

import numpy as np
import pytest

from coloredit import ColorEditPipeline, preset
from coloredit.toy.ablation import held_out_edits, score_variant, summarize


@pytest.fixture(scope="module")
def default_scores():
    pipe = ColorEditPipeline.from_pretrained("toy")
    pipe.set_progress_bar_config(disable=True)
    config = preset()
    assert config.target_prompt == "no-color" and not config.color_lock
    rows, _ = score_variant(pipe, held_out_edits(12), config)
    return rows, summarize(rows)


def test_named_colors_come_from_the_reference_image(default_scores):
    _, summary = default_scores
    assert summary["named_right"] >= 0.9, summary


def test_hues_between_names_come_through(default_scores):
    _, summary = default_scores
    assert summary["median_between"] <= 15.0, summary


def test_shape_and_background_are_kept(default_scores):
    rows, summary = default_scores
    assert summary["iou"] >= 0.7, summary
    assert all(r["background_identical"] for r in rows)
    assert np.isfinite([r["hue_error"] for r in rows]).all()
