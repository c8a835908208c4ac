"""ColorEditPipeline: recolor one object of an image to a reference color with Stable Diffusion.

`__call__` reads as the method's steps (shared/design/method.md); each step lives in one place:
inversion.py (1), images.py (2, paste-back), attention/ (4, 5), latents.py (6, 7).
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar

import numpy as np
import torch
from diffusers import AutoencoderKL, DDIMScheduler, DiffusionPipeline, UNet2DConditionModel
from PIL import Image
from transformers import CLIPTextModel, CLIPTextModelWithProjection, CLIPTokenizer

from . import engine, exact, light, photos
from .accounting import counting, current_ledger
from .attention import BRANCHES, BranchLayout, EditController, installed, reference_of, target_name, unet_lock
from .colors import COLOR_WORDS, name_color, parse_color, prompt_color, remove_color_words, with_color_word
from .config import EditConfig, preset
from .errors import ColorEditError
from .families import check_family, family_of, noise_from_output
from .images import ImageLike, feather_radius, feather_weights, load_image, load_mask, paste_back, working_size
from .inversion import (
    Inversion,
    InversionCache,
    NoiseSchedule,
    ddim_inversion,
    guided_ddim,
    null_text_inversion,
    shifted_trajectory,
)
from .latents import (
    BackgroundRestore,
    CleanColorTransfer,
    ExactSourceTrajectory,
    LatentBlend,
    latent_coverage,
    latent_mask,
)
from .models import default_model, locate
from .outputs import ColorEditOutput
from .validate import check_inputs


@dataclass
class Branch:
    """One branch of the joint denoising: where it starts and how it is conditioned."""

    prompt: str
    initial_latents: torch.Tensor  # 1 x C x h x w
    cond: torch.Tensor  # 1 x tokens x dim
    uncond: torch.Tensor  # steps x tokens x dim: one unconditional embedding per step
    region: torch.Tensor | None = None  # 1 x 1 x h x w: how much of each latent cell is its object
    clean: torch.Tensor | None = None  # 1 x C x h x w: its clean latent, when known (an inverted image)
    target_rgb: tuple[int, int, int] | None = None  # the lit albedo it stands for (exact.py): the target color
    trajectory: torch.Tensor | None = None  # (steps + 1) x C x h x w: its inversion, clean first


@dataclass
class Source:
    """The image being edited: the user's (then `original` is set) or generated from prompt + seed."""

    branch: Branch
    work_size: tuple[int, int]
    original: Image.Image | None
    inversion: Inversion | None
    mask: np.ndarray | None = None  # the object's pixels at the original's size (step 2)
    decompositions: dict[tuple[int, int], exact.Decomposition] = field(default_factory=dict, repr=False)
    lights: dict[str, light.SceneLight] = field(default_factory=dict, repr=False)

    def decomposed(self, image: np.ndarray, mask: np.ndarray) -> exact.Decomposition:
        """The object's shade/albedo split (`exact.py`) at the image's size, made once for every color of
        a colorway (the image at one size is always the same one: the original, or it at the working size)."""
        size = image.shape[:2]
        if size not in self.decompositions:
            self.decompositions[size] = exact.decompose(image, mask, prompt_color(self.branch.prompt))
        return self.decompositions[size]

    def light(self, mode: str) -> light.SceneLight:
        """The scene's light at the object (`light.py`), read from the original once for every color."""
        if mode not in self.lights:
            pixels = np.asarray(self.original.convert("RGB"))
            self.lights[mode] = light.scene_light(pixels, self.mask, prompt_color(self.branch.prompt), mode)
        return self.lights[mode]


@dataclass
class ObjectEdit:
    """One object of a multi-object edit: its mask, its reference (image or color) and, where the image's
    prompt should name this object differently ("a red car" for the car, "a white house" for the house),
    its own prompt."""

    mask: ImageLike
    reference: ImageLike | None = None
    reference_prompt: str | None = None
    color: str | None = None
    reference_mask: ImageLike | None = None
    prompt: str | None = None


def one_edit_at_a_time(method):
    """Hold the U-Net's lock for the whole edit (inversions, attention processors, denoising) and count its
    cost in its own ledger: edits from several threads on one pipeline wait for each other, each correct."""

    @functools.wraps(method)
    def edit(self, *args, **kwargs):
        with unet_lock(self.unet), counting():
            return method(self, *args, **kwargs)

    return edit


class ColorEditPipeline(DiffusionPipeline):
    """ColorEdit on the components of any Stable Diffusion 1.x/2.x or XL model with CrossAttnUpBlock2Ds (XL's
    second text encoder and tokenizer given as `text_encoder_2`, `tokenizer_2`; `families.py`)."""

    model_cpu_offload_seq = "text_encoder->text_encoder_2->unet->vae"
    _optional_components: ClassVar[list[str]] = ["text_encoder_2", "tokenizer_2"]

    def __init__(
        self,
        vae: AutoencoderKL,
        text_encoder: CLIPTextModel,
        tokenizer: CLIPTokenizer,
        unet: UNet2DConditionModel,
        scheduler,
        text_encoder_2: CLIPTextModelWithProjection | None = None,
        tokenizer_2: CLIPTokenizer | None = None,
        force_zeros_for_empty_prompt: bool = True,
    ):
        super().__init__()
        if not isinstance(scheduler, DDIMScheduler):  # the method's inversions are DDIM's
            scheduler = DDIMScheduler.from_config(scheduler.config)
        self.register_modules(
            vae=vae,
            text_encoder=text_encoder,
            tokenizer=tokenizer,
            unet=unet,
            scheduler=scheduler,
            text_encoder_2=text_encoder_2,
            tokenizer_2=tokenizer_2,
        )
        self.register_to_config(force_zeros_for_empty_prompt=force_zeros_for_empty_prompt)
        self.family = family_of(self)
        self.vae_scale_factor = 2 ** (len(vae.config.block_out_channels) - 1)
        self.inversion_cache = InversionCache()

    @classmethod
    def from_pretrained(cls, model: str | Path | None = None, **kwargs) -> ColorEditPipeline:
        """Load a diffusers SD folder or hub id (safetensors only; a cached id from the cache, offline);
        "toy" is the shipped toy model; None the default (`models.DEFAULT_RULE`)."""
        kwargs.setdefault("use_safetensors", True)
        if "torch_dtype" not in kwargs:  # components load in their files' dtype otherwise (the toy ships fp16)
            kwargs.setdefault("dtype", torch.float32)
        model = locate(model or default_model())
        check_family(model)
        try:
            pipe = super().from_pretrained(str(model), **kwargs)
        except (OSError, ValueError) as error:
            if isinstance(error.__cause__ or error.__context__, KeyboardInterrupt):  # Ctrl-C while loading
                raise KeyboardInterrupt from None
            reason = str(error).strip().splitlines()[0] if str(error).strip() else error.__class__.__name__
            raise ColorEditError(
                f"cannot load model {str(model)!r} (no such folder, or no network?): {reason}"
            ) from None
        return pipe

    # ----------------------------------------------------------------------------------------------
    @torch.no_grad()
    @one_edit_at_a_time
    def __call__(
        self,
        prompt: str,
        mask: ImageLike,
        image: ImageLike | None = None,
        reference: ImageLike | None = None,
        reference_prompt: str | None = None,
        color: str | Sequence[str] | None = None,
        reference_mask: ImageLike | None = None,
        seed: int = 0,
        config: EditConfig | None = None,
        inversion: Inversion | None = None,
        targets_per_batch: int = 8,
    ) -> ColorEditOutput:
        """Recolor the masked object of `image` (or of the image `prompt` + `seed` generate) to the color
        of `reference` (an image, with its prompt) or of `color` (a CSS name, #rrggbb or r,g,b).

        `color` may be a list: colorways, one edit per color from one inversion, the targets denoised
        together in the U-Net's batch, `targets_per_batch` at a time (fewer to save memory)."""
        config = config or preset()
        colors = [color] if color is None or isinstance(color, str) else list(color)
        check_inputs(mask, image, reference, colors, reference_mask)  # fail before any slow step
        ledger = current_ledger()  # this edit's own (`one_edit_at_a_time`)
        schedule = NoiseSchedule(self.scheduler, config.num_inference_steps)

        # 0. Photo: as displayed, in 8-bit sRGB; the object's crop when it is larger than the model's size
        #    (written back in the photo's own color profile at the end).
        photo, chosen = None, engine.Outcome(None, "a generated source")
        if image is not None:
            image, mask, photo = photos.prepare(
                image, mask, self.native_size, config.crop_to_object, config.output_profile
            )
            # 2. Mask (read first, so the engine can look at the object): the object at the image's size, its
            #    outline moved to the object's edge.
            given, used = engine.object_mask(image, mask, config)
            # 0b. Engine: where the exact-color engine alone makes this very edit, it is the edit, with no
            #     inversion and no U-Net (`engine.py`; the model runs for dark objects, or when asked).
            choice = (colors, reference, reference_prompt, reference_mask, config, photo)
            chosen = engine.exact_edit(prompt, image, given, used, *choice)
            if chosen.output is not None:
                return chosen.output
        # 1. Source: invert the image with its prompt, or generate from prompt + seed.
        source = self.prepare_source(prompt, image, seed, schedule, config, inversion)
        # 2. Mask: at the working size and latent resolution too.
        if source.original is not None:
            source.mask = used
            if chosen.source is not None:  # read already, for the engine's choice
                source.decompositions[used.shape] = chosen.source
        else:
            given = source.mask = load_mask(mask, source.work_size)
        source.branch.region = self.latent_region(source.mask, source)
        # 3. Reference: invert a reference image, or make one from each color spec.
        refs = [
            self.prepare_reference(reference, reference_prompt, c, reference_mask, source, schedule, config)
            for c in colors
        ]
        # 4.-7. Denoise reference(s), source and target(s) together: V alignment (4) and structure (5) in the
        #       attention processors, latent blending (6) and background restore (7) after each step.
        latents: dict[str, torch.Tensor] = {}
        with ledger.stage_of("edit"):
            for first in range(0, len(refs), targets_per_batch):
                chunk = self.denoise_branches(source, refs[first : first + targets_per_batch], schedule, config)
                latents.update({_renumber(name, first): z for name, z in chunk.items()})
        # 7. (pixels) Decode; paste the original pixels back outside the feathered mask.
        with ledger.stage_of("decode"):
            source_image = source.original or self.decode(latents["source"])
            edits = [
                self.finish(latents[target_name(i)], source_image, ref, source, config) for i, ref in enumerate(refs)
            ]
        used_mask = source.mask
        if photo is not None:  # the crop back into the full photo, its alpha with it
            edits = [photos.restore(edited, photo) for edited in edits]
            source_image = photos.restore(source_image, photo)
            used_mask = photos.restore_mask(source.mask, photo)
        return ColorEditOutput(
            images=edits,
            source_image=source_image,
            reference_prompts=[ref.prompt for ref in refs],
            latents=latents,
            mask=used_mask,
            mask_change=float(source.mask.sum() / given.sum() - 1.0),
            inversion=source.inversion,
            unet=ledger.unet_summary(),
            seconds=ledger.seconds_summary(),
            engine="diffusion",
            engine_reason=chosen.why,
        )

    def edit_objects(
        self,
        prompt: str,
        edits: Sequence[ObjectEdit],
        image: ImageLike | None = None,
        seed: int = 0,
        config: EditConfig | None = None,
    ) -> list[ColorEditOutput]:
        """8. Several objects: each edit's output is the next edit's source; each with its own prompt, if given."""
        outputs: list[ColorEditOutput] = []
        for edit in edits:
            fields = {k: v for k, v in vars(edit).items() if k != "prompt"}
            outputs.append(self(edit.prompt or prompt, image=image, seed=seed, config=config, **fields))
            image = outputs[-1].image
        return outputs

    # ---- step 1 ----------------------------------------------------------------------------------
    def prepare_source(
        self,
        prompt: str,
        image: ImageLike | None,
        seed: int,
        schedule: NoiseSchedule,
        config: EditConfig,
        inversion: Inversion | None,
    ) -> Source:
        cond, empty = self.encode_text([prompt]), self.encode_text([""])
        if image is None:
            work = (self.native_size, self.native_size)
            branch = Branch(prompt, self.initial_noise(seed, work), cond, empty.expand(len(schedule), -1, -1))
            return Source(branch, work, None, None)
        original = load_image(image, "image")
        work = working_size(*original.size, self.native_size, self.size_multiple)
        if inversion is None:
            with current_ledger().stage_of("inversion"):
                inversion = self.invert(original.resize(work, Image.Resampling.LANCZOS), prompt, schedule, config)
        elif inversion.timesteps != schedule.timesteps:
            raise ColorEditError("the given inversion was made with other timesteps (number of steps)")
        branch = Branch(
            prompt,
            inversion.initial_latents.to(self.device),
            cond,
            self.uncond_per_step(inversion, empty, len(schedule)),
            trajectory=inversion.latents.to(self.device),
        )
        return Source(branch, work, original, inversion)

    def invert(
        self, image: Image.Image, prompt: str, schedule: NoiseSchedule, config: EditConfig, method: str | None = None
    ) -> Inversion:
        """Invert an image (already at the working size) into a trajectory its prompt reconstructs.

        Results are cached by content (image bytes, prompt, model, steps, method and its settings), so
        editing several objects or images to one reference inverts it once."""
        method = method or config.inversion
        key = self.inversion_key(image, prompt, schedule, config, method)
        cached = self.inversion_cache.get(key)
        if cached is not None:
            return cached
        cond = self.encode_text([prompt])
        trajectory = ddim_inversion(self.predict_noise, self.encode_image(image), cond, schedule, self.progress_bar)
        uncond = None
        if method == "negative-prompt":
            uncond = cond.expand(len(schedule), -1, -1)
        elif method == "null-text":
            with torch.enable_grad():
                uncond = null_text_inversion(
                    self.predict_noise,
                    trajectory,
                    cond,
                    self.encode_text([""]),
                    schedule,
                    config.guidance_scale,
                    config.null_text_inner_steps,
                    config.null_text_lr,
                    config.null_text_early_stop,
                    self.progress_bar,
                    loss_scale=1024.0 if self.unet.dtype == torch.float16 else 1.0,
                )
        inversion = Inversion(trajectory, schedule.timesteps, prompt, method, config.guidance_scale, uncond)
        self.inversion_cache.put(key, inversion)
        return inversion

    def inversion_key(
        self, image: Image.Image, prompt: str, schedule: NoiseSchedule, config: EditConfig, method: str
    ) -> str:
        settings = [prompt, method, schedule.timesteps, str(image.size), id(self.unet), self.name_or_path]
        if method == "null-text":
            settings += [
                config.guidance_scale,
                config.null_text_inner_steps,
                config.null_text_lr,
                config.null_text_early_stop,
            ]
        digest = hashlib.sha256(np.asarray(image.convert("RGB")).tobytes())
        digest.update(json.dumps(settings, default=str).encode())
        return digest.hexdigest()

    # ---- step 2 ----------------------------------------------------------------------------------
    def latent_region(self, pixel_mask: np.ndarray, source: Source) -> torch.Tensor:
        work_mask = np.asarray(Image.fromarray(pixel_mask).resize(source.work_size, Image.Resampling.NEAREST))
        return latent_coverage(work_mask, tuple(source.branch.initial_latents.shape[-2:])).to(self.device)

    # ---- step 3 ----------------------------------------------------------------------------------
    def prepare_reference(
        self,
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
        empty = self.encode_text([""])
        with current_ledger().stage_of("reference"):
            if color is not None:
                rgb = parse_color(color)
                if config.color_reference == "recolor" and source.inversion is not None:
                    return self.recolored_source(rgb, source, schedule, reference_prompt, config)
                if config.color_reference != "swatch":
                    s = source.branch
                    prompt = reference_prompt or with_color_word(s.prompt, name_color(rgb))
                    return Branch(
                        prompt, s.initial_latents, self.encode_text([prompt]), s.uncond, s.region, target_rgb=rgb
                    )
                image, region = Image.new("RGB", source.work_size, rgb), None
                prompt = reference_prompt or name_color(rgb)
            else:
                image, found, rgb = engine.reference_color(reference, reference_mask, reference_prompt, config)
                prompt = reference_prompt or with_color_word(source.branch.prompt, name_color(rgb))
                image = image.resize(source.work_size, Image.Resampling.LANCZOS)
                region = (
                    np.asarray(
                        Image.fromarray(found.astype(np.uint8) * 255).resize(source.work_size, Image.Resampling.NEAREST)
                    )
                    > 0
                )
            inversion = self.invert(image, prompt, schedule, config)
        latent_hw = tuple(source.branch.initial_latents.shape[-2:])
        weights = torch.ones(1, 1, *latent_hw) if region is None else latent_coverage(region, latent_hw)
        return Branch(
            prompt,
            inversion.initial_latents.to(self.device),
            self.encode_text([prompt]),
            self.uncond_per_step(inversion, empty, len(schedule)),
            weights.to(self.device),
            clean=inversion.latents[:1].to(self.device),
            target_rgb=rgb,
            trajectory=inversion.latents.to(self.device),
        )

    def recolored_source(
        self, rgb: tuple[int, int, int], source: Source, schedule: NoiseSchedule, prompt: str | None, config: EditConfig
    ) -> Branch:
        """The reference as the source itself recolored in pixels (`exact.py`): its clean latent is the VAE's,
        its trajectory the source's inverted noise around that latent; no U-Net call."""
        image = source.original.resize(source.work_size, Image.Resampling.LANCZOS)
        mask = np.asarray(Image.fromarray(source.mask).resize(source.work_size, Image.Resampling.NEAREST)) > 0
        pixels = np.asarray(image)
        recolored = exact.recolor(
            pixels,
            mask,
            rgb,
            source=source.decomposed(pixels, mask),
            scene_light=source.light(config.scene_light),
            material=config.material,
        )
        recolored = Image.fromarray(recolored)
        clean = self.encode_image(recolored)
        trajectory = shifted_trajectory(source.inversion.latents.to(self.device), clean, schedule)
        prompt = prompt or with_color_word(source.branch.prompt, name_color(rgb))
        s = source.branch
        return Branch(
            prompt,
            trajectory[-1:],
            self.encode_text([prompt]),
            s.uncond,
            s.region,
            clean=trajectory[:1],
            target_rgb=rgb,
            trajectory=trajectory,
        )

    # ---- steps 4-7 -------------------------------------------------------------------------------
    def denoise_branches(
        self, source: Source, references: list[Branch], schedule: NoiseSchedule, config: EditConfig
    ) -> dict[str, torch.Tensor]:
        """One batched U-Net call per step for [references |] source | targets, x2 for CFG (the source x1
        under direct inversion): one target per reference, named target, target1, ... (reference, reference1,
        ...), each edited toward its own reference exactly as a single edit would be."""
        s, steps = source.branch, len(schedule)
        branches, encoded = {"source": s}, {}
        for i, reference in enumerate(references):
            prompt = self.target_prompt(s.prompt, reference.prompt, config)
            if prompt not in encoded:  # colorways' targets mostly share one prompt: encode it once
                encoded[prompt] = self.encode_text([prompt])
            target = target_name(i)
            branches[target] = Branch(prompt, s.initial_latents, encoded[prompt], s.uncond, s.region)
            branches[reference_of(target)] = reference
        # A reference whose trajectory is known (an inverted image) and whose image features no edit reads
        # need not be a row: its Values come from its text, its latents from its trajectory.
        known = {
            name: branch.trajectory
            for name, branch in branches.items()
            if name.startswith("reference")
            and branch.trajectory is not None
            and not (config.keep_reference_branch or config.appearance_transfer)
        }
        names = tuple(name for name in sorted(branches, key=_row_order) if name not in known)
        rows = [branches[name] for name in names]
        # Under direct inversion the source's noise estimate is never used (its latents are put back on
        # the exact trajectory), only its attention features: one row, the conditional one its inversion
        # was made with, serves both halves of every target.
        exact_source = source.inversion is not None and source.inversion.method == "direct"
        layout = BranchLayout(names, unguided=("source",) if exact_source else ())
        if config.guidance_scale == 1:  # guidance 1 is the conditional estimate alone: no unconditional rows
            layout = BranchLayout(names, unguided=names)
        controller = EditController(
            config, steps, schedule.num_train_timesteps, layout, regions={n: b.region for n, b in branches.items()}
        )

        def before_step(step: int, timestep: int) -> None:
            controller.set_step(step, timestep)
            for name in known:  # their Values come from their text: hand the processors their embeddings
                reference = branches[name]
                embeddings = torch.cat([reference.uncond[step : step + 1], reference.cond])
                controller.reference_text[name] = self.family.text_states(embeddings)

        on_clean, after_step = [], [ExactSourceTrajectory(s.trajectory)] if exact_source else []
        for target in layout.targets:
            reference = branches[reference_of(target)]
            if config.color_transfer:
                on_clean.append(
                    CleanColorTransfer(
                        round(config.color_transfer_steps * steps),
                        s.region,
                        reference.region,
                        reference.clean,
                        config.color_transfer_std,
                        config.color_transfer_mode,
                        target,
                        reference_of(target),
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
                    target,
                    reference_of(target),
                )
            )
        restore = BackgroundRestore(
            round(config.background_start * steps), latent_mask(s.region, config.mask_dilation), layout.targets
        )
        with installed(self.unet, controller.processors(self.unet)):
            final = guided_ddim(
                self.predict_noise,
                torch.cat([branch.initial_latents for branch in rows]),
                torch.cat([branch.cond for branch in rows]),
                lambda step: torch.cat([branch.uncond[step : step + 1] for branch in rows]),
                schedule,
                config.guidance_scale,
                before_step=before_step,
                edit_clean=_per_branch(names, on_clean),
                after_step=_per_branch(names, [*after_step, restore], known),
                progress=self.progress_bar,
                guided=[names.index(name) for name in layout.guided],
            )
        return dict(zip(names, final.split(1), strict=True))

    @staticmethod
    def target_prompt(source_prompt: str, reference_prompt: str, config: EditConfig) -> str:
        """The target branch's prompt, by `config.target_prompt`."""
        if config.target_prompt == "no-color":
            return remove_color_words(source_prompt)
        if config.target_prompt == "reference-color":
            words = [w for w in reference_prompt.split() if w.lower().strip(".,;:!?") in COLOR_WORDS]
            return with_color_word(source_prompt, words[0]) if words else source_prompt
        return source_prompt

    def finish(
        self, target: torch.Tensor, original: Image.Image, reference: Branch, source: Source, config: EditConfig
    ) -> Image.Image:
        """The decoded target at the input's size, with its exact color (`exact.py`) and the original's pixels
        outside the feathered mask."""
        edited = self.decode(target).resize(original.size, Image.Resampling.LANCZOS)
        exact_color = config.exact_color and reference.target_rgb is not None
        if exact_color:
            pixels = np.asarray(original.convert("RGB"))
            recolored = exact.recolor(
                pixels,
                source.mask,
                reference.target_rgb,
                rendered=np.asarray(edited),
                source=source.decomposed(pixels, source.mask),
                scene_light=source.light(config.scene_light),
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

    # ---- plain generation (the floor an edit is compared with) -------------------------------------
    @torch.no_grad()
    def generate(
        self, prompts: list[str], seeds: list[int], num_inference_steps: int = 50, guidance_scale: float = 7.5
    ) -> list[Image.Image]:
        """Text-to-image with guided DDIM, batched, each seed's noise drawn as diffusers draws it."""
        schedule = NoiseSchedule(self.scheduler, num_inference_steps)
        work = (self.native_size, self.native_size)
        latents = torch.cat([self.initial_noise(seed, work) for seed in seeds])
        empty = self.encode_text([""]).expand(len(prompts), -1, -1)
        with current_ledger().stage_of("generate"):
            final = guided_ddim(
                self.predict_noise,
                latents,
                self.encode_text(prompts),
                lambda step: empty,
                schedule,
                guidance_scale,
                progress=self.progress_bar,
            )
        return [self.decode(z) for z in final.split(1)]

    # ---- model plumbing --------------------------------------------------------------------------
    def initial_noise(self, seed: int, size: tuple[int, int]) -> torch.Tensor:
        shape = (1, self.unet.config.in_channels, size[1] // self.vae_scale_factor, size[0] // self.vae_scale_factor)
        noise = torch.randn(shape, generator=torch.Generator("cpu").manual_seed(seed))
        return noise.to(self.device) * self.scheduler.init_noise_sigma

    @property
    def native_size(self) -> int:
        return self.unet.config.sample_size * self.vae_scale_factor

    @property
    def size_multiple(self) -> int:
        return self.vae_scale_factor * 2 ** (len(self.unet.config.block_out_channels) - 1)

    def predict_noise(
        self, latents: torch.Tensor, timestep: int, embeddings: torch.Tensor, alpha: torch.Tensor | None = None
    ) -> torch.Tensor:
        """The U-Net's noise prediction (converted from v for v-prediction models, with `alpha` the latents'
        cumulative alpha, by default the timestep's); every call is counted in the ledger."""
        if embeddings.shape[0] != latents.shape[0]:
            embeddings = embeddings.expand(latents.shape[0], -1, -1)
        current_ledger().record_unet(latents.shape[0])
        dtype = self.unet.dtype
        inputs = self.family.unet_kwargs(self, embeddings.to(dtype), latents)
        out = self.unet(latents.to(dtype), timestep, **inputs).sample
        alpha = self.scheduler.alphas_cumprod[int(timestep)] if alpha is None else alpha
        return noise_from_output(out.to(latents.dtype), latents, alpha, self.scheduler.config.prediction_type)

    def encode_text(self, prompts: list[str]) -> torch.Tensor:
        """One embedding tensor per prompt, as the model's family makes it (`families.py`)."""
        with torch.no_grad():
            return self.family.encode_text(self, prompts)

    @torch.no_grad()
    def encode_image(self, image: Image.Image) -> torch.Tensor:
        pixels = torch.from_numpy(np.asarray(image, dtype=np.float32) / 127.5 - 1.0).permute(2, 0, 1)[None]
        latent = self.vae.encode(pixels.to(self.device, self.vae_dtype())).latent_dist.mean
        return latent.float() * self.vae.config.scaling_factor

    @torch.no_grad()
    def decode(self, latents: torch.Tensor) -> Image.Image:
        pixels = self.vae.decode((latents / self.vae.config.scaling_factor).to(self.vae_dtype())).sample
        array = (pixels[0].float() / 2 + 0.5).clamp(0, 1).permute(1, 2, 0).cpu().numpy()
        return Image.fromarray((array * 255).round().astype(np.uint8))

    def vae_dtype(self) -> torch.dtype:
        """SDXL's VAE overflows in fp16: where the family and the VAE's config say so, it runs in fp32, as
        diffusers' XL pipelines do."""
        if self.family.upcast_vae and self.vae.dtype == torch.float16 and self.vae.config.get("force_upcast"):
            self.vae.to(torch.float32)
        return self.vae.dtype

    def uncond_per_step(self, inversion: Inversion, empty: torch.Tensor, steps: int) -> torch.Tensor:
        if inversion.uncond_embeddings is not None:
            return inversion.uncond_embeddings.to(self.device)
        return empty.expand(steps, -1, -1)


def _per_branch(names: tuple[str, ...], callbacks: list, known: dict[str, torch.Tensor] | None = None):
    """A sampler hook over the stacked batch that runs callbacks on {branch name: latents}. References that
    are not rows are read from their known trajectories at the level the step reached."""
    if not callbacks:
        return None

    def hook(step: int, timestep: int, stacked: torch.Tensor) -> torch.Tensor:
        latents = dict(zip(names, stacked.split(1), strict=True))
        for name, trajectory in (known or {}).items():
            latents[name] = trajectory[len(trajectory) - 2 - step].unsqueeze(0)
        for callback in callbacks:
            callback(step, timestep, latents)
        return torch.cat([latents[name] for name in names])

    return hook


def _row_order(name: str) -> tuple[int, int]:
    """References first, then the source, then the targets (the single edit's order), by index."""
    kind = next(i for i, prefix in enumerate(BRANCHES) if name.startswith(prefix))
    return kind, int(name[len(BRANCHES[kind]) :] or 0)


def _renumber(name: str, offset: int) -> str:
    """A branch name of a batch of targets starting at `offset`, as a name among all the targets."""
    if name == "source" or not offset:
        return name
    kind = "target" if name.startswith("target") else "reference"
    return f"{kind}{int(name[len(kind) :] or 0) + offset}"


def load_pipeline(model: str | Path, device: str | None = None, dtype: str = "auto") -> ColorEditPipeline:
    """The pipeline of `model` on `device` (default: this process's GPU under a launcher, else the CPU), in
    `dtype` ("auto": float16 on a GPU, float32 on the CPU)."""
    if device is None:
        device = f"cuda:{os.environ.get('LOCAL_RANK', 0)}" if torch.cuda.is_available() else "cpu"
    if dtype == "auto":
        dtype = "float16" if device.startswith("cuda") else "float32"
    return ColorEditPipeline.from_pretrained(model, dtype=getattr(torch, dtype)).to(device)
