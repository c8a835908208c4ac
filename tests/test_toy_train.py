"""Toy training resumes exactly: a run killed mid-way and resumed ends where an uninterrupted run does."""

import os
import signal
import subprocess
import sys
import time

import torch
from safetensors.torch import load_file

ARGS = [
    "--images",
    "64",
    "--vae-steps",
    "2",
    "--vae-batch",
    "4",
    "--unet-steps",
    "30",
    "--unet-batch",
    "4",
    "--warmup",
    "2",
    "--vae-crop",
    "32",
    "--decoder-steps",
    "4",
    "--decoder-batch",
    "2",
    "--workers",
    "1",
    "--checkpoint-every",
    "2",
    "--threads",
    "1",
]


def train(out, work, wait=True):
    command = [sys.executable, "-m", "coloredit.toy", "train", "--out", str(out), "--work", str(work), *ARGS]
    env = dict(os.environ, OMP_NUM_THREADS="1")
    if not wait:
        return subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    proc = subprocess.run(command, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    return proc


def weights(folder):
    return {
        f"{part}.{k}": v
        for part in ("unet", "text_encoder", "vae")
        for k, v in load_file(next((folder / part).glob("*.safetensors"))).items()
    }


def test_killed_training_resumes_to_the_same_model(tmp_path):
    train(tmp_path / "straight", tmp_path / "straight-work")
    proc = train(tmp_path / "resumed", tmp_path / "resumed-work", wait=False)
    state = tmp_path / "resumed-work" / "unet.pt"
    deadline = time.time() + 300
    while time.time() < deadline:
        if state.exists():
            try:
                if torch.load(state, weights_only=False).get("step", 0) >= 4:
                    break
            except Exception:  # a checkpoint being replaced: look again
                pass
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert not (tmp_path / "resumed").exists()  # it was stopped before the end
    log = train(tmp_path / "resumed", tmp_path / "resumed-work").stderr
    assert "unet:" in log  # a progress bar
    straight, resumed = weights(tmp_path / "straight"), weights(tmp_path / "resumed")
    assert straight.keys() == resumed.keys()
    assert all(torch.equal(straight[k], resumed[k]) for k in straight)
    # the decoder stage changed the decoder only: the encoder, whose latents the U-Net learned, is as trained
    first_stage = torch.load(tmp_path / "straight-work" / "vae.pt", weights_only=False)["weights"]
    encoder = [k for k in first_stage if k.startswith(("encoder.", "quant_conv."))]
    decoder = [k for k in first_stage if k.startswith("decoder.")]
    assert encoder and all(torch.equal(first_stage[k].half(), straight[f"vae.{k}"]) for k in encoder)
    assert not all(torch.equal(first_stage[k].half(), straight[f"vae.{k}"]) for k in decoder)
