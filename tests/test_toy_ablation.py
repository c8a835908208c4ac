"""The exact-color ablation runs through the benchmark's store, so a stopped run resumes and the report is
rebuilt from it; its sets never share a scene, and its subsets say what each edit is."""

import numpy as np
import pytest

from coloredit import ColorEditPipeline
from coloredit.bench import ablation
from coloredit.bench.methods import pixel
from coloredit.bench.metrics.toy_world import BackgroundIdentical, ShadingKept
from coloredit.colors import delta_e00
from coloredit.toy import edit_sets
from coloredit.toy.meter import fit_meter, held_out_error
from coloredit.toy.render import sample_scene

PIXEL_VARIANTS = ["pixel CIELAB mean shift", "exact color alone, no diffusion"]


def test_evaluation_resumes_from_stored_variants(tmp_path, monkeypatch):
    pipe = ColorEditPipeline.from_pretrained("toy")
    store, report = tmp_path / "store", tmp_path / "ablation.md"
    counts = {"test": 3, "ood": 2}
    first = ablation.run_ablation(pipe, counts, report, PIXEL_VARIANTS, store=store, measure=True, grid_edits=2)
    stored = [r for path in store.glob("results/*/[to]*-[0-9]/results.jsonl") for r in path.read_text().splitlines()]
    assert len(stored) == 2 * (3 + 2) and report.with_suffix(".png").exists()  # two variants on the two sets

    def no_measuring(*args, **kwargs):
        raise AssertionError("a stored edit was measured again")

    monkeypatch.setattr(pixel, "pixel_edit", no_measuring)
    again = ablation.run_ablation(pipe, counts, tmp_path / "again.md", PIXEL_VARIANTS, store=store)
    assert again["table"] == first["table"]
    only_read = ablation.run_ablation(pipe, counts, tmp_path / "read.md", PIXEL_VARIANTS, store=store, measure=False)
    assert only_read["table"] == first["table"]
    text = (tmp_path / "again.md").read_text()
    assert "| pixel CIELAB mean shift | test | 3 |" in text and "| exact color alone, no diffusion | ood | 2 |" in text
    with pytest.raises(AssertionError, match="measured again"):  # another edit count is another measurement
        ablation.run_ablation(pipe, {"test": 4}, tmp_path / "other.md", PIXEL_VARIANTS, store=store)


def test_sets_are_disjoint_and_edits_are_real_changes():
    sets = {split: edit_sets.make_edits(split, 12) for split in edit_sets.SETS}
    seeds = [e.source.spec.seed for edits in sets.values() for e in edits]
    assert len(set(seeds)) == len(seeds)
    assert {e.source.spec.style for e in sets["ood"]} == {"toon"} and {e.source.spec.style for e in sets["test"]} == {
        "v2"
    }
    for edit in sets["test"]:
        assert edit.kind in edit_sets.KINDS and edit.kind in edit.tags
        assert not np.array_equal(edit.oracle[edit.source.mask], edit.source.image[edit.source.mask])
        assert edit.reference.spec.objects[0].color == edit.target_rgb


def test_albedo_meter_reads_held_out_renders_base_color():
    """The meter that scores generated sources, against the renderer's ground truth on renders it never saw
    (both styles; the toon style was never fitted on)."""
    meter = fit_meter(count=300)
    for style in ("v2", "toon"):
        median, p90 = held_out_error(meter, count=60, style=style)
        assert median < 2.5 and p90 < 6.0, (style, median, p90)


def test_generated_sources_are_the_models_own_images_with_masks_and_real_changes():
    pipe = ColorEditPipeline.from_pretrained("toy")
    pipe.set_progress_bar_config(disable=True)
    meter = fit_meter(count=100)
    edits = edit_sets.generated_edits(pipe, 2, meter)
    assert len(edits) == 2
    for i, edit in enumerate(edits):
        seed = edit_sets.GENERATED_SEED + i
        spec = sample_scene(seed, pattern=None)
        generated = np.asarray(pipe.generate([spec.caption], [seed], *edit_sets.GENERATION)[0])
        assert np.array_equal(edit.source.image, generated) and edit.source.caption == spec.caption
        assert 0 < edit.source.read_mask.sum() <= edit.source.mask.sum() < edit.source.mask.size
        assert edit.oracle is None and "generated" in edit.tags and edit.kind in edit.tags
        assert delta_e00(edit.source.base_lab, edit_sets.lab_of(edit.target_rgb)) >= 15
        # scored without an oracle: an untouched source has the background kept and its own shading
        untouched = dict(edited=edit.source.image, source=edit.source.image, mask=edit.source.mask)
        assert BackgroundIdentical().value(**untouched) == 1.0
        assert ShadingKept().value(**untouched, detected_mask=edit.source.found) > 0.999


def test_the_ablation_command_reports_and_refuses_unknown_variants(tmp_path, capsys):
    from coloredit.cli import main

    out, store = tmp_path / "ablation.md", tmp_path / "store"
    chosen = ["--variants", "exact color alone, no diffusion", "--store", str(store), "--out", str(out)]
    assert main(["bench", "ablation", "--test", "2", "--ood", "0", "--generated", "0", *chosen]) == 0
    assert "| exact color alone, no diffusion | test | 2 |" in out.read_text()
    assert main(["bench", "ablation", "--variants", "no such variant", "--store", str(store)]) == 2
    assert "unknown variants" in capsys.readouterr().err
