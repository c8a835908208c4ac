"""ColorEditPipeline: recolor one object of an image to a reference color with Stable Diffusion.

`__call__` reads as the method's steps (shared/design/method.md); each step lives in one place:
inversion.py (1), images.py (2, paste-back), attention/ (4, 5), latents.py (6, 7).
"""

from __future__ import annotations

import hashlib
import json
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from diffusers import AutoencoderKL, DDIMScheduler, DiffusionPipeline, UNet2DConditionModel
from PIL import Image
from transformers import CLIPTextModel, CLIPTokenizer

from . import exact, photos
from .accounting import CostLedger
from .attention import BRANCHES, BranchLayout, EditController
from .colors import COLOR_WORDS, name_color, parse_color, prompt_color, remove_color_words, with_color_word
from .config import EditConfig, preset
from .errors import ColorEditError
from .families import check_family, noise_from_output
from .images import ImageLike, feather_radius, feather_weights, load_image, load_mask, paste_back, working_size
from .inversion import Inversion, NoiseSchedule, ddim_inversion, guided_ddim, null_text_inversion
from .latents import (
    BackgroundRestore,
    CleanColorTransfer,
    ExactSourceTrajectory,
    LatentBlend,
    latent_coverage,
    latent_mask,
)
from .masks import salient_object

DEFAULT_MODEL = "CompVis/stable-diffusion-v1-4"
TOY_MODEL = Path(__file__).parent / "assets" / "toy"  # `from_pretrained("toy")`: the shipped toy-world model


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


@dataclass
class ObjectEdit:
    """One object of a multi-object edit: its mask and its reference (image or color)."""

    mask: ImageLike
    reference: ImageLike | None = None
    reference_prompt: str | None = None
    color: str | None = None
    reference_mask: ImageLike | None = None


@dataclass
class ColorEditOutput:
    image: Image.Image  # the edit, at the input's size
    source_image: Image.Image  # the input image, or the generated source
    reference_prompt: str
    latents: dict[str, torch.Tensor]  # final latents of each branch
    inversion: Inversion | None
    unet: dict = field(default_factory=dict)  # U-Net calls and rows, total and by stage
    seconds: dict = field(default_factory=dict)  # wall time by stage


class ColorEditPipeline(DiffusionPipeline):
    """ColorEdit on the components of any Stable Diffusion 1.x/2.x model with CrossAttnUpBlock2Ds."""

    model_cpu_offload_seq = "text_encoder->unet->vae"

    def __init__(
        self,
        vae: AutoencoderKL,
        text_encoder: CLIPTextModel,
        tokenizer: CLIPTokenizer,
        unet: UNet2DConditionModel,
        scheduler,
    ):
        super().__init__()
        if not isinstance(scheduler, DDIMScheduler):  # the method's inversions are DDIM's
            scheduler = DDIMScheduler.from_config(scheduler.config)
        self.register_modules(vae=vae, text_encoder=text_encoder, tokenizer=tokenizer, unet=unet, scheduler=scheduler)
        self.vae_scale_factor = 2 ** (len(vae.config.block_out_channels) - 1)
        self.ledger = CostLedger()
        self.inversion_cache: OrderedDict[str, Inversion] = OrderedDict()
        self.inversion_cache_size = 8

    @classmethod
    def from_pretrained(cls, model: str | Path = DEFAULT_MODEL, **kwargs) -> ColorEditPipeline:
        """Load a diffusers SD folder or hub id (safetensors only); "toy" is the shipped toy model."""
        kwargs.setdefault("use_safetensors", True)
        if "torch_dtype" not in kwargs:  # components load in their files' dtype otherwise (the toy ships fp16)
            kwargs.setdefault("dtype", torch.float32)
        if str(model) == "toy":
            model = TOY_MODEL
        check_family(model)
        try:
            pipe = super().from_pretrained(str(model), **kwargs)
        except (OSError, ValueError) as error:
            reason = str(error).strip().splitlines()[0] if str(error).strip() else error.__class__.__name__
            raise ColorEditError(
                f"cannot load model {str(model)!r} (no such folder, or no network?): {reason}"
            ) from None
        return pipe

    # ----------------------------------------------------------------------------------------------
    @torch.no_grad()
    def __call__(
        self,
        prompt: str,
        mask: ImageLike,
        image: ImageLike | None = None,
        reference: ImageLike | None = None,
        reference_prompt: str | None = None,
        color: str | None = None,
        reference_mask: ImageLike | None = None,
        seed: int = 0,
        config: EditConfig | None = None,
        inversion: Inversion | None = None,
    ) -> ColorEditOutput:
        """Recolor the masked object of `image` (or of the image `prompt` + `seed` generate) to the color
        of `reference` (an image, with its prompt) or of `color` (a CSS name, #rrggbb or r,g,b)."""
        config = config or preset()
        check_inputs(mask, image, reference, color, reference_mask)  # fail before any slow step
        self.ledger = CostLedger()
        schedule = NoiseSchedule(self.scheduler, config.num_inference_steps)

        # 0. Photo: as displayed, in 8-bit sRGB; the object's crop when it is larger than the model's size.
        photo = None
        if image is not None:
            image, mask, photo = photos.prepare(image, mask, self.native_size, config.crop_to_object)
        # 1. Source: invert the image with its prompt, or generate from prompt + seed.
        source = self.prepare_source(prompt, image, seed, schedule, config, inversion)
        # 2. Mask: the object at the image's size, the working size and latent resolution.
        pixel_mask = load_mask(mask, source.original.size if source.original else source.work_size)
        source.branch.region = self.latent_region(pixel_mask, source)
        # 3. Reference: invert a reference image, or make one from a color spec.
        ref = self.prepare_reference(reference, reference_prompt, color, reference_mask, source, schedule, config)
        # 4.-7. Denoise reference, source and target together: V alignment (4) and structure (5) in the
        #       attention processors, latent blending (6) and background restore (7) after each step.
        with self.ledger.stage_of("edit"):
            latents = self.denoise_branches(source, ref, schedule, config)
        # 7. (pixels) Decode; paste the original pixels back outside the feathered mask.
        with self.ledger.stage_of("decode"):
            edited, source_image = self.finish(latents, source, ref, pixel_mask, config)
        if photo is not None:  # the crop back into the full photo, its alpha with it
            edited, source_image = photos.restore(edited, photo), photos.restore(source_image, photo)
        return ColorEditOutput(
            image=edited,
            source_image=source_image,
            reference_prompt=ref.prompt,
            latents=latents,
            inversion=source.inversion,
            unet=self.ledger.unet_summary(),
            seconds=self.ledger.seconds_summary(),
        )

    def edit_objects(
        self,
        prompt: str,
        edits: Sequence[ObjectEdit],
        image: ImageLike | None = None,
        seed: int = 0,
        config: EditConfig | None = None,
    ) -> list[ColorEditOutput]:
        """8. Several objects: each edit's output is the next edit's source."""
        outputs: list[ColorEditOutput] = []
        for edit in edits:
            outputs.append(self(prompt, image=image, seed=seed, config=config, **vars(edit)))
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
            with self.ledger.stage_of("inversion"):
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
        if key in self.inversion_cache:
            self.inversion_cache.move_to_end(key)
            return self.inversion_cache[key]
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
        self.inversion_cache[key] = inversion
        while len(self.inversion_cache) > self.inversion_cache_size:
            self.inversion_cache.popitem(last=False)
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
        with self.ledger.stage_of("reference"):
            if color is not None:
                rgb = parse_color(color)
                if config.color_reference == "generate":
                    s = source.branch
                    prompt = reference_prompt or with_color_word(s.prompt, name_color(rgb))
                    return Branch(
                        prompt, s.initial_latents, self.encode_text([prompt]), s.uncond, s.region, target_rgb=rgb
                    )
                image, region = Image.new("RGB", source.work_size, rgb), None
                prompt = reference_prompt or name_color(rgb)
            else:
                image, alpha, _ = photos.open_photo(reference, "reference image")
                found = self.reference_region(image, reference_mask, alpha)
                hint = prompt_color(reference_prompt) if reference_prompt else None
                rgb = exact.lit_albedo(np.asarray(image), found, hint)
                prompt = reference_prompt or with_color_word(source.branch.prompt, name_color(rgb))
                image = image.resize(source.work_size, Image.Resampling.LANCZOS)
                region = np.asarray(
                    Image.fromarray(found.astype(np.uint8) * 255).resize(source.work_size, Image.Resampling.NEAREST)
                ) > 0
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

    @staticmethod
    def reference_region(image: Image.Image, reference_mask: ImageLike | None, alpha: np.ndarray | None) -> np.ndarray:
        """Where the reference's color is: its mask, else its opaque pixels, else its salient object; never
        its background."""
        if reference_mask is not None:
            return load_mask(reference_mask, image.size)
        if alpha is not None and (alpha >= 128).any():
            return alpha >= 128
        return salient_object(np.asarray(image))

    # ---- steps 4-7 -------------------------------------------------------------------------------
    def denoise_branches(
        self, source: Source, reference: Branch, schedule: NoiseSchedule, config: EditConfig
    ) -> dict[str, torch.Tensor]:
        """One batched U-Net call per step for [reference |] source | target, x2 for CFG (the source x1
        under direct inversion)."""
        s, steps = source.branch, len(schedule)
        target_prompt = self.target_prompt(s.prompt, reference.prompt, config)
        target = Branch(target_prompt, s.initial_latents, self.encode_text([target_prompt]), s.uncond, s.region)
        keep_reference = config.keep_reference_branch or reference.trajectory is None or config.appearance_transfer
        names = BRANCHES if keep_reference else tuple(b for b in BRANCHES if b != "reference")
        rows = [{"reference": reference, "source": s, "target": target}[name] for name in names]
        # Under direct inversion the source's noise estimate is never used (its latents are put back on
        # the exact trajectory), only its attention features: one row, the conditional one its inversion
        # was made with, serves both halves of the target.
        exact_source = source.inversion is not None and source.inversion.method == "direct"
        layout = BranchLayout(names, unguided=("source",) if exact_source else ())
        controller = EditController(
            config,
            steps,
            schedule.num_train_timesteps,
            layout,
            regions={"target": s.region, "reference": reference.region},
        )

        def before_step(step: int, timestep: int) -> None:
            controller.set_step(step, timestep)
            if not keep_reference:  # its Values come from its text: hand the processors its embeddings
                controller.reference_text = torch.cat([reference.uncond[step : step + 1], reference.cond])

        on_clean = []
        if config.color_transfer:
            on_clean.append(
                CleanColorTransfer(
                    round(config.color_transfer_steps * steps),
                    s.region,
                    reference.region,
                    reference.clean,
                    config.color_transfer_std,
                    config.color_transfer_mode,
                )
            )
        after_step = [ExactSourceTrajectory(s.trajectory)] if exact_source else []
        after_step += [
            LatentBlend(
                config.blend_ratio,
                config.blend_mode,
                config.blend_tau,
                s.region,
                reference.region,
                schedule.num_train_timesteps,
            ),
            BackgroundRestore(round(config.background_start * steps), latent_mask(s.region, config.mask_dilation)),
        ]
        known_reference = None if keep_reference else reference.trajectory
        previous = controller.install(self.unet)
        try:
            final = guided_ddim(
                self.predict_noise,
                torch.cat([branch.initial_latents for branch in rows]),
                torch.cat([branch.cond for branch in rows]),
                lambda step: torch.cat([branch.uncond[step : step + 1] for branch in rows]),
                schedule,
                config.guidance_scale,
                before_step=before_step,
                edit_clean=_per_branch(names, on_clean),
                after_step=_per_branch(names, after_step, known_reference),
                progress=self.progress_bar,
                guided=[names.index(name) for name in layout.guided],
            )
        finally:
            self.unet.set_attn_processor(previous)
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
        self,
        latents: dict[str, torch.Tensor],
        source: Source,
        reference: Branch,
        pixel_mask: np.ndarray,
        config: EditConfig,
    ) -> tuple[Image.Image, Image.Image]:
        """The decoded target at the input's size, with its exact color (`exact.py`) and the original's pixels
        outside the feathered mask."""
        original = source.original or self.decode(latents["source"])
        edited = self.decode(latents["target"]).resize(original.size, Image.Resampling.LANCZOS)
        if config.exact_color and reference.target_rgb is not None:
            recolored = exact.recolor(
                np.asarray(original.convert("RGB")),
                pixel_mask,
                reference.target_rgb,
                rendered=np.asarray(edited),
                hint_rgb=prompt_color(source.branch.prompt),
            )
            edited = Image.fromarray(recolored)
        if not config.paste_back:
            return edited, original
        weights = feather_weights(pixel_mask, feather_radius(config.feather, original.size))
        return paste_back(edited, original, weights), original

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
        with self.ledger.stage_of("generate"):
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
        self.ledger.record_unet(latents.shape[0])
        dtype = self.unet.dtype
        out = self.unet(latents.to(dtype), timestep, encoder_hidden_states=embeddings.to(dtype)).sample
        alpha = self.scheduler.alphas_cumprod[int(timestep)] if alpha is None else alpha
        return noise_from_output(out.to(latents.dtype), latents, alpha, self.scheduler.config.prediction_type)

    def encode_text(self, prompts: list[str]) -> torch.Tensor:
        tokens = self.tokenizer(
            prompts,
            padding="max_length",
            max_length=self.tokenizer.model_max_length,
            truncation=True,
            return_tensors="pt",
        )
        with torch.no_grad():
            return self.text_encoder(tokens.input_ids.to(self.device))[0].float()

    @torch.no_grad()
    def encode_image(self, image: Image.Image) -> torch.Tensor:
        pixels = torch.from_numpy(np.asarray(image, dtype=np.float32) / 127.5 - 1.0).permute(2, 0, 1)[None]
        latent = self.vae.encode(pixels.to(self.device, self.vae.dtype)).latent_dist.mean
        return latent.float() * self.vae.config.scaling_factor

    @torch.no_grad()
    def decode(self, latents: torch.Tensor) -> Image.Image:
        pixels = self.vae.decode((latents / self.vae.config.scaling_factor).to(self.vae.dtype)).sample
        array = (pixels[0].float() / 2 + 0.5).clamp(0, 1).permute(1, 2, 0).cpu().numpy()
        return Image.fromarray((array * 255).round().astype(np.uint8))

    def uncond_per_step(self, inversion: Inversion, empty: torch.Tensor, steps: int) -> torch.Tensor:
        if inversion.uncond_embeddings is not None:
            return inversion.uncond_embeddings.to(self.device)
        return empty.expand(steps, -1, -1)


def check_inputs(
    mask: ImageLike,
    image: ImageLike | None = None,
    reference: ImageLike | None = None,
    color: str | None = None,
    reference_mask: ImageLike | None = None,
) -> None:
    """Raise ColorEditError for bad input (unreadable images, a mask that does not fit, an unknown color)."""
    if (reference is None) == (color is None):
        raise ColorEditError("give exactly one of a reference image or a color")
    if image is not None:
        load_mask(mask, photos.open_photo(image)[0].size)
    if color is not None:
        parse_color(color)
    if reference is not None:
        reference_size = photos.open_photo(reference, "reference image")[0].size
        if reference_mask is not None:
            load_mask(reference_mask, reference_size)


def _per_branch(names: tuple[str, ...], callbacks: list, known_reference: torch.Tensor | None = None):
    """A sampler hook over the stacked batch that runs callbacks on {branch name: latents}. A reference
    that is not a row is read from its known trajectory at the level the step reached."""
    if not callbacks:
        return None

    def hook(step: int, timestep: int, stacked: torch.Tensor) -> torch.Tensor:
        latents = dict(zip(names, stacked.split(1), strict=True))
        if known_reference is not None:
            latents["reference"] = known_reference[len(known_reference) - 2 - step].unsqueeze(0)
        for callback in callbacks:
            callback(step, timestep, latents)
        return torch.cat([latents[name] for name in names])

    return hook
