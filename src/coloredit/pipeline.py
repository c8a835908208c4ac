"""ColorEditPipeline: recolor one object of an image to a reference color with Stable Diffusion.

`__call__` reads as the method's steps (shared/design/method.md); each step lives in one place: photos.py and
engine.py (0), inversion.py (1), engine.py and edges.py (2), references.py (3), joint.py with attention/ and
latents.py (4-7), images.py (paste-back); branches.py holds what the steps pass each other.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import ClassVar

import numpy as np
import torch
from diffusers import AutoencoderKL, DiffusionPipeline, ModelMixin, UNet2DConditionModel
from PIL import Image
from transformers import CLIPTextModel, CLIPTokenizer, PreTrainedModel, PreTrainedTokenizerBase

from . import engine, photos
from .accounting import current_ledger
from .attention import one_edit_at_a_time
from .branch_names import SOURCE, target
from .branches import Source
from .config import EditConfig, preset
from .errors import ColorEditError
from .families import OPTIONAL_COMPONENTS, family_of
from .images import ImageLike, load_mask, rgb_pixels
from .inversion import Inversion, InversionCache, NoiseSchedule, guided_ddim, invert_image
from .joint import denoise_targets, finish
from .latents import latent_coverage
from .models import check_family, default_model, locate
from .outputs import ColorEditOutput, ObjectEdit, edited_in_turn
from .references import prepare_reference
from .sources import prepare_source
from .validate import check_inputs


class ColorEditPipeline(DiffusionPipeline):
    """ColorEdit on the components of a Stable Diffusion 1.x/2.x or XL model with CrossAttnUpBlock2Ds (XL's
    second text encoder and tokenizer given as `text_encoder_2`, `tokenizer_2`), or of a flow transformer:
    FLUX.1 (`transformer`, CLIP, T5 as `text_encoder_2`) or SD3 (two CLIPs, T5 as `text_encoder_3`); `families.py`."""

    model_cpu_offload_seq = "text_encoder->text_encoder_2->text_encoder_3->unet->transformer->vae"
    _optional_components: ClassVar[list[str]] = list(OPTIONAL_COMPONENTS)

    def __init__(
        self,
        vae: AutoencoderKL,
        text_encoder: CLIPTextModel | PreTrainedModel,
        tokenizer: CLIPTokenizer,
        unet: UNet2DConditionModel | None = None,
        scheduler=None,
        text_encoder_2: PreTrainedModel | None = None,
        tokenizer_2: PreTrainedTokenizerBase | None = None,
        force_zeros_for_empty_prompt: bool = True,
        transformer: ModelMixin | None = None,
        text_encoder_3: PreTrainedModel | None = None,
        tokenizer_3: PreTrainedTokenizerBase | None = None,
    ):
        super().__init__()
        self.register_modules(vae=vae, text_encoder=text_encoder, tokenizer=tokenizer, unet=unet)
        self.register_modules(transformer=transformer, text_encoder_2=text_encoder_2, tokenizer_2=tokenizer_2)
        self.register_modules(text_encoder_3=text_encoder_3, tokenizer_3=tokenizer_3)
        self.family = family_of(self)
        self.register_modules(scheduler=self.family.scheduler(scheduler))  # the method's inversions need its kind
        self.register_to_config(force_zeros_for_empty_prompt=force_zeros_for_empty_prompt)
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
        schedule = self.family.schedule(self, config.num_inference_steps)

        # 0. Photo: as displayed, in 8-bit sRGB; the object's crop when it is larger than the model's size
        #    (written back in the photo's own color profile at the end).
        photo, chosen = None, engine.Outcome(None, "a generated source")
        if image is not None:
            image, mask, photo = photos.prepare(
                image, mask, self.native_size, config.crop_to_object, config.output_profile
            )
            # 2. Mask (read first, so the engine can look at the object): the object at the image's size, its
            #    outline moved to the object's edge.
            pixels = rgb_pixels(image)  # read once, for the mask's refinement and the engine alike
            given, used = engine.object_mask(pixels, mask, config)
            # 0b. Engine: where the exact-color engine alone makes this very edit, it is the edit, with no
            #     inversion and no U-Net (`engine.py`; the model runs for dark objects, or when asked).
            choice = (colors, reference, reference_prompt, reference_mask, config, photo)
            chosen = engine.exact_edit(prompt, pixels, given, used, *choice, getattr(self, "_progress_bar_config", {}))
            if chosen.output is not None:
                return chosen.output
        # 1. Source: invert the image with its prompt, or generate from prompt + seed.
        source = prepare_source(self, prompt, image, seed, schedule, config, inversion)
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
            prepare_reference(self, reference, reference_prompt, c, reference_mask, source, schedule, config)
            for c in colors
        ]
        # 4.-7. Denoise reference(s), source and target(s) together: V alignment (4) and structure (5) in the
        #       attention processors, latent blending (6) and background restore (7) after each step.
        with ledger.stage_of("edit"):
            latents = denoise_targets(self, source, refs, schedule, config, targets_per_batch)
        # 7. (pixels) Decode; paste the original pixels back outside the feathered mask.
        with ledger.stage_of("decode"):
            source_image = source.original or self.decode(latents[SOURCE])
            edits = [finish(self, latents[target(i)], source_image, ref, source, config) for i, ref in enumerate(refs)]
        edits, source_image, used_mask = photos.restore_edit(edits, source_image, source.mask, photo)
        return ColorEditOutput(
            images=edits,
            source_image=source_image,
            reference_prompts=[ref.prompt for ref in refs],
            latents={str(name): z for name, z in latents.items()},
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
        return edited_in_turn(self, prompt, edits, image, seed, config)

    # ---- step 1 (and the references' inversions) -------------------------------------------------
    def invert(
        self, image: Image.Image, prompt: str, schedule: NoiseSchedule, config: EditConfig, method: str | None = None
    ) -> Inversion:
        """Invert an image (already at the working size) into a trajectory its prompt reconstructs, once per
        content (`inversion.invert_image`)."""
        return invert_image(self, image, prompt, schedule, config, method)

    # ---- step 2 ----------------------------------------------------------------------------------
    def latent_region(self, pixel_mask: np.ndarray, source: Source) -> torch.Tensor:
        work_mask = np.asarray(Image.fromarray(pixel_mask).resize(source.work_size, Image.Resampling.NEAREST))
        return latent_coverage(work_mask, tuple(source.branch.initial_latents.shape[-2:])).to(self._execution_device)

    # ---- plain generation (the floor an edit is compared with) -------------------------------------
    @torch.no_grad()
    def generate(
        self, prompts: list[str], seeds: list[int], num_inference_steps: int = 50, guidance_scale: float = 7.5
    ) -> list[Image.Image]:
        """Text-to-image with guided DDIM, batched, each seed's noise drawn as diffusers draws it."""
        schedule = self.family.schedule(self, num_inference_steps)
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
        return self.family.initial_noise(self, seed, size)

    @property
    def denoiser(self) -> torch.nn.Module:
        """The U-Net, or a flow model's transformer: what the attention edits go on."""
        return self.family.denoiser(self)

    @property
    def native_size(self) -> int:
        return self.family.native_size(self)

    @property
    def size_multiple(self) -> int:
        return self.family.size_multiple(self)

    def predict_noise(
        self, latents: torch.Tensor, timestep: int, embeddings: torch.Tensor, alpha: torch.Tensor | None = None
    ) -> torch.Tensor:
        """The denoiser's noise prediction (converted from v or a flow's velocity, with `alpha` the latents'
        cumulative alpha, by default the timestep's; `families.py`); every call is counted in the ledger."""
        if embeddings.shape[0] != latents.shape[0]:
            embeddings = embeddings.expand(latents.shape[0], -1, -1)
        current_ledger().record_unet(latents.shape[0])
        return self.family.predict_noise(self, latents, timestep, embeddings, alpha)

    def encode_text(self, prompts: list[str]) -> torch.Tensor:
        """One embedding tensor per prompt, as the model's family makes it (`families.py`)."""
        with torch.no_grad():
            return self.family.encode_text(self, prompts)

    @torch.no_grad()
    def encode_image(self, image: Image.Image) -> torch.Tensor:
        pixels = torch.from_numpy(np.asarray(image, dtype=np.float32) / 127.5 - 1.0).permute(2, 0, 1)[None]
        latent = self.vae.encode(pixels.to(self._execution_device, self.vae_dtype())).latent_dist.mean
        return (latent.float() - self.latent_shift) * self.vae.config.scaling_factor

    @torch.no_grad()
    def decode(self, latents: torch.Tensor) -> Image.Image:
        latents = latents / self.vae.config.scaling_factor + self.latent_shift
        pixels = self.vae.decode(latents.to(self.vae_dtype())).sample
        array = (pixels[0].float() / 2 + 0.5).clamp(0, 1).permute(1, 2, 0).cpu().numpy()
        return Image.fromarray((array * 255).round().astype(np.uint8))

    @property
    def latent_shift(self) -> float:
        """The VAE's latent mean (FLUX's and SD3's `shift_factor`; 0 for SD)."""
        return self.vae.config.get("shift_factor") or 0.0

    def vae_dtype(self) -> torch.dtype:
        """SDXL's VAE overflows in fp16: where the family and the VAE's config say so, it runs in fp32, as
        diffusers' XL pipelines do."""
        if self.family.upcast_vae and self.vae.dtype == torch.float16 and self.vae.config.get("force_upcast"):
            self.vae.to(torch.float32)
        return self.vae.dtype

    def uncond_per_step(self, inversion: Inversion, empty: torch.Tensor, steps: int) -> torch.Tensor:
        if inversion.uncond_embeddings is not None:
            return inversion.uncond_embeddings.to(self._execution_device)
        return empty.expand(steps, -1, -1)
