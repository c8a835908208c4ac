"""The exact-color evaluation keeps each measured variant, so a stopped run resumes and the report is rebuilt
from it; its sets never share a scene, and its subsets say what each edit is."""

import numpy as np
import pytest

from coloredit import ColorEditPipeline
from coloredit.toy import ablation

PIXEL_VARIANTS = ["pixel CIELAB mean shift", "exact color alone, no diffusion"]


def test_evaluation_resumes_from_stored_variants(tmp_path, monkeypatch):
    pipe = ColorEditPipeline.from_pretrained("toy")
    store, report = tmp_path / "store", tmp_path / "ablation.md"
    counts = {"test": 3, "ood": 2}
    first = ablation.run_ablation(pipe, counts, report, PIXEL_VARIANTS, store=store, measure=True, grid_edits=2)
    assert len(list(store.glob("*.npz"))) == 4 and report.with_suffix(".png").exists()

    def no_measuring(*args):
        raise AssertionError("a stored variant was measured again")

    monkeypatch.setattr(ablation, "score_variant", no_measuring)
    again = ablation.run_ablation(pipe, counts, tmp_path / "again.md", PIXEL_VARIANTS, store=store, measure=False)
    assert again["table"] == first["table"]
    text = (tmp_path / "again.md").read_text()
    assert "| pixel CIELAB mean shift | test | 3 |" in text and "| exact color alone, no diffusion | ood | 2 |" in text
    with pytest.raises(AssertionError, match="measured again"):  # another edit count is another measurement
        ablation.run_ablation(pipe, {"test": 4}, tmp_path / "other.md", PIXEL_VARIANTS, store=store)


def test_sets_are_disjoint_and_edits_are_real_changes():
    sets = {split: ablation.make_edits(split, 12) for split in ablation.SETS}
    seeds = [e.source.spec.seed for edits in sets.values() for e in edits]
    assert len(set(seeds)) == len(seeds)
    assert {e.source.spec.style for e in sets["ood"]} == {"toon"} and {e.source.spec.style for e in sets["test"]} == {
        "v2"
    }
    for edit in sets["test"]:
        assert edit.kind in ablation.KINDS and edit.kind in edit.tags
        assert not np.array_equal(edit.oracle[edit.source.mask], edit.source.image[edit.source.mask])
        assert edit.reference.spec.objects[0].color == edit.target_rgb
