"""The ablation keeps each measured variant, so a stopped run resumes and the report is rebuilt from it."""

import pytest

from coloredit import ColorEditPipeline
from coloredit.toy import ablation


def test_ablation_resumes_from_stored_variants(tmp_path, monkeypatch):
    pipe = ColorEditPipeline.from_pretrained("toy")
    pipe.set_progress_bar_config(disable=True)
    variants = {name: ablation.VARIANTS[name] for name in ("no edit, DDIM inversion",)}
    store, report = tmp_path / "store", tmp_path / "ablation.md"
    first = ablation.run_ablation(pipe, 2, report, variants, grid_edits=2, store=store)
    assert len(list(store.glob("*.npz"))) == 1 and report.with_suffix(".png").exists()

    def no_measuring(*args):
        raise AssertionError("a stored variant was measured again")

    monkeypatch.setattr(ablation, "score_variant", no_measuring)
    again = ablation.run_ablation(pipe, 2, tmp_path / "again.md", variants, grid_edits=2, store=store)
    assert again == first
    text = (tmp_path / "again.md").read_text()
    assert "| no edit, DDIM inversion |" in text and "Not measured yet" in text and "text only" in text
    with pytest.raises(AssertionError, match="measured again"):  # another edit count is another measurement
        ablation.run_ablation(pipe, 3, tmp_path / "other.md", variants, store=store)
