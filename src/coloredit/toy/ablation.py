"""The exact-color evaluation on the toy world: every method on the same edits, judged against the oracle
(the renderer drawing the same scene with the object's base color changed); writes docs/ablation.md.

Three sets that never share a seed: `tune` (v2 renders: the only set looked at while tuning), `test` (v2
renders of other seeds) and `ood` (the toon style, kept out of training and tuning). An edit's target is a
color drawn over the whole gamut; it is asked for as a hex code, as a reference image with its mask, or as
a reference image without one (a single object of that base color in another scene), in turn. Baselines get
fair statistics: the reference object's (its mask, or the same automatic mask our method gets), or the hex;
never the oracle's.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

from ..bench.metrics.color import object_lab
from ..colors import delta_e00, rgb_to_lab, to_hex
from ..config import EDITS_OFF, EditConfig, preset
from ..exact import lit_albedo, pixel_mean_shift, pixel_reinhard, recolor
from ..images import save_atomic
from ..masks import salient_object
from .demo import sheet
from .evaluate import OBJECT_DIFFERS, oracle_scores, plate
from .render import Scene, draw, render, sample_color
from .render import recolor as recolor_spec

SETS = {"tune": (70_000_000, "v2"), "test": (71_000_000, "v2"), "ood": (72_000_000, "toon")}
KINDS = ("hex", "reference", "reference without mask")
REFERENCE_OFFSET = 500_000  # reference scenes: seed + this

# name: (kind, base preset or None for a pixel method, config changes or the pixel method's name)
VARIANTS: dict[str, tuple[str, str | None, dict | str]] = {
    "pixel CIELAB mean shift": ("pixel", None, "mean"),
    "pixel Reinhard (mean and std)": ("pixel", None, "reinhard"),
    "pixel a*b* shift (lightness kept)": ("pixel", None, "ab"),
    "exact color alone, no diffusion": ("pixel", None, "exact"),
    "text only: color word swapped": (
        "diffusion",
        "paper",
        dict(EDITS_OFF, paste_back=False, target_prompt="reference-color", inversion="direct"),
    ),
    "paper (null-text inversion)": ("diffusion", "paper", {}),
    "previous default (x0 WCT, no exact color)": ("diffusion", "coloredit", dict(exact_color=False)),
    "default: x0 WCT + exact color": ("diffusion", "coloredit", {}),
    "default, a color's reference the source recolored in pixels": (
        "diffusion",
        "coloredit",
        dict(color_reference="recolor"),
    ),
}
DEFAULT = "default: x0 WCT + exact color"
RECONSTRUCTIONS = 24  # test edits asked for their own color
PAPER_EDITS = 12  # the paper's null-text inversion costs ~45 s an edit here: it runs on the first edits only


@dataclass
class Edit:
    name: str
    source: Scene
    target_rgb: tuple[int, int, int]
    kind: str  # hex | reference | reference without mask
    reference: Scene
    oracle: np.ndarray
    tags: list[str] = field(default_factory=list)

    @property
    def hex(self) -> str:
        return to_hex(self.target_rgb)

    @property
    def reference_mask(self) -> np.ndarray | None:
        return self.reference.mask if self.kind == "reference" else None


def _lab(rgb) -> np.ndarray:
    return rgb_to_lab(np.array(rgb, dtype=np.float64) / 255.0)


def edit_tags(source: Scene, target_rgb, kind: str) -> list[str]:
    """The subsets an edit belongs to."""
    obj = source.spec.objects[0]
    before, after = _lab(obj.color), _lab(target_rgb)
    chroma = lambda lab: float(np.hypot(lab[1], lab[2]))  # noqa: E731
    tags = [source.spec.style, kind]
    if chroma(before) < 10 or chroma(after) < 10:
        tags.append("achromatic")
    if abs(after[0] - before[0]) > 20:
        tags.append("lightness change")
    elif chroma(before) >= 10 and chroma(after) >= 10:
        tags.append("hue only")
    if obj.glossy:
        tags.append("glossy")
    if obj.pattern:
        tags.append("two-tone")
    if len(source.spec.objects) > 1:
        tags.append("several objects")
    if source.spec.jpeg:
        tags.append("JPEG source")
    return tags


def make_edits(split: str, count: int) -> list[Edit]:
    seed, style = SETS[split]
    return edits_from(seed, style, count, split)


def edits_from(seed: int, style: str, count: int, prefix: str) -> list[Edit]:
    """`count` edits whose sources are the renders `seed`, `seed + 1`, ... of `style`."""
    edits = []
    for i in range(count):
        source = render(seed + i, style=style)
        rng = np.random.default_rng(seed + i)
        target = sample_color(rng)
        while delta_e00(_lab(source.spec.objects[0].color), _lab(target)) < 15:  # a real change
            target = sample_color(rng)
        kind = KINDS[i % len(KINDS)]
        reference = render(seed + REFERENCE_OFFSET + i, style=style, color=target, objects=1, pattern=None)
        oracle = draw(recolor_spec(source.spec, 0, target)).image
        edits.append(
            Edit(f"{prefix}-{i:03d}", source, target, kind, reference, oracle, edit_tags(source, target, kind))
        )
    return edits


def reference_statistics(edit: Edit) -> tuple[np.ndarray, np.ndarray]:
    """(mean, std) CIELAB of the reference object, over its mask or the automatic one; the hex's own Lab
    (and no std: the source's is kept) for a hex."""
    if edit.kind == "hex":
        return _lab(edit.target_rgb), None
    mask = edit.reference.mask if edit.kind == "reference" else salient_object(edit.reference.image)
    lab = rgb_to_lab(edit.reference.image[mask] / 255.0)
    return lab.mean(axis=0), lab.std(axis=0)


def run_pixel(method: str, edit: Edit) -> np.ndarray:
    image, mask = edit.source.image, edit.source.mask
    mean, std = reference_statistics(edit)
    if method == "mean":
        return pixel_mean_shift(image, mask, mean)
    if method == "ab":
        return pixel_mean_shift(image, mask, mean, keep_lightness=True)
    if method == "reinhard":
        own = rgb_to_lab(image[mask] / 255.0).std(axis=0)
        return pixel_reinhard(image, mask, mean, own if std is None else std)
    if method == "exact":
        from ..colors import prompt_color

        target = edit.target_rgb
        if edit.kind != "hex":
            mask_ref = edit.reference.mask if edit.kind == "reference" else salient_object(edit.reference.image)
            target = lit_albedo(edit.reference.image, mask_ref)
        return recolor(image, mask, target, hint_rgb=prompt_color(edit.source.caption))
    raise ValueError(method)


def run_diffusion(pipe, edit: Edit, config: EditConfig) -> tuple[np.ndarray, int]:
    source = edit.source
    colour = (
        dict(color=edit.hex)
        if edit.kind == "hex"
        else dict(reference=edit.reference.image, reference_mask=edit.reference_mask)
    )
    out = pipe(source.caption, source.mask, image=source.image, config=config, **colour)
    return np.asarray(out.image), out.unet["rows"]


def score_variant(pipe, edits: list[Edit], variant: str) -> list[dict]:
    kind, base, changes = VARIANTS[variant]
    config = preset(base).replace(**changes) if base else preset()
    pipe.inversion_cache.clear()  # each variant pays for its own inversions: rows and seconds compare fairly
    rows = []
    for edit in edits:
        started = time.perf_counter()
        if kind == "pixel":
            edited, unet_rows = run_pixel(changes, edit), 0
        else:
            edited, unet_rows = run_diffusion(pipe, edit, config)
        row = oracle_scores(
            edit.source, edit.oracle, edited, config.feather if config.paste_back else 0.0, plate(edit.source)
        )
        rows.append(
            {
                "edit": edit.name,
                "tags": edit.tags,
                **row,
                "rows": unet_rows,
                "seconds": time.perf_counter() - started,
                "image": edited,
            }
        )
    return rows


def reconstruction(pipe, edits: list[Edit]) -> list[dict]:
    """The default preset asked for the source's own color (its base color as a hex): ΔE00 to the source."""
    rows = []
    for edit in edits:
        spec = edit.source.spec
        out = pipe(
            edit.source.caption,
            edit.source.mask,
            image=edit.source.image,
            color=to_hex(spec.objects[0].color),
        )
        image = np.asarray(out.image)
        rows.append(
            {
                "delta_e": float(
                    delta_e00(object_lab(image, edit.source.mask), object_lab(edit.source.image, edit.source.mask))
                ),
                "tags": edit.tags,
            }
        )
    return rows


def summarize_reconstruction(rows: list[dict]) -> dict:
    errors = [r["delta_e"] for r in rows]
    return {"edits": len(rows), "median": float(np.median(errors)), "p90": float(np.percentile(errors, 90))}


def summarize(rows: list[dict]) -> dict:
    """Medians, the blotch rate, IoU and background over rows (NaN-free)."""
    if not rows:
        return {}
    values = lambda key: np.array([r[key] for r in rows], dtype=float)  # noqa: E731
    return {
        "edits": len(rows),
        "delta_e": float(np.median(values("delta_e"))),
        "delta_e_p90": float(np.percentile(values("delta_e"), 90)),
        "appearance": float(np.median(values("appearance"))),
        "blotchy": float(np.mean(values("spread_excess") > 15)),
        "iou": float(np.mean(values("iou"))),
        "background_identical": float(np.mean(values("background_identical"))),
        "rows": float(np.mean(values("rows"))),
        "seconds": float(np.mean(values("seconds"))),
    }


SUBSETS = (
    "hue only",
    "lightness change",
    "achromatic",
    "glossy",
    "two-tone",
    "several objects",
    "JPEG source",
    *KINDS,
    "toon",
)


def by_subset(rows: list[dict]) -> dict[str, dict]:
    return {name: summarize([r for r in rows if name in r["tags"]]) for name in SUBSETS}


# -- storage and the report ------------------------------------------------------------------------------


def variant_key(pipe, variant: str, split: str, count: int) -> str:
    _, base, changes = VARIANTS[variant]
    config = (preset(base).replace(**changes) if base else preset()).to_dict()
    settings = [variant, config, split, count, str(getattr(pipe, "name_or_path", "")), model_fingerprint(pipe)]
    return hashlib.sha256(json.dumps(settings, sort_keys=True, default=str).encode()).hexdigest()[:16]


def model_fingerprint(pipe) -> float:
    """A number that changes with the weights, so results stored for one model are never reported for the
    next one trained into the same folder."""
    parts = [getattr(pipe, name, None) for name in ("unet", "vae", "text_encoder")]
    weights = [p.detach().double().abs().sum() for part in parts if part is not None for p in part.parameters()]
    return round(float(sum(weights)), 3)


def measured(pipe, variant: str, split: str, edits: list[Edit], store: Path | None, measure: bool) -> list[dict] | None:
    """A variant's rows on a set: from the store, else measured (and stored); None if neither."""
    path = None if store is None else store / f"{variant_key(pipe, variant, split, len(edits))}.npz"
    if path is not None and path.exists():
        with np.load(path) as stored:
            rows = json.loads(str(stored["rows"]))
            for row, image in zip(rows, stored["images"], strict=True):
                row["image"] = image
        return rows
    if not measure:
        return None
    rows = score_variant(pipe, edits, variant)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        temp = path.with_suffix(".tmp.npz")
        plain = [{k: v for k, v in r.items() if k != "image"} for r in rows]
        np.savez(temp, rows=np.array(json.dumps(plain)), images=np.stack([r["image"] for r in rows]))
        os.replace(temp, path)
    return rows


def run_ablation(
    pipe,
    counts: dict[str, int],
    out_md: Path,
    variants: list[str] | None = None,
    store: Path | None = None,
    measure: bool = True,
    grid_edits: int = 6,
) -> dict:
    """Measure (or, with `measure=False`, only report from the store) every variant on every set."""
    variants = variants or list(VARIANTS)
    table: dict[str, dict[str, dict]] = {}
    images: dict[str, list[np.ndarray]] = {}
    edits = {split: make_edits(split, count) for split, count in counts.items()}
    for variant in variants:
        for split, split_edits in edits.items():
            chosen = split_edits[:PAPER_EDITS] if variant.startswith("paper") else split_edits
            rows = measured(pipe, variant, split, chosen, store, measure)
            if rows is None:
                continue
            table.setdefault(variant, {})[split] = {"all": summarize(rows), **by_subset(rows)}
            if split == "test":
                images[variant] = [r["image"] for r in rows[:grid_edits]]
            print(f"{variant} [{split}]: {table[variant][split]['all']}", flush=True)
    recon = None
    if "test" in edits:
        recon_path = None if store is None else store / f"reconstruction-{variant_key(pipe, DEFAULT, 'test', 0)}.json"
        if recon_path is not None and recon_path.exists():
            recon = json.loads(recon_path.read_text())
        elif measure:
            recon = summarize_reconstruction(reconstruction(pipe, edits["test"][:RECONSTRUCTIONS]))
            if recon_path is not None:
                recon_path.parent.mkdir(parents=True, exist_ok=True)
                recon_path.write_text(json.dumps(recon))
        print(f"no-edit reconstruction: {recon}", flush=True)
    write_report(out_md, table, images, edits.get("test", [])[:grid_edits], counts, recon)
    return {"table": table, "reconstruction": recon}


def _cell(stats: dict, key: str, digits: int = 1) -> str:
    return "-" if not stats or key not in stats else f"{stats[key]:.{digits}f}"


def write_report(
    out_md: Path, table: dict, images: dict, shown: list[Edit], counts: dict, recon: dict | None = None
) -> None:
    out_md.parent.mkdir(parents=True, exist_ok=True)
    header = (
        "| variant | set | edits | ΔE00 to oracle (median) | p90 | appearance ΔE00 | blotchy | IoU | background "
        "identical | U-Net rows | s/edit |\n|---|---|---|---|---|---|---|---|---|---|---|"
    )
    lines = [header]
    for variant, sets in table.items():
        for split, stats in sets.items():
            s = stats["all"]
            lines.append(
                f"| {variant} | {split} | {s['edits']} | {_cell(s, 'delta_e')} | {_cell(s, 'delta_e_p90')} | "
                f"{_cell(s, 'appearance')} | {_cell(s, 'blotchy', 2)} | {_cell(s, 'iou', 3)} | "
                f"{_cell(s, 'background_identical', 2)} | {_cell(s, 'rows', 0)} | {_cell(s, 'seconds', 2)} |"
            )
    subset_lines = ["| variant | " + " | ".join(SUBSETS) + " |", "|---|" + "---|" * len(SUBSETS)]
    for variant, sets in table.items():
        merged = sets.get("test", {})
        cells = [
            f"{_cell(merged.get(name, {}), 'delta_e')} / {_cell(merged.get(name, {}), 'appearance')}"
            f" ({merged.get(name, {}).get('edits', 0)})"
            for name in SUBSETS[:-1]
        ]
        ood = sets.get("ood", {}).get("all", {})
        cells.append(f"{_cell(ood, 'delta_e')} / {_cell(ood, 'appearance')} ({ood.get('edits', 0)})")
        subset_lines.append(f"| {variant} | " + " | ".join(cells) + " |")
    if shown and images:
        rows = [
            sheet([e.source.image, e.reference.image, e.oracle] + [images[n][i] for n in images], scale=2)
            for i, e in enumerate(shown)
        ]
        save_atomic(
            Image.fromarray(np.concatenate([np.asarray(r) for r in rows], axis=0)),
            out_md.with_suffix(".png"),
            force=True,
        )
    sets = ", ".join(f"{split} {n}" for split, n in counts.items())
    out_md.write_text(f"""# Exact color on the toy world: every method against the oracle render

Generated by `python -m coloredit.toy ablation` ({sets} edits) on the shipped toy model. Each edit
recolors the first object of a rendered scene to a color drawn over the whole gamut, asked for in turn as a hex
code, a reference image with its mask, and a reference image without one. The oracle is the renderer's drawing
of the same scene with that object's base color changed.

- **ΔE00 to oracle**: CIEDE2000 between the mean CIELAB of the edited object's interior and the oracle's (the
  mask eroded by one pixel; highlights and second colors count as they are, in both).
- **appearance**: median per-pixel ΔE00 to the oracle over the object's interior (shading, highlights, second
  colors).
- **blotchy**: share of edits whose object hue spread (circular std of its chromatic pixels' CIELAB hue) exceeds
  the oracle's by more than 15°.
- **IoU**: of the pixels near the object that differ from the empty room (ΔE00 > {OBJECT_DIFFERS:g}), edit against
  oracle. **background identical**: share of edits whose pixels outside the feathered mask are the source's bytes.
- Sets: `tune` (the only one looked at while tuning), `test` (other seeds), `ood` (the toon style: never in
  training or tuning). The paper's row (null-text inversion, ~45 s an edit here) runs on the first {PAPER_EDITS}
  edits of each set.

{chr(10).join(lines)}

Not measured in this report: {", ".join(v for v in VARIANTS if v not in table) or "none"}.

What was looked at while tuning: only the `tune` set (and a pixel-only development script on the same seeds);
the CIELAB-distance fit, the prompt's color word as a hint for the main color, the outline unmixing and the
dark-source smoothing of `exact.py` came from it. The `test` and `ood` rows were produced afterwards and nothing
was changed after seeing them.

No-edit reconstruction (default preset asked for the source's own base color, first {RECONSTRUCTIONS} test edits;
ΔE00 of the object's mean to the source's): {
        "not measured in this run" if not recon else f"median {recon['median']:.2f}, p90 {recon['p90']:.2f}"
    }.

## By subset (test set; ΔE00 to oracle / appearance, medians, with the number of edits; last column the OOD set)

{chr(10).join(subset_lines)}

Rows of the grid (`ablation.png`, test set): source | reference | oracle | one column per variant, in the
table's order.

![examples](ablation.png)
""")
