"""CI guard of exact color on the toy world: the default preset on a fixed small subset of the test set
(hex, reference with mask, reference without mask; v2 and the out-of-distribution toon style), judged
against the oracle render with the issue's thresholds."""

import numpy as np
import pytest

from coloredit import ColorEditPipeline, preset
from coloredit.bench.ablation import DEFAULT, measured, summarize, summarize_reconstruction
from coloredit.bench.toy_sets import ablation_set, reconstruction_set


@pytest.fixture(scope="module")
def toy():
    pipe = ColorEditPipeline.from_pretrained("toy")
    pipe.set_progress_bar_config(disable=True)
    return pipe


def default_rows(pipe, folder, samples):
    return measured(pipe, [DEFAULT], folder, folder / "results", samples, measure=True)[DEFAULT]


@pytest.fixture(scope="module")
def rows(toy, tmp_path_factory):
    assert preset().exact_color
    rows = []
    for split, count in (("test", 6), ("ood", 3)):
        folder = tmp_path_factory.mktemp(split)
        rows += default_rows(toy, folder, ablation_set(folder, split, count))
    return rows


def test_default_lands_on_the_oracle_color(rows):
    summary = summarize(rows)
    assert summary["delta_e"] <= 4.0 and summary["appearance"] <= 6.0, summary
    assert summary["blotchy"] <= 0.12, summary  # at most one blotchy edit of 9
    for kind, limit in (("hex", 5.0), ("reference without mask", 6.0), ("toon", 6.0)):
        subset = summarize([r for r in rows if kind in r["tags"]])
        assert subset["delta_e"] <= limit, (kind, subset)


def test_shape_and_background_are_kept(rows):
    assert np.mean([r["iou"] for r in rows]) >= 0.85
    assert all(r["background_identical"] for r in rows)


def test_asking_for_the_source_color_reconstructs(toy, tmp_path):
    summary = summarize_reconstruction(default_rows(toy, tmp_path, reconstruction_set(tmp_path, 3)))
    assert summary["median"] <= 2.0, summary
