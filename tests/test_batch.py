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


def write_folder(folder, count):
    """`count` photos and, in a folder beside them, their masks under the same names."""
    rng = np.random.default_rng(1)
    (folder / "photos").mkdir()
    (folder / "masks").mkdir()
    mask = np.zeros((48, 64), np.uint8)
    mask[10:30, 20:40] = 255
    for i in range(count):
        Image.fromarray(rng.integers(0, 255, (48, 64, 3), dtype=np.uint8)).save(folder / "photos" / f"shoe{i}.png")
        Image.fromarray(mask).save(folder / "masks" / f"shoe{i}.png")
    return folder / "photos", folder / "masks"


def test_killed_folder_batch_resumes_writing_each_result_once_and_nothing_else(model_dir, tmp_path):
    photos, masks = write_folder(tmp_path, 5)
    out = tmp_path / "out"
    env = dict(os.environ, HF_HUB_OFFLINE="1", OMP_NUM_THREADS="1")
    folder = [*command(photos, out, model_dir), "--masks", str(masks), "--colors", "navy"]
    proc = subprocess.Popen(folder, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 300
    while time.time() < deadline and proc.poll() is None and len(list(out.glob("shoe*.png"))) < 2:
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    finished = {path.name: path.stat().st_mtime_ns for path in out.glob("shoe*.png")}
    assert 2 <= len(finished) < 5
    again = subprocess.run([*folder, "--json"], env=env, capture_output=True, text=True, timeout=300)
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout)["done"] == 5 - len(finished)  # nothing redone ...
    assert {name: (out / name).stat().st_mtime_ns for name in finished} == finished  # ... nor rewritten
    assert sorted(path.name for path in out.iterdir()) == [f"shoe{i}-navy.png" for i in range(5)]  # nothing else
    for i in range(5):
        assert Image.open(out / f"shoe{i}-navy.png").size == (64, 48)


def test_jobs_file_batch_leaves_only_its_results(model_dir, tmp_path):
    jobs = write_jobs(tmp_path, 3)
    out = tmp_path / "out"
    assert main([*command(jobs, out, model_dir)[3:], "--json"]) == 0
    assert sorted(path.name for path in out.iterdir()) == [f"{i:05d}-photo{i}.png" for i in range(3)]
    assert main([*command(jobs, out, model_dir)[3:]]) == 0  # run again: nothing to do, nothing written
    assert len(list(out.iterdir())) == 3


def test_a_folder_batch_checks_every_photo_before_the_model(tmp_path, capsys):
    photos, masks = write_folder(tmp_path, 2)
    (masks / "shoe1.png").unlink()
    base = ["batch", str(photos), "-o", str(tmp_path / "out"), "--model", str(tmp_path / "no-model")]
    cases = [
        (["--masks", str(masks), "--colors", "navy"], "no mask for shoe1.png"),
        (["--colors", "navy"], "--masks MASKDIR or --mask-text"),
        (["--masks", str(masks)], "takes --colors"),
        (["--masks", str(masks), "--colors", "blurple"], "unknown color"),
    ]
    for extra, message in cases:
        assert main([*base, *extra]) == 2
        lines = capsys.readouterr().err.strip().splitlines()
        assert len(lines) == 1 and message in lines[0], lines
    assert not (tmp_path / "out").exists()


def test_bad_job_lines_exit_2_before_loading_a_model(tmp_path, capsys):
    jobs = write_jobs(tmp_path, 2)
    jobs.write_text(
        jobs.read_text() + '{"image": "photo0.png", "mask": "missing.png", "prompt": "x", "color": "red"}\n'
    )
    assert main(["batch", str(jobs), "-o", str(tmp_path / "out"), "--model", "no/such-model"]) == 2
    err = capsys.readouterr().err
    assert "line 3" in err and "missing.png" in err and len(err.strip().splitlines()) == 1


def test_a_folder_in_the_engine_alone_needs_no_model(tmp_path):
    photos, masks = write_folder(tmp_path, 2)
    out = tmp_path / "out"
    args = ["batch", str(photos), "--masks", str(masks), "--colors", "navy;#33cc99", "-o", str(out)]
    assert main([*args, "--engine", "exact", "--model", str(tmp_path / "no-model")]) == 0
    assert sorted(p.name for p in out.iterdir()) == [f"shoe{i}-{c}.png" for i in range(2) for c in ("33cc99", "navy")]
