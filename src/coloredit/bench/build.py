"""Building benchmark folders: from any Stable Diffusion model, or from PIE-Bench (the toy world's: `toy_sets`).

Synthetic object masks (from an SD model): the object word's cross-attention, summed over the decoder's
cross-attention layers and all steps of the source's generation, upsampled to the image, min-max
normalized, and thresholded at `masks.HEAT_THRESHOLD`.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from ..attention import BranchLayout, CrossAttentionRecorder, EditAttnProcessor, EditController, installed
from ..colors import COLOR_WORDS, name_color, parse_color
from ..config import EditConfig
from ..errors import ColorEditError
from ..inversion import NoiseSchedule, guided_ddim
from ..masks import HEAT_THRESHOLD, heat_from_maps, word_token_indices
from .manifest import Sample, mask_image, save_image, write_manifest

OBJECTS = (
    "car",
    "bus",
    "truck",
    "bicycle",
    "motorcycle",
    "boat",
    "airplane",
    "train",
    "chair",
    "sofa",
    "bed",
    "table",
    "lamp",
    "vase",
    "cup",
    "mug",
    "bowl",
    "bottle",
    "teapot",
    "clock",
    "umbrella",
    "backpack",
    "handbag",
    "suitcase",
    "hat",
    "shoe",
    "dress",
    "shirt",
    "jacket",
    "scarf",
    "apple",
    "pear",
    "flower",
    "rose",
    "tulip",
    "balloon",
    "kite",
    "ball",
    "guitar",
    "piano",
    "phone",
    "laptop",
    "book",
    "pillow",
    "towel",
    "door",
    "house",
    "fence",
    "bird",
    "cat",
)
COLORS = ("red", "orange", "yellow", "green", "cyan", "blue", "purple", "pink", "brown", "black", "white", "gray")


# -- (a) any Stable Diffusion model ---------------------------------------------------------------------
@torch.no_grad()
def generate_with_word_masks(
    pipe, prompts: list[str], words: list[str], seeds: list[int], steps: int = 50, guidance: float = 7.5
) -> tuple[list[Image.Image], list[np.ndarray]]:
    """Generate each prompt from its seed and the mask of its word from the word's cross-attention."""
    schedule = NoiseSchedule(pipe.scheduler, steps)
    work = (pipe.native_size, pipe.native_size)
    latents = torch.cat([pipe.initial_noise(seed, work) for seed in seeds])
    empty = pipe.encode_text([""]).expand(len(prompts), -1, -1)
    controller = EditController(EditConfig(), steps, schedule.num_train_timesteps, BranchLayout())
    rows = list(range(len(prompts), 2 * len(prompts)))  # the conditional half
    recorder = CrossAttentionRecorder(
        controller, rows, [word_token_indices(pipe.tokenizer, p, w) for p, w in zip(prompts, words, strict=True)]
    )
    processors = {
        name: EditAttnProcessor(
            controller, name, [recorder] if name.startswith("up_blocks") and name.endswith("attn2.processor") else []
        )
        for name in pipe.unet.attn_processors
    }
    with installed(pipe.unet, processors):
        final = guided_ddim(
            pipe.predict_noise,
            latents,
            pipe.encode_text(prompts),
            lambda step: empty,
            schedule,
            guidance,
            progress=pipe.progress_bar,
        )
    heat = heat_from_maps(recorder.maps, len(prompts), tuple(latents.shape[-2:]), work)
    return [pipe.decode(z) for z in final.split(1)], list(heat > HEAT_THRESHOLD)


def build_synthetic(
    pipe,
    out: Path,
    count: int,
    objects: tuple[str, ...] = OBJECTS,
    colors: tuple[str, ...] = COLORS,
    seed: int = 0,
    steps: int = 50,
    guidance: float = 7.5,
) -> list[Sample]:
    """Sources "a photo of a {color} {object}" generated from seeds, object masks from the object word's
    cross-attention, references "a photo of a {target color} {object}" from other seeds."""
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    samples = []
    for i in range(count):
        obj = objects[i % len(objects)]
        source_color, target_color = rng.choice(colors, size=2, replace=False)
        source_prompt, reference_prompt = f"a photo of a {source_color} {obj}", f"a photo of a {target_color} {obj}"
        source_seed = seed * 100_000 + 2 * i
        images, masks = generate_with_word_masks(
            pipe, [source_prompt, reference_prompt], [obj, obj], [source_seed, source_seed + 1], steps, guidance
        )
        sid = f"syn-{i:05d}"
        samples.append(
            Sample(
                id=sid,
                split="synthetic",
                source=save_image(out, "sources", f"{sid}.png", images[0]),
                source_prompt=source_prompt,
                object=obj,
                mask=save_image(out, "masks", f"{sid}.png", mask_image(masks[0])),
                target_color=str(target_color),
                target_rgb=parse_color(str(target_color)),
                reference=save_image(out, "references", f"{sid}.png", images[1]),
                reference_prompt=reference_prompt,
                seed=source_seed,
                reference_mask=save_image(out, "reference_masks", f"{sid}.png", mask_image(masks[1])),
            )
        )
        write_manifest(out, samples)  # after every sample: a stopped build keeps what it made
    return samples


# -- (c) PIE-Bench's "change color" category --------------------------------------------------------------
PIE_CHANGE_COLOR = "6"


def pie_mask(encoded: list[int], shape: tuple[int, int] = (512, 512)) -> np.ndarray:
    """PIE-Bench's run-length mask: (start, length) pairs over the flattened image."""
    flat = np.zeros(shape[0] * shape[1], dtype=bool)
    for start, length in zip(encoded[0::2], encoded[1::2], strict=True):
        flat[start : start + length] = True
    return flat.reshape(shape)


def import_pie(pie_root: Path, out: Path) -> list[Sample]:
    """PIE-Bench's color edits (`mapping_file.json` + `annotation_images/`) as a benchmark folder. The
    target color is the color word in brackets in the editing prompt; the reference is a swatch of it."""
    mapping_path = pie_root / "mapping_file.json"
    if not mapping_path.is_file():
        raise ColorEditError(f"{pie_root} has no mapping_file.json (give PIE-Bench's folder)")
    mapping = json.loads(mapping_path.read_text())
    out.mkdir(parents=True, exist_ok=True)
    samples = []
    for key, entry in sorted(mapping.items()):
        if str(entry.get("editing_type_id")) != PIE_CHANGE_COLOR:
            continue
        bracketed = [w.strip("[].,").lower() for w in entry["editing_prompt"].split() if w.startswith("[")]
        colors = [w for w in bracketed if w in COLOR_WORDS]
        if not colors:
            continue
        image_path = pie_root / "annotation_images" / entry["image_path"]
        if not image_path.is_file():
            raise ColorEditError(f"PIE-Bench sample {key}: image {image_path} not found")
        image = Image.open(image_path).convert("RGB")
        mask = pie_mask(entry["mask"], (image.height, image.width))
        rgb = parse_color(colors[0])
        blended = entry.get("blended_word", "").split()
        obj = blended[-1] if blended else ""
        sid = f"pie-{key}"
        samples.append(
            Sample(
                id=sid,
                split="real",
                source=save_image(out, "sources", f"{sid}.png", image),
                source_prompt=entry["original_prompt"].replace("[", "").replace("]", ""),
                object=obj,
                mask=save_image(out, "masks", f"{sid}.png", mask_image(mask)),
                target_color=colors[0],
                target_rgb=rgb,
                reference=save_image(out, "references", f"{sid}.png", Image.new("RGB", (64, 64), rgb)),
                reference_prompt=name_color(rgb),
                seed=0,
            )
        )
    if not samples:
        raise ColorEditError(f"no color edits (editing_type_id {PIE_CHANGE_COLOR}) in {mapping_path}")
    write_manifest(out, samples)
    return samples
