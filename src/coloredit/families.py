"""Model families: what differs between Stable Diffusion 1.x, 2.x, XL, SD3 and FLUX.1, behind one small adapter.

Why: the method's steps (inversion, the denoising loop, the attention edits) are written for one text
embedding per prompt and for noise predictions. SD 1.x predicts noise; SD 2.x (768 px) predicts v; SDXL has
two text encoders, a pooled embedding and size conditioning; SD3 and FLUX are transformers with flow
matching. A `Family` turns prompts into one embedding tensor, gives the schedule, and turns latents at a noise
level and that tensor into the denoiser's noise estimate, so every step stays one; `models.check_family` refuses,
with one line, a folder whose family is not supported yet, before any weights load.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from diffusers import DDIMScheduler, FlowMatchEulerDiscreteScheduler

from . import flow
from .errors import ColorEditError
from .inversion import NoiseSchedule
from .models import SUPPORTED_TEXT

# the components a family may lack (a flow model has no U-Net, SD no transformer), for diffusers' loader; the
# scheduler is listed because its argument has a default, so the loader reads it from the folder
OPTIONAL_COMPONENTS = (
    "unet",
    "scheduler",
    "text_encoder_2",
    "tokenizer_2",
    "transformer",
    "text_encoder_3",
    "tokenizer_3",
)


def noise_from_output(output: torch.Tensor, latents: torch.Tensor, alpha: torch.Tensor, prediction_type: str):
    """The noise estimate from a U-Net output: as is for "epsilon"; from v for "v_prediction"
    (v = sqrt(a) eps - sqrt(1 - a) x0, so eps = sqrt(a) v + sqrt(1 - a) x_t, a the cumulative alpha)."""
    if prediction_type == "epsilon":
        return output
    if prediction_type == "v_prediction":
        alpha = alpha.to(output.dtype)
        return alpha.sqrt() * output + (1 - alpha).sqrt() * latents
    raise ColorEditError(f"prediction type {prediction_type!r} is not supported ({SUPPORTED_TEXT})")


class Family:
    """Stable Diffusion 1.x and 2.x: one CLIP text encoder, its last hidden states the embedding; a U-Net
    predicting noise or v on DDIM's schedule."""

    name = "Stable Diffusion 1.x/2.x"
    upcast_vae = False
    static_text_values = True  # cross-attention Values come from the text alone (a reference needs no row)

    def scheduler(self, scheduler):
        """The scheduler the method's inversions need: DDIM's."""
        return scheduler if isinstance(scheduler, DDIMScheduler) else DDIMScheduler.from_config(scheduler.config)

    def schedule(self, pipe, num_inference_steps: int) -> NoiseSchedule:
        return NoiseSchedule(pipe.scheduler, num_inference_steps)

    def denoiser(self, pipe) -> torch.nn.Module:
        return pipe.unet

    def native_size(self, pipe) -> int:
        return pipe.unet.config.sample_size * pipe.vae_scale_factor

    def size_multiple(self, pipe) -> int:
        return pipe.vae_scale_factor * 2 ** (len(pipe.unet.config.block_out_channels) - 1)

    def initial_noise(self, pipe, seed: int, size: tuple[int, int]) -> torch.Tensor:
        shape = (1, pipe.unet.config.in_channels, size[1] // pipe.vae_scale_factor, size[0] // pipe.vae_scale_factor)
        noise = torch.randn(shape, generator=torch.Generator("cpu").manual_seed(seed))
        return noise.to(pipe._execution_device) * pipe.scheduler.init_noise_sigma

    def predict_noise(self, pipe, latents: torch.Tensor, timestep, embeddings: torch.Tensor, alpha=None):
        dtype = pipe.unet.dtype
        inputs = self.unet_kwargs(pipe, embeddings.to(dtype), latents)
        out = pipe.unet(latents.to(dtype), timestep, **inputs).sample
        alpha = pipe.scheduler.alphas_cumprod[int(timestep)] if alpha is None else alpha
        return noise_from_output(out.to(latents.dtype), latents, alpha, pipe.scheduler.config.prediction_type)

    def processors(self, controller, denoiser) -> dict:
        """The edit's attention processors for this family's denoiser (`attention.EditController`)."""
        return controller.processors(denoiser)

    def encode_text(self, pipe, prompts: list[str]) -> torch.Tensor:
        ids = _token_ids(pipe.tokenizer, prompts).to(pipe._execution_device)
        return pipe.text_encoder(ids)[0].float()

    def text_states(self, embeddings: torch.Tensor) -> torch.Tensor:
        """What cross-attention reads of an embedding (its keys and values come from these)."""
        return embeddings

    def unet_kwargs(self, pipe, embeddings: torch.Tensor, latents: torch.Tensor) -> dict:
        return {"encoder_hidden_states": embeddings}


class PooledFamily(Family):
    """Families with a pooled text embedding (XL, SD3, FLUX): it rides along as one more, zero-padded, token of
    the embedding (`with_pooled`), so every step handles one tensor per prompt; the denoiser gets it apart."""

    def text_states(self, embeddings: torch.Tensor) -> torch.Tensor:
        return embeddings[:, :-1]

    @staticmethod
    def pooled(embeddings: torch.Tensor, width: int) -> torch.Tensor:
        return embeddings[:, -1, :width]

    @staticmethod
    def clip_states(pipe, prompts: list[str]) -> tuple[torch.Tensor, list[torch.Tensor]]:
        """Both CLIP encoders' penultimate hidden states side by side, and each one's pooled output (XL, SD3)."""
        states, pooled = [], []
        for tokenizer, encoder in ((pipe.tokenizer, pipe.text_encoder), (pipe.tokenizer_2, pipe.text_encoder_2)):
            out = encoder(_token_ids(tokenizer, prompts).to(pipe._execution_device), output_hidden_states=True)
            states.append(out.hidden_states[-2])
            pooled.append(out[0])
        return torch.cat(states, dim=-1), pooled


class XLFamily(PooledFamily):
    """SDXL base: both encoders' penultimate hidden states side by side, the second's pooled embedding and
    the size conditioning (diffusers' `StableDiffusionXLPipeline`); an empty prompt is all zeros when the model
    says so (`force_zeros_for_empty_prompt`), as diffusers does."""

    name = "Stable Diffusion XL"
    upcast_vae = True

    def encode_text(self, pipe, prompts: list[str]) -> torch.Tensor:
        states, pooled = self.clip_states(pipe, prompts)
        embeddings = with_pooled(states, pooled[-1])
        if pipe.config.get("force_zeros_for_empty_prompt", True):
            embeddings[[i for i, p in enumerate(prompts) if not p]] = 0.0
        return embeddings

    def unet_kwargs(self, pipe, embeddings: torch.Tensor, latents: torch.Tensor) -> dict:
        pooled = self.pooled(embeddings, pipe.text_encoder_2.config.projection_dim)
        height, width = (side * pipe.vae_scale_factor for side in latents.shape[-2:])
        sizes = torch.tensor([[height, width, 0, 0, height, width]], dtype=embeddings.dtype, device=embeddings.device)
        return {
            "encoder_hidden_states": self.text_states(embeddings),
            "added_cond_kwargs": {"text_embeds": pooled, "time_ids": sizes.expand(len(embeddings), -1)},
        }


class FlowFamily(PooledFamily):
    """Flow-matching transformers (SD3, FLUX): their velocity turned into the noise of normalized latents
    (`flow.py`), the transformer fed the path's own x at the latents' level. Text and image tokens share one
    attention (`attention.JointEditAttnProcessor`), and a text token's Values there depend on the image too,
    so a reference is always a row of the batch."""

    static_text_values = False
    text_first = True  # the joint attention's token order (FLUX: text first; SD3: image first)
    max_t5_tokens = 512

    def scheduler(self, scheduler):
        if isinstance(scheduler, FlowMatchEulerDiscreteScheduler):
            return scheduler
        return FlowMatchEulerDiscreteScheduler.from_config(scheduler.config)

    def schedule(self, pipe, num_inference_steps: int) -> flow.FlowSchedule:
        tokens = flow.tokens_of(self.native_size(pipe), self.size_multiple(pipe))
        return flow.FlowSchedule(pipe.scheduler, num_inference_steps, tokens)

    def denoiser(self, pipe) -> torch.nn.Module:
        return pipe.transformer

    def native_size(self, pipe) -> int:
        return int(pipe.vae.config.sample_size)

    def size_multiple(self, pipe) -> int:
        return pipe.vae_scale_factor * 2  # 2 x 2 latent patches a token

    def initial_noise(self, pipe, seed: int, size: tuple[int, int]) -> torch.Tensor:
        """The pipelines' noise (unpacked, drawn on the CPU); the sample starts at x = c(SIGMA_MAX) eps."""
        shape = (1, pipe.vae.config.latent_channels, size[1] // pipe.vae_scale_factor, size[0] // pipe.vae_scale_factor)
        return torch.randn(shape, generator=torch.Generator("cpu").manual_seed(seed)).to(pipe._execution_device)

    def predict_noise(self, pipe, latents: torch.Tensor, timestep, embeddings: torch.Tensor, alpha=None):
        """The noise of normalized latents at level `alpha` (default: the timestep's); the transformer is asked
        at the latents' own level, so an inversion step is the flow's Euler step at the point it starts from."""
        sigma = torch.as_tensor(timestep / 1000.0) if alpha is None else flow.sigma_of(alpha)
        x = latents * flow.path_scale(sigma).to(latents.dtype)
        denoiser = pipe.transformer
        velocity = self.velocity(pipe, x.to(denoiser.dtype), sigma, embeddings.to(denoiser.dtype))
        return flow.noise_from_velocity(velocity.to(latents.dtype), x, sigma)

    def velocity(self, pipe, x: torch.Tensor, sigma: torch.Tensor, embeddings: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def processors(self, controller, denoiser) -> dict:
        return controller.joint_processors(denoiser, self.text_first)

    def t5_ids(self, tokenizer, prompts: list[str]) -> torch.Tensor:
        return _token_ids(tokenizer, prompts, min(tokenizer.model_max_length, self.max_t5_tokens))


class FluxFamily(FlowFamily):
    """FLUX.1 (`FluxPipeline`): CLIP's pooled embedding and T5's hidden states; latents packed 2 x 2 into tokens
    with rotary position ids; the distilled guidance of FLUX.1-dev given as the pipeline's default (3.5), real
    classifier-free guidance on top only where `guidance_scale` > 1."""

    name = "FLUX.1"
    embedded_guidance = 3.5

    def encode_text(self, pipe, prompts: list[str]) -> torch.Tensor:
        pooled = pipe.text_encoder(_token_ids(pipe.tokenizer, prompts).to(pipe._execution_device)).pooler_output
        states = pipe.text_encoder_2(self.t5_ids(pipe.tokenizer_2, prompts).to(pipe._execution_device))[0]
        return with_pooled(states, pooled)

    def velocity(self, pipe, x: torch.Tensor, sigma: torch.Tensor, embeddings: torch.Tensor) -> torch.Tensor:
        denoiser, (height, width) = pipe.transformer, x.shape[-2:]
        rows = x.shape[0]
        guidance = None
        if denoiser.config.guidance_embeds:
            guidance = torch.full((rows,), self.embedded_guidance, device=x.device, dtype=torch.float32)
        out = denoiser(
            hidden_states=flow.pack(x),
            timestep=sigma.to(x.device, x.dtype).expand(rows),
            guidance=guidance,
            pooled_projections=self.pooled(embeddings, denoiser.config.pooled_projection_dim),
            encoder_hidden_states=self.text_states(embeddings),
            txt_ids=torch.zeros(embeddings.shape[1] - 1, 3, device=x.device, dtype=x.dtype),
            img_ids=flow.image_ids(height, width, x.device, x.dtype),
            return_dict=False,
        )[0]
        return flow.unpack(out, height, width)


class SD3Family(FlowFamily):
    """Stable Diffusion 3.x (`StableDiffusion3Pipeline`): two CLIP encoders' penultimate states side by side,
    padded to T5's width, then T5's states (zeros without T5); both pooled embeddings; image tokens first."""

    name = "Stable Diffusion 3"
    text_first = False
    max_t5_tokens = 256

    def encode_text(self, pipe, prompts: list[str]) -> torch.Tensor:
        clip, pooled = self.clip_states(pipe, prompts)
        if pipe.text_encoder_3 is not None:
            t5 = pipe.text_encoder_3(self.t5_ids(pipe.tokenizer_3, prompts).to(pipe._execution_device))[0]
        else:
            width = pipe.transformer.config.joint_attention_dim
            t5 = torch.zeros(len(prompts), pipe.tokenizer.model_max_length, width, device=pipe._execution_device)
        clip = F.pad(clip, (0, t5.shape[-1] - clip.shape[-1]))
        return with_pooled(torch.cat([clip, t5.to(clip.dtype)], dim=-2), torch.cat(pooled, dim=-1))

    def velocity(self, pipe, x: torch.Tensor, sigma: torch.Tensor, embeddings: torch.Tensor) -> torch.Tensor:
        denoiser = pipe.transformer
        return denoiser(
            hidden_states=x,
            timestep=(sigma * 1000.0).to(x.device, x.dtype).expand(x.shape[0]),
            encoder_hidden_states=self.text_states(embeddings),
            pooled_projections=self.pooled(embeddings, denoiser.config.pooled_projection_dim),
            return_dict=False,
        )[0]


def family_of(pipe) -> Family:
    """The adapter for a pipeline's components: SD3 or FLUX by its transformer, XL when it has a second text
    encoder, SD 1.x/2.x otherwise."""
    if getattr(pipe, "transformer", None) is not None:
        return SD3Family() if "SD3" in type(pipe.transformer).__name__ else FluxFamily()
    return XLFamily() if getattr(pipe, "text_encoder_2", None) is not None else Family()


def with_pooled(states: torch.Tensor, pooled: torch.Tensor) -> torch.Tensor:
    """Token states with the pooled embedding as one more, zero-padded, token: one tensor per prompt."""
    hidden = states.float()
    extra = torch.zeros(hidden.shape[0], 1, hidden.shape[-1], device=hidden.device)
    extra[:, 0, : pooled.shape[-1]] = pooled.float()
    return torch.cat([hidden, extra], dim=1)


def _token_ids(tokenizer, prompts: list[str], length: int | None = None) -> torch.Tensor:
    """Token ids padded to `length` (default: the tokenizer's own maximum), longer prompts truncated."""
    length = tokenizer.model_max_length if length is None else length
    return tokenizer(prompts, padding="max_length", max_length=length, truncation=True, return_tensors="pt").input_ids
