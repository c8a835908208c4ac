"""Step 3 of the method: the reference branch, from a reference image (inverted like a source) or from a color
(the source's own noise with the color's word, a flat swatch, or the source recolored in pixels).

Why a module: the reference is the method's one input with many forms; the pipeline asks for the branch only.
"""

from __future__ import annotations

import numpy as np
import torch
from PIL import Image

from . import engine
from .accounting import current_ledger
from .branches import Branch, Model, Source
from .colors import name_color, parse_color, with_color_word
from .config import EditConfig
from .images import ImageLike
from .inversion import NoiseSchedule, shifted_trajectory
from .latents import latent_coverage
from .recoloring import recolor


def prepare_reference(
    pipe: Model,
    reference: ImageLike | None,
    reference_prompt: str | None,
    color: str | None,
    reference_mask: ImageLike | None,
    source: Source,
    schedule: NoiseSchedule,
    config: EditConfig,
) -> Branch:
    """The reference branch. From a color: "generate" denoises the source's own initial noise with the
    source prompt naming the color (so the source's mask fits it); "swatch" inverts a flat image of
    the exact RGB. From an image: inverted like a source, with `reference_prompt` or, by default,
    the source prompt naming the reference's nearest color word."""
    empty = pipe.encode_text([""])
    with current_ledger().stage_of("reference"):
        if color is not None:
            rgb = parse_color(color)
            if config.color_reference == "recolor" and source.inversion is not None:
                return recolored_source(pipe, rgb, source, schedule, reference_prompt, config)
            if config.color_reference != "swatch":
                s = source.branch
                prompt = reference_prompt or with_color_word(s.prompt, name_color(rgb))
                return Branch(prompt, s.initial_latents, pipe.encode_text([prompt]), s.uncond, s.region, target_rgb=rgb)
            image, region = Image.new("RGB", source.work_size, rgb), None
            prompt = reference_prompt or name_color(rgb)
        else:
            image, found, rgb = engine.reference_color(reference, reference_mask, reference_prompt, config)
            prompt = reference_prompt or with_color_word(source.branch.prompt, name_color(rgb))
            image = image.resize(source.work_size, Image.Resampling.LANCZOS)
            found = Image.fromarray(found.astype(np.uint8) * 255).resize(source.work_size, Image.Resampling.NEAREST)
            region = np.asarray(found) > 0
        inversion = pipe.invert(image, prompt, schedule, config)
    latent_hw = tuple(source.branch.initial_latents.shape[-2:])
    weights = torch.ones(1, 1, *latent_hw) if region is None else latent_coverage(region, latent_hw)
    return Branch(
        prompt,
        inversion.initial_latents.to(pipe._execution_device),
        pipe.encode_text([prompt]),
        pipe.uncond_per_step(inversion, empty, len(schedule)),
        weights.to(pipe._execution_device),
        clean=inversion.latents[:1].to(pipe._execution_device),
        target_rgb=rgb,
        trajectory=inversion.latents.to(pipe._execution_device),
    )


def recolored_source(
    pipe: Model,
    rgb: tuple[int, int, int],
    source: Source,
    schedule: NoiseSchedule,
    prompt: str | None,
    config: EditConfig,
) -> Branch:
    """The reference as the source itself recolored in pixels (`recoloring.py`): its clean latent is the VAE's,
    its trajectory the source's inverted noise around that latent; no U-Net call."""
    image = source.original.resize(source.work_size, Image.Resampling.LANCZOS)
    mask = np.asarray(Image.fromarray(source.mask).resize(source.work_size, Image.Resampling.NEAREST)) > 0
    pixels = np.asarray(image)
    recolored = recolor(
        pixels,
        mask,
        rgb,
        source=source.decomposed(pixels, mask),
        scene_light=source.light(config.scene_light),
        material=config.material,
    )
    clean = pipe.encode_image(Image.fromarray(recolored))
    trajectory = shifted_trajectory(source.inversion.latents.to(pipe._execution_device), clean, schedule)
    prompt = prompt or with_color_word(source.branch.prompt, name_color(rgb))
    s = source.branch
    return Branch(
        prompt,
        trajectory[-1:],
        pipe.encode_text([prompt]),
        s.uncond,
        s.region,
        clean=trajectory[:1],
        target_rgb=rgb,
        trajectory=trajectory,
    )
