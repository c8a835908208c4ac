"""`coloredit batch`: every job once, resumable after kill -9 with nothing redone or lost; bad lines exit 2."""

import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
from PIL import Image

from coloredit.cli import main


def write_jobs(folder, count):
    rng = np.random.default_rng(0)
    lines = []
    for i in range(count):
        Image.fromarray(rng.integers(0, 255, (48, 64, 3), dtype=np.uint8)).save(folder / f"photo{i}.png")
        mask = np.zeros((48, 64), np.uint8)
        mask[10:30, 20:40] = 255
        Image.fromarray(mask).save(folder / f"mask{i}.png")
        job = {"image": f"photo{i}.png", "mask": f"mask{i}.png", "prompt": "a red car"}
        job.update({"color": "#2040ff"} if i % 2 else {"reference": f"photo{(i + 1) % count}.png"})
        lines.append(json.dumps(job))
    (folder / "jobs.jsonl").write_text("\n".join(lines) + "\n")
    return folder / "jobs.jsonl"


def command(jobs, out, model_dir):
    return [
        sys.executable,
        "-m",
        "coloredit.cli",
        "batch",
        str(jobs),
        "-o",
        str(out),
        "--model",
        str(model_dir),
        "--steps",
        "3",
        "--set",
        "inversion=ddim",
    ]


def test_killed_batch_resumes_with_every_edit_once(model_dir, tmp_path):
    jobs = write_jobs(tmp_path, 6)
    out = tmp_path / "out"
    env = dict(os.environ, HF_HUB_OFFLINE="1", OMP_NUM_THREADS="1")
    proc = subprocess.Popen(
        command(jobs, out, model_dir), env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    shard = out / "results.r0-of-1.jsonl"
    deadline = time.time() + 300
    while time.time() < deadline and (not shard.exists() or len(shard.read_text().splitlines()) < 2):
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    before = len(shard.read_text().splitlines())
    assert 2 <= before < 6
    again = subprocess.run(
        [*command(jobs, out, model_dir), "--json"], env=env, capture_output=True, text=True, timeout=300
    )
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout)["done"] == 6 - before  # nothing redone
    records = [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines()]
    assert sorted(int(r["id"]) for r in records) == list(range(6))  # nothing lost, each once
    for record in records:
        assert Image.open(out / record["output"]).size == (64, 48)
    assert not list(out.glob(".*.png"))  # no temporary file left behind


def test_bad_job_lines_exit_2_before_loading_a_model(tmp_path, capsys):
    jobs = write_jobs(tmp_path, 2)
    jobs.write_text(
        jobs.read_text() + '{"image": "photo0.png", "mask": "missing.png", "prompt": "x", "color": "red"}\n'
    )
    assert main(["batch", str(jobs), "-o", str(tmp_path / "out"), "--model", "no/such-model"]) == 2
    err = capsys.readouterr().err
    assert "line 3" in err and "missing.png" in err and len(err.strip().splitlines()) == 1
