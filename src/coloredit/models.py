"""Where a model comes from (a folder, the shipped toy model, the Hugging Face cache or the hub) and which one
is the default, answered before torch loads.

Why: offline, diffusers spends ~15 s asking the hub, prints its own lines, then fails; a model already in the
cache was still looked up online. `locate` answers from the disk first: a cached hub id loads from its
snapshot without a word to the network, and one that is neither cached nor reachable is one line at once.
"""

from __future__ import annotations

import json
import os
import socket
from pathlib import Path
from urllib.parse import urlparse

from .errors import ColorEditError

TOY_MODEL = Path(__file__).parent / "assets" / "toy"  # `--model toy`: the shipped toy-world model, offline
SD_MODEL = "CompVis/stable-diffusion-v1-4"
# how a model larger than the GPU is held (`devices.load_pipeline`); diffusers' sequential offload is left out: with
# accelerate 1.16 and torch 2.13 it fails in diffusers' own FluxPipeline too
OFFLOADS = ("none", "model")
DEFAULT_RULE = f"$COLOREDIT_MODEL if set, else {SD_MODEL}; 'toy' is the shipped offline toy model"
REACH_SECONDS = 2.0  # how long the hub gets to answer before we call it unreachable


def default_model() -> str:
    """The model every command uses unless told (`DEFAULT_RULE`)."""
    return os.environ.get("COLOREDIT_MODEL") or SD_MODEL


def locate(model: str | Path) -> str:
    """A local diffusers folder for `model`, or the hub id itself when it must be downloaded and the hub
    answers; a ColorEditError in one line otherwise."""
    name = str(model)
    if name == "toy":
        return str(TOY_MODEL)
    path = Path(name).expanduser()
    if path.is_dir():
        return str(path)
    if path.exists():
        raise ColorEditError(f"model {name} is a file: give a diffusers folder (with model_index.json) or a hub id")
    if not _looks_like_hub_id(name):
        raise ColorEditError(f"model folder not found: {name}")
    cached = _cached_snapshot(name)
    if cached is not None:
        return str(cached)
    if _offline():
        raise ColorEditError(
            f"model {name} is not in the Hugging Face cache and HF_HUB_OFFLINE is set: download it once online, "
            "give a diffusers folder, or --model toy (--engine exact edits with no model)"
        )
    if not _hub_answers():
        raise ColorEditError(
            f"model {name} is not in the Hugging Face cache and the hub cannot be reached (no network?): "
            "download it once online, give a diffusers folder, or --model toy (--engine exact edits with no model)"
        )
    return name


def _looks_like_hub_id(name: str) -> bool:
    parts = name.split("/")
    return len(parts) == 2 and all(parts) and not name.startswith((".", "~")) and "\\" not in name


def _cached_snapshot(repo_id: str) -> Path | None:
    from huggingface_hub import try_to_load_from_cache

    index = try_to_load_from_cache(repo_id, "model_index.json")
    return Path(index).parent if isinstance(index, str) else None


def _offline() -> bool:
    return os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in ("1", "true", "yes", "on")


def _hub_answers() -> bool:
    endpoint = urlparse(os.environ.get("HF_ENDPOINT") or "https://huggingface.co")
    port = endpoint.port or (443 if endpoint.scheme == "https" else 80)
    try:
        with socket.create_connection((endpoint.hostname or "", port), timeout=REACH_SECONDS):
            return True
    except OSError:
        return False


SUPPORTED = (
    "StableDiffusionPipeline",
    "ColorEditPipeline",
    "StableDiffusionImg2ImgPipeline",
    "StableDiffusionXLPipeline",
    "StableDiffusionXLImg2ImgPipeline",
    "FluxPipeline",
    "FluxImg2ImgPipeline",
    "StableDiffusion3Pipeline",
    "StableDiffusion3Img2ImgPipeline",
)
COMPONENTS = {  # what the families' code drives
    "unet": ("UNet2DConditionModel",),
    "transformer": ("FluxTransformer2DModel", "SD3Transformer2DModel"),
    "vae": ("AutoencoderKL",),
}
SUPPORTED_TEXT = (
    "Stable Diffusion 1.x, 2.x (noise or v prediction), XL base, 3.x and FLUX.1 (dev, schnell), in diffusers format"
)


def check_family(folder: str | Path) -> None:
    """A ColorEditError naming what is supported, for a local diffusers folder of another family."""
    index = Path(folder) / "model_index.json"
    if not index.is_file():
        return  # a hub id: its index is read by diffusers, and an unknown layout fails there
    name = json.loads(index.read_text()).get("_class_name", "")
    if name and name not in SUPPORTED:
        raise ColorEditError(f"{folder} is a {name} model; coloredit supports {SUPPORTED_TEXT}")
    for component, known in COMPONENTS.items():
        config = Path(folder) / component / "config.json"
        if config.is_file():
            found = json.loads(config.read_text()).get("_class_name", "")
            if found not in known:
                raise ColorEditError(
                    f"{folder}: its {component} is a {found or 'nameless'} model, not {' or '.join(known)}"
                )


def native_size(folder: str | Path) -> int:
    """The image size a diffusers folder's model works at, read from its configs: what the pipeline's
    `native_size` is (`families.py`), before any weights load. SD: its U-Net's sample size times the VAE's
    downscaling; a flow transformer (FLUX, SD3): its VAE's sample size."""
    try:
        vae = json.loads((Path(folder) / "vae" / "config.json").read_text())
        if (Path(folder) / "transformer").is_dir():
            return int(vae["sample_size"])
        unet = json.loads((Path(folder) / "unet" / "config.json").read_text())
        return int(unet["sample_size"]) * 2 ** (len(vae["block_out_channels"]) - 1)
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise ColorEditError(
            f"{folder}: not a diffusers model folder (its denoiser's and vae's configs: {error})"
        ) from None
