"""Model families: what differs between Stable Diffusion generations, behind one small adapter.

Why: the method's steps (inversion, the denoising loop, the attention edits) are written for one text
embedding per prompt and for noise predictions. SD 1.x predicts noise; SD 2.x (768 px) predicts v; SDXL has
two text encoders, a pooled embedding and size conditioning; SD3 and FLUX are transformers with flow
matching. A `Family` turns prompts into one embedding tensor and that tensor into the U-Net's inputs, and
`noise_from_output` turns what the U-Net says into noise, so every step stays one; `models.check_family` refuses,
with one line, a folder whose family is not supported yet, before any weights load.
"""

from __future__ import annotations

import torch

from .errors import ColorEditError
from .models import SUPPORTED_TEXT


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
    """Stable Diffusion 1.x and 2.x: one CLIP text encoder, its last hidden states the embedding."""

    name = "Stable Diffusion 1.x/2.x"
    upcast_vae = False

    def encode_text(self, pipe, prompts: list[str]) -> torch.Tensor:
        ids = _token_ids(pipe.tokenizer, prompts).to(pipe.device)
        return pipe.text_encoder(ids)[0].float()

    def text_states(self, embeddings: torch.Tensor) -> torch.Tensor:
        """What cross-attention reads of an embedding (its keys and values come from these)."""
        return embeddings

    def unet_kwargs(self, pipe, embeddings: torch.Tensor, latents: torch.Tensor) -> dict:
        return {"encoder_hidden_states": embeddings}


class XLFamily(Family):
    """SDXL base: both encoders' penultimate hidden states side by side, the second's pooled embedding and
    the size conditioning (diffusers' `StableDiffusionXLPipeline`). The pooled embedding rides along as one
    more token of the embedding (zero-padded), so every step handles one tensor per prompt; an empty prompt
    is all zeros when the model says so (`force_zeros_for_empty_prompt`), as diffusers does."""

    name = "Stable Diffusion XL"
    upcast_vae = True

    def encode_text(self, pipe, prompts: list[str]) -> torch.Tensor:
        states, pooled = [], None
        for tokenizer, encoder in ((pipe.tokenizer, pipe.text_encoder), (pipe.tokenizer_2, pipe.text_encoder_2)):
            out = encoder(_token_ids(tokenizer, prompts).to(pipe.device), output_hidden_states=True)
            states.append(out.hidden_states[-2])
            pooled = out[0]
        hidden = torch.cat(states, dim=-1).float()
        extra = torch.zeros(hidden.shape[0], 1, hidden.shape[-1], device=hidden.device)
        extra[:, 0, : pooled.shape[-1]] = pooled.float()
        embeddings = torch.cat([hidden, extra], dim=1)
        if pipe.config.get("force_zeros_for_empty_prompt", True):
            embeddings[[i for i, p in enumerate(prompts) if not p]] = 0.0
        return embeddings

    def text_states(self, embeddings: torch.Tensor) -> torch.Tensor:
        return embeddings[:, :-1]

    def unet_kwargs(self, pipe, embeddings: torch.Tensor, latents: torch.Tensor) -> dict:
        pooled = embeddings[:, -1, : pipe.text_encoder_2.config.projection_dim]
        height, width = (side * pipe.vae_scale_factor for side in latents.shape[-2:])
        sizes = torch.tensor([[height, width, 0, 0, height, width]], dtype=embeddings.dtype, device=embeddings.device)
        return {
            "encoder_hidden_states": embeddings[:, :-1],
            "added_cond_kwargs": {"text_embeds": pooled, "time_ids": sizes.expand(len(embeddings), -1)},
        }


def family_of(pipe) -> Family:
    """The adapter for a pipeline's components: XL when it has a second text encoder."""
    return XLFamily() if getattr(pipe, "text_encoder_2", None) is not None else Family()


def _token_ids(tokenizer, prompts: list[str]) -> torch.Tensor:
    return tokenizer(
        prompts, padding="max_length", max_length=tokenizer.model_max_length, truncation=True, return_tensors="pt"
    ).input_ids
