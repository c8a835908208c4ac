"""COLORBENCH harness end to end on a toy-world benchmark (tiny model, few steps: the harness is under test)."""

import csv
import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
from PIL import Image

from coloredit.bench.manifest import load_manifest
from coloredit.bench.metrics import pixel_metrics
from coloredit.cli import main

FAST = ["--steps", "3", "--set", "inversion=ddim"]


@pytest.fixture(scope="module")
def bench(tmp_path_factory):
    root = tmp_path_factory.mktemp("bench")
    assert main(["bench", "build", "--model", "toy", "--out", str(root), "--n", "12"]) == 0
    return root


def run_cli(bench, out, model_dir, *extra, env=None, wait=True):
    args = [
        sys.executable,
        "-m",
        "coloredit.cli",
        "bench",
        "run",
        str(bench),
        "--out",
        str(out),
        "--model",
        str(model_dir),
        *FAST,
        *extra,
    ]
    full_env = dict(os.environ, HF_HUB_OFFLINE="1", OMP_NUM_THREADS="1", **(env or {}))
    if not wait:
        return subprocess.Popen(args, env=full_env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    proc = subprocess.run(args, env=full_env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    return proc


def records(out):
    return [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines()]


def test_build_run_report_numbers_match_the_saved_images(bench, model_dir, tmp_path):
    samples = load_manifest(bench)
    assert len(samples) == 12 and {s.split for s in samples} == {"real"}
    out = tmp_path / "results"
    assert (
        main(
            [
                "bench",
                "run",
                str(bench),
                "--out",
                str(out),
                "--model",
                str(model_dir),
                "--methods",
                "coloredit,text-only",
                *FAST,
            ]
        )
        == 0
    )
    assert main(["bench", "report", str(out), "--bench", str(bench)]) == 0
    for name in ("report.md", "results.csv", "grid.png", "plots/L1Hue_obj.png"):
        assert (out / name).is_file()
    rows = {(r["method"], r["split"], r["metric"]): r for r in csv.DictReader((out / "results.csv").open())}
    by_id = {s.id: s for s in samples}
    for method in ("coloredit", "text-only"):
        values: dict[str, list[float]] = {}
        for record in records(out):
            if record["method"] != method:
                continue
            sample = by_id[record["id"]]
            source = np.asarray(Image.open(bench / sample.source).convert("RGB"))
            mask = np.asarray(Image.open(bench / sample.mask).convert("L")) > 127
            edited = np.asarray(Image.open(out / record["image"]).convert("RGB"))
            oracle = np.asarray(Image.open(bench / sample.oracle).convert("RGB"))
            for metric in pixel_metrics():
                values.setdefault(metric.name, []).append(
                    metric.update(source=source, edited=edited, mask=mask, target_rgb=sample.target_rgb, oracle=oracle)
                )
        for name, recomputed in values.items():
            finite = [v for v in recomputed if np.isfinite(v)]
            assert float(rows[(method, "all", name)]["mean"]) == pytest.approx(np.mean(finite), rel=1e-9, abs=1e-12)
            assert int(rows[(method, "all", name)]["n"]) == len(finite)
        assert len(values["dE00_oracle"]) == 12 and np.isfinite(values["dE00_oracle"]).all()
    assert "| coloredit | 12 |" in (out / "report.md").read_text()


def test_killed_run_resumes_with_every_result_once(bench, model_dir, tmp_path):
    out = tmp_path / "killed"
    proc = run_cli(bench, out, model_dir, "--methods", "text-only", wait=False)
    shard = out / "results.r0-of-1.jsonl"
    deadline = time.time() + 300
    while time.time() < deadline and (not shard.exists() or len(shard.read_text().splitlines()) < 3):
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    done_before = len(shard.read_text().splitlines())
    assert 3 <= done_before < 12
    run_cli(bench, out, model_dir, "--methods", "text-only")
    keys = [(r["id"], r["method"]) for r in records(out)]
    assert len(keys) == len(set(keys)) == 12
    assert all((out / r["image"]).is_file() for r in records(out))


def test_two_processes_give_the_results_of_one(bench, model_dir, tmp_path):
    one, two = tmp_path / "one", tmp_path / "two"
    run_cli(bench, one, model_dir, "--methods", "text-only")
    procs = [
        run_cli(bench, two, model_dir, "--methods", "text-only", env={"RANK": str(r), "WORLD_SIZE": "2"}, wait=False)
        for r in (0, 1)
    ]
    for proc in procs:
        assert proc.wait(timeout=600) == 0, proc.stderr.read()
    strip = lambda rs: sorted(({k: v for k, v in r.items() if k != "seconds"} for r in rs), key=lambda r: r["id"])  # noqa: E731
    assert len(records(two)) == 12
    assert json.dumps(strip(records(one)), sort_keys=True) == json.dumps(strip(records(two)), sort_keys=True)


def test_unknown_method_and_bad_manifest_are_clear_errors(bench, tmp_path, capsys):
    assert main(["bench", "run", str(bench), "--out", str(tmp_path / "x"), "--methods", "nope"]) == 2
    assert "unknown method(s) nope" in capsys.readouterr().err
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "manifest.jsonl").write_text(
        (bench / "manifest.jsonl").read_text().replace('"split": "real"', '"split": "x"', 1)
    )
    assert main(["bench", "run", str(broken), "--out", str(tmp_path / "y")]) == 2
    assert "line 1 (sample 'toy-0000'): split must be" in capsys.readouterr().err
