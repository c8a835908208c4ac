"""Steps 4-7 of the method: the references, the source and the targets denoised together in one batch, the
attention edits (4, 5) installed on the U-Net and the latent edits (6, 7) run after each step; then each target
decoded and given its exact color and the original's pixels outside the mask.

Why a module: this is the method's loop; the pipeline hands it the branches and takes back the latents.
"""

from __future__ import annotations

import numpy as np
import torch
from PIL import Image

from .attention import BranchLayout, EditController, installed
from .branch_names import SOURCE, BranchName, target
from .branches import Branch, Model, Source, per_branch
from .colors import COLOR_WORDS, remove_color_words, with_color_word
from .config import EditConfig
from .images import feather_radius, feather_weights, paste_back, rgb_pixels
from .inversion import NoiseSchedule, guided_ddim
from .latents import BackgroundRestore, CleanColorTransfer, ExactSourceTrajectory, LatentBlend, latent_mask
from .recoloring import recolor


def denoise_targets(
    pipe: Model, source: Source, references: list[Branch], schedule: NoiseSchedule, config: EditConfig, per_batch: int
) -> dict[BranchName, torch.Tensor]:
    """Every target's final latents (and the source's, the references'), `per_batch` targets denoised at a time."""
    latents: dict[BranchName, torch.Tensor] = {}
    for first in range(0, len(references), per_batch):
        chunk = denoise_branches(pipe, source, references[first : first + per_batch], schedule, config)
        latents.update({name.among(first): z for name, z in chunk.items()})
    return latents


def denoise_branches(
    pipe: Model, source: Source, references: list[Branch], schedule: NoiseSchedule, config: EditConfig
) -> dict[BranchName, torch.Tensor]:
    """One batched U-Net call per step for [references |] source | targets, x2 for CFG (the source x1
    under direct inversion): one target per reference, named target, target1, ... (reference, reference1,
    ...), each edited toward its own reference exactly as a single edit would be."""
    branches = with_targets(pipe, source, references, config)
    known = known_references(branches, config) if pipe.family.static_text_values else {}
    names = tuple(name for name in sorted(branches, key=lambda name: name.order) if name not in known)
    rows = [branches[name] for name in names]
    # Under direct inversion the source's noise estimate is never used (its latents are put back on
    # the exact trajectory), only its attention features: one row, the conditional one its inversion
    # was made with, serves both halves of every target.
    exact_source = source.inversion is not None and source.inversion.method == "direct"
    layout = BranchLayout(names, unguided=(SOURCE,) if exact_source else ())
    if config.guidance_scale == 1:  # guidance 1 is the conditional estimate alone: no unconditional rows
        layout = BranchLayout(names, unguided=names)
    controller = EditController(
        config, len(schedule), schedule.num_train_timesteps, layout, regions={n: b.region for n, b in branches.items()}
    )

    def before_step(step: int, timestep: int) -> None:
        controller.set_step(step, timestep)
        for name in known:  # their Values come from their text: hand the processors their embeddings
            reference = branches[name]
            embeddings = torch.cat([reference.uncond[step : step + 1], reference.cond])
            controller.reference_text[name] = pipe.family.text_states(embeddings)

    on_clean, after_step = latent_edits(source, branches, layout, schedule, config, exact_source)
    with installed(pipe.denoiser, pipe.family.processors(controller, pipe.denoiser)):
        final = guided_ddim(
            pipe.predict_noise,
            torch.cat([branch.initial_latents for branch in rows]),
            torch.cat([branch.cond for branch in rows]),
            lambda step: torch.cat([branch.uncond[step : step + 1] for branch in rows]),
            schedule,
            config.guidance_scale,
            before_step=before_step,
            edit_clean=per_branch(names, on_clean),
            after_step=per_branch(names, after_step, known),
            progress=pipe.progress_bar,
            guided=[names.index(name) for name in layout.guided],
        )
    return dict(zip(names, final.split(1), strict=True))


def with_targets(pipe: Model, source: Source, references: list[Branch], config: EditConfig) -> dict[BranchName, Branch]:
    """Every branch by name: the source, and a target per reference starting from the source's noise."""
    s = source.branch
    branches, encoded = {SOURCE: s}, {}
    for i, reference in enumerate(references):
        prompt = target_prompt(s.prompt, reference.prompt, config)
        if prompt not in encoded:  # colorways' targets mostly share one prompt: encode it once
            encoded[prompt] = pipe.encode_text([prompt])
        branches[target(i)] = Branch(prompt, s.initial_latents, encoded[prompt], s.uncond, s.region)
        branches[target(i).reference] = reference
    return branches


def known_references(branches: dict[BranchName, Branch], config: EditConfig) -> dict[BranchName, torch.Tensor]:
    """The references that need not be rows: their trajectory is known (an inverted image) and no edit reads
    their image features, so their Values come from their text and their latents from the trajectory."""
    return {
        name: branch.trajectory
        for name, branch in branches.items()
        if name.kind == "reference"
        and branch.trajectory is not None
        and not (config.keep_reference_branch or config.appearance_transfer)
    }


def latent_edits(
    source: Source,
    branches: dict[BranchName, Branch],
    layout: BranchLayout,
    schedule: NoiseSchedule,
    config: EditConfig,
    exact_source: bool,
) -> tuple[list, list]:
    """The hooks on each step's predicted clean latents (the color transfer) and after each step (the source
    kept on its trajectory, latent blending (6), background restore (7))."""
    s, steps = source.branch, len(schedule)
    on_clean, after_step = [], [ExactSourceTrajectory(s.trajectory)] if exact_source else []
    for name in layout.targets:
        reference = branches[name.reference]
        if config.color_transfer:
            on_clean.append(
                CleanColorTransfer(
                    round(config.color_transfer_steps * steps),
                    s.region,
                    reference.region,
                    reference.clean,
                    config.color_transfer_std,
                    config.color_transfer_mode,
                    name,
                    name.reference,
                )
            )
        after_step.append(
            LatentBlend(
                config.blend_ratio,
                config.blend_mode,
                config.blend_tau,
                s.region,
                reference.region,
                schedule.num_train_timesteps,
                name,
                name.reference,
            )
        )
    restore = BackgroundRestore(
        round(config.background_start * steps), latent_mask(s.region, config.mask_dilation), layout.targets
    )
    return on_clean, [*after_step, restore]


def target_prompt(source_prompt: str, reference_prompt: str, config: EditConfig) -> str:
    """The target branch's prompt, by `config.target_prompt`."""
    if config.target_prompt == "no-color":
        return remove_color_words(source_prompt)
    if config.target_prompt == "reference-color":
        words = [w for w in reference_prompt.split() if w.lower().strip(".,;:!?") in COLOR_WORDS]
        return with_color_word(source_prompt, words[0]) if words else source_prompt
    return source_prompt


def finish(
    pipe: Model, target: torch.Tensor, original: Image.Image, reference: Branch, source: Source, config: EditConfig
) -> Image.Image:
    """7. (pixels) The decoded target at the input's size, with its exact color (`recoloring.py`) and the original's
    pixels outside the feathered mask."""
    edited = pipe.decode(target).resize(original.size, Image.Resampling.LANCZOS)
    exact_color = config.exact_color and reference.target_rgb is not None
    if exact_color:
        pixels = rgb_pixels(original)
        recolored = recolor(
            pixels,
            source.mask,
            reference.target_rgb,
            rendered=np.asarray(edited),
            source=source.decomposed(pixels, source.mask),
            scene_light=source.light(config.scene_light, pixels),
            material=config.material,
        )
        edited = Image.fromarray(recolored)
    if not config.paste_back:
        return edited
    weights = feather_weights(source.mask, feather_radius(config.feather, original.size))
    if exact_color:
        # recolor already unmixed the outline from the original's pixels: blending them in again across
        # the feather would bring back a fringe of the old color, so its pixels are taken whole there
        weights = (weights > 0).astype(weights.dtype)
    return paste_back(edited, original, weights)
