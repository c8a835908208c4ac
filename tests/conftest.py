"""Tiny random-weight models built once per session; no downloads; one CPU thread (see environment notes)."""

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

import numpy as np
import pytest
import torch
from PIL import Image

from coloredit import ColorEditPipeline, preset
from coloredit.tiny import tiny_components

torch.set_num_threads(1)

# Every intervention off: the target branch is then a plain guided DDIM generation.
INTERVENTIONS_OFF = dict(
    value_align=False, self_attn_replace=False, blend_ratio=0.0, background_start=1.0, paste_back=False
)


def smooth(components: dict, factor: float) -> dict:
    """Scale the U-Net's output layer: a random U-Net is then a smooth denoiser, as a trained one is."""
    with torch.no_grad():
        components["unet"].conv_out.weight.mul_(factor)
        components["unet"].conv_out.bias.mul_(factor)
    return components


@pytest.fixture(scope="session")
def components():
    return smooth(tiny_components(seed=0), 0.05)


@pytest.fixture(scope="session")
def pipe(components):
    pipeline = ColorEditPipeline(**components)
    pipeline.set_progress_bar_config(disable=True)
    return pipeline


@pytest.fixture(scope="session")
def model_dir(tmp_path_factory, pipe):
    folder = tmp_path_factory.mktemp("tiny-model")
    pipe.save_pretrained(folder, safe_serialization=True)
    return folder


@pytest.fixture()
def fast_config():
    return preset("paper").replace(num_inference_steps=8, inversion="ddim")


@pytest.fixture(scope="session")
def photo(tmp_path_factory):
    """A non-square 'photo' (96x128, smooth gradients + noise) and a mask at half its resolution."""
    rng = np.random.default_rng(0)
    y, x = np.mgrid[0:96, 0:128] / 128.0
    image = np.stack([x, y, 0.5 + 0.3 * np.sin(6 * x)], axis=-1) * 200 + rng.normal(0, 8, (96, 128, 3))
    folder = tmp_path_factory.mktemp("photo")
    Image.fromarray(np.clip(image, 0, 255).astype(np.uint8)).save(folder / "photo.png")
    mask = np.zeros((48, 64), np.uint8)
    mask[12:36, 20:44] = 255
    Image.fromarray(mask).save(folder / "mask.png")
    return folder / "photo.png", folder / "mask.png"
