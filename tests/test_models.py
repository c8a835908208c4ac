"""Where a model comes from: a cached hub id loads from the cache without the network, and a model that
cannot be had is one line, exit 2, before torch loads."""

import os
import shutil
import socket
import subprocess
import sys
import time

import huggingface_hub
import numpy as np
import pytest
from PIL import Image

from coloredit.errors import ColorEditError
from coloredit.models import SD_MODEL, default_model, locate
from coloredit.pipeline import ColorEditPipeline


@pytest.fixture
def hub_cache(tmp_path, monkeypatch):
    cache = tmp_path / "hub"
    cache.mkdir()
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(cache))
    return cache


def cache_repo(cache, repo_id: str, model_dir) -> None:
    """The layout `huggingface_hub` writes: refs/main names a snapshot folder holding the files."""
    repo = cache / f"models--{repo_id.replace('/', '--')}"
    commit = "0123456789abcdef0123456789abcdef01234567"
    (repo / "refs").mkdir(parents=True)
    (repo / "refs" / "main").write_text(commit)
    shutil.copytree(model_dir, repo / "snapshots" / commit)


def no_network(*args, **kwargs):
    raise AssertionError("the network was asked")


def test_a_cached_hub_id_loads_from_the_cache_without_the_network(hub_cache, model_dir, monkeypatch):
    cache_repo(hub_cache, "tiny/model", model_dir)
    expected = huggingface_hub.snapshot_download("tiny/model", local_files_only=True)  # the hub's own answer
    monkeypatch.setattr(socket, "create_connection", no_network)
    monkeypatch.setenv("HF_HUB_OFFLINE", "0")
    assert os.path.samefile(locate("tiny/model"), expected)
    pipe = ColorEditPipeline.from_pretrained("tiny/model")
    assert pipe.unet.config.sample_size == ColorEditPipeline.from_pretrained(model_dir).unet.config.sample_size


def test_an_uncached_id_with_an_unreachable_hub_is_one_line(hub_cache, monkeypatch):
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    with socket.socket() as closed:  # a port nobody listens on: refused at once
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    monkeypatch.setenv("HF_ENDPOINT", f"http://127.0.0.1:{port}")
    with pytest.raises(ColorEditError, match="the hub cannot be reached") as caught:
        locate("nobody/no-such-model")
    assert "\n" not in str(caught.value) and "--model toy" in str(caught.value)


@pytest.mark.parametrize(
    ("model", "message"),
    [("./models/sd", "model folder not found"), ("/no/such/folder", "model folder not found"), ("a/b/c", "not found")],
)
def test_a_path_that_is_not_there_is_named(model, message):
    with pytest.raises(ColorEditError, match=message):
        locate(model)


def test_the_default_model_follows_one_rule_and_help_shows_it(monkeypatch):
    monkeypatch.delenv("COLOREDIT_MODEL", raising=False)
    assert default_model() == SD_MODEL
    monkeypatch.setenv("COLOREDIT_MODEL", "toy")
    assert default_model() == "toy"
    for command in (["edit", "--help"], ["colorways", "--help"], ["mask", "--help"], ["app", "--help"]):
        shown = subprocess.run(
            [sys.executable, "-m", "coloredit.cli", *command], capture_output=True, text=True, check=True
        ).stdout
        assert "COLOREDIT_MODEL" in " ".join(shown.split()), command


def test_offline_with_nothing_cached_the_edit_is_one_line_and_exit_2_before_torch(tmp_path):
    image, mask = tmp_path / "photo.png", tmp_path / "mask.png"
    Image.fromarray(np.full((64, 64, 3), 128, np.uint8)).save(image)
    Image.fromarray(np.pad(np.full((30, 30), 255, np.uint8), 17)).save(mask)
    argv = ["edit", str(image), "--mask", str(mask), "--color", "red", "--prompt", "a box"]
    argv += ["-o", str(tmp_path / "o.png")]
    script = "import sys; sys.modules['torch'] = None; from coloredit.cli import main; sys.exit(main(sys.argv[1:]))"
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_HUB_CACHE": str(tmp_path / "empty-cache")}
    env.pop("COLOREDIT_MODEL", None)
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", script, *argv], capture_output=True, text=True, env=env)
    seconds = time.perf_counter() - started
    lines = done.stderr.strip().splitlines()
    assert done.returncode == 2 and len(lines) == 1, done.stderr
    assert "not in the Hugging Face cache" in lines[0] and SD_MODEL in lines[0]
    assert seconds < 3 and not (tmp_path / "o.png").exists()
