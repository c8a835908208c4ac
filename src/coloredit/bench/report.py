"""`coloredit bench report`: mean and 95% confidence interval per method x split x metric, NaNs counted;
report.md, results.csv, a bar plot per metric and image grids."""

from __future__ import annotations

import csv
import io
import json
import math
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from ..errors import ColorEditError
from ..images import save_atomic
from .manifest import load_manifest
from .run import MERGED, read_records

NOT_METRICS = {"id", "method", "split", "image", "seconds", "unet_rows", "tags"}
SPLITS = ("all", "synthetic", "real")
SHARES = {"blotchy"}  # per-sample 0/1 values: their mean is the share


def subsets(records: list[dict]) -> list[str]:
    """The splits present, then every tag the samples carry (material, light, lightness change, ...)."""
    present = [s for s in SPLITS if any(s in ("all", r["split"]) for r in records)]
    tags = dict.fromkeys(t for r in records for t in r.get("tags", []) if t not in SPLITS)
    return present + list(tags)


def _in_subset(record: dict, subset: str) -> bool:
    return subset == "all" or record["split"] == subset or subset in record.get("tags", [])


def summarize(records: list[dict]) -> list[dict]:
    """One row per (method, subset, metric): the splits "all", "synthetic" and "real" where present, then
    one subset per tag (column `split`)."""
    costs = [k for k in ("seconds", "unet_rows") if any(k in r for r in records)]  # last: what an edit cost
    metrics = [*sorted({k for r in records for k in r} - NOT_METRICS), *costs]
    methods = list(dict.fromkeys(r["method"] for r in records))
    rows = []
    for method in methods:
        for split in subsets(records):
            chosen = [r for r in records if r["method"] == method and _in_subset(r, split)]
            if not chosen:
                continue
            for metric in metrics:
                values = np.array([float(r.get(metric, float("nan"))) for r in chosen])
                finite = values[np.isfinite(values)]
                mean = float(finite.mean()) if len(finite) else float("nan")
                ci = float(1.96 * finite.std(ddof=1) / math.sqrt(len(finite))) if len(finite) > 1 else float("nan")
                rows.append(
                    {
                        "method": method,
                        "split": split,
                        "metric": metric,
                        "mean": mean,
                        "ci95": ci,
                        "median": float(np.median(finite)) if len(finite) else float("nan"),
                        "n": len(finite),
                        "nan": int(len(values) - len(finite)),
                    }
                )
    return rows


def bar_plot(rows: list[dict], metric: str) -> Image.Image:
    """Mean with its 95% interval per method (split "all"), drawn with PIL (no plotting dependency)."""
    chosen = [r for r in rows if r["metric"] == metric and r["split"] == "all"]
    font = ImageFont.load_default()
    width, height, bar = 120 * len(chosen) + 60, 300, 60
    image = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(image)
    finite = [
        abs(r["mean"]) + (r["ci95"] if math.isfinite(r["ci95"]) else 0) for r in chosen if math.isfinite(r["mean"])
    ]
    top = max(finite, default=1.0) or 1.0
    draw.text((10, 8), metric, fill="black", font=font)
    base = height - 50
    for i, r in enumerate(chosen):
        x = 50 + 120 * i
        if math.isfinite(r["mean"]):
            y = base - (base - 40) * abs(r["mean"]) / top
            draw.rectangle([x, y, x + bar, base], fill=(70, 110, 200))
            if math.isfinite(r["ci95"]):
                spread = (base - 40) * r["ci95"] / top
                draw.line([x + bar / 2, y - spread, x + bar / 2, y + spread], fill="black", width=2)
            draw.text((x, y - 16), f"{r['mean']:.3g}", fill="black", font=font)
        draw.text((x, base + 6), r["method"][:18], fill="black", font=font)
    draw.line([40, base, width - 10, base], fill="black")
    return image


def image_grid(out: Path, bench: Path, records: list[dict], sample_ids: list[str]) -> Image.Image:
    """Rows of source | reference | oracle (where the samples have one) | each method's edit."""
    samples = {s.id: s for s in load_manifest(bench, check_files=False)}
    methods = list(dict.fromkeys(r["method"] for r in records))
    by_key = {(r["id"], r["method"]): r for r in records}
    tiles, size = [], 128
    with_oracle = any(samples[i].oracle for i in sample_ids)
    for sample_id in sample_ids:
        sample = samples[sample_id]
        row = [sample.path(bench, "source"), sample.path(bench, "reference")]
        if with_oracle:
            row.append(sample.path(bench, "oracle") if sample.oracle else None)
        row += [out / by_key[(sample_id, m)]["image"] if (sample_id, m) in by_key else None for m in methods]
        tiles.append(
            [
                Image.open(p).convert("RGB").resize((size, size), Image.Resampling.NEAREST)
                if p
                else Image.new("RGB", (size, size), "gray")
                for p in row
            ]
        )
    grid = Image.new("RGB", (size * len(tiles[0]), size * len(tiles)), "white")
    for y, row in enumerate(tiles):
        for x, tile in enumerate(row):
            grid.paste(tile, (x * size, y * size))
    return grid


def subset_tables(rows: list[dict], chosen: list[str], metrics: list[str]) -> list[str]:
    """Markdown: per metric, a table of subsets (rows) by methods (columns): medians, shares for 0/1 metrics."""
    methods = list(dict.fromkeys(r["method"] for r in rows))
    cell = {(r["method"], r["split"], r["metric"]): r for r in rows}
    lines = [
        "## by subset",
        "",
        "Medians per subset (color errors are skewed: a few misread objects; the means are in results.csv); "
        "for 0/1 metrics such as blotchy, the mean (the share). n = samples in the subset.",
        "",
    ]
    for metric in metrics:
        header = "| subset | n | " + " | ".join(methods) + " |"
        lines += [f"### {metric}", "", header, "|---|---|" + "---|" * len(methods)]
        for subset in chosen:
            found = [cell.get((m, subset, metric)) for m in methods]
            n = next((c["n"] + c["nan"] for c in found if c), 0)
            values = [(c["mean"] if metric in SHARES else c["median"]) if c else None for c in found]
            lines.append(f"| {subset} | {n} | " + " | ".join("" if v is None else f"{v:.3g}" for v in values) + " |")
        lines.append("")
    return lines


def write_report(results: Path, bench: Path | None = None, grid_samples: int = 4) -> Path:
    """Write report.md, results.csv, plots/*.png and grid.png next to results.jsonl; returns report.md."""
    results = Path(results)
    out = results if results.is_dir() else results.parent
    records = read_records(out / MERGED)
    if not records:
        raise ColorEditError(f"no results in {out / MERGED}: run `coloredit bench run` first")
    rows = summarize(records)
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(rows[0]))
    writer.writeheader()
    writer.writerows(rows)
    (out / "results.csv").write_text(buffer.getvalue())
    metrics = list(dict.fromkeys(r["metric"] for r in rows))
    for metric in metrics:
        save_atomic(bar_plot(rows, metric), out / "plots" / f"{metric}.png", force=True)
    lines = [
        "# COLORBENCH report",
        "",
        f"{len(records)} results from `{out / MERGED}`; mean ± 95% CI "
        "(1.96 standard errors); n = samples with a finite value, NaN = samples without one.",
        "",
    ]
    info = out / "bench.json"
    floor = json.loads(info.read_text()).get("noise_floor") if info.exists() else None
    if floor:
        lines += [
            f"Monte Carlo noise floor (median per-pixel ΔE00 between two renders of one scene with different "
            f"sampler seeds, over the object): median {floor['median']:.2f}, max {floor['max']:.2f} over "
            f"{floor['scenes']} scenes. Differences below it are noise.",
            "",
        ]
    for split in SPLITS:
        chosen = [r for r in rows if r["split"] == split]
        if not chosen:
            continue
        lines += [
            f"## split: {split}",
            "",
            "| method | n | " + " | ".join(metrics) + " |",
            "|---|---|" + "---|" * len(metrics),
        ]
        for method in dict.fromkeys(r["method"] for r in chosen):
            cells = {r["metric"]: r for r in chosen if r["method"] == method}
            n = max(c["n"] + c["nan"] for c in cells.values())
            text = [
                f"{cells[m]['mean']:.4g} ± {cells[m]['ci95']:.2g}"
                + (f" (NaN {cells[m]['nan']})" if cells[m]["nan"] else "")
                if m in cells
                else ""
                for m in metrics
            ]
            lines.append(f"| {method} | {n} | " + " | ".join(text) + " |")
        lines.append("")
    tagged = [t for t in dict.fromkeys(r["split"] for r in rows) if t not in SPLITS]
    if tagged:
        lines += subset_tables(rows, ["all", *tagged], metrics)
    lines += ["Plots: " + ", ".join(f"[{m}](plots/{m}.png)" for m in metrics), ""]
    if bench is not None:
        ids = list(dict.fromkeys(r["id"] for r in records))[:grid_samples]
        save_atomic(image_grid(out, Path(bench), records, ids), out / "grid.png", force=True)
        columns = ["source", "reference", "oracle, where there is one", *dict.fromkeys(r["method"] for r in records)]
        lines += [f"![{' | '.join(columns)}](grid.png)", ""]
    (out / "report.md").write_text("\n".join(lines))
    return out / "report.md"
