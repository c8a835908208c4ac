"""The toy world's model: the Stable Diffusion architecture at toy size (64x64 images, a 4x VAE, 16x16
latents, SD's U-Net block layout, a CLIP text encoder over the toy vocabulary)."""

from __future__ import annotations

from diffusers import AutoencoderKL, DDIMScheduler, UNet2DConditionModel
from transformers import CLIPTextConfig, CLIPTextModel, CLIPTokenizer

from ..colors import COLOR_TERMS
from ..tiny import SD_SCHEDULER
from ..tokenizer import build_tokenizer
from .render import PATTERNS, SHAPES, SIZE

IMAGE_SIZE = SIZE
MAX_TOKENS = 32
COLOR_WORDS = tuple(sorted({word for term in COLOR_TERMS for word in term.split()}))
WORDS = ("a", "an", "and", "with", "the", "photo", "of", "shiny", *COLOR_WORDS, *SHAPES, *PATTERNS)


def toy_tokenizer() -> CLIPTokenizer:
    return build_tokenizer(WORDS, model_max_length=MAX_TOKENS)


def toy_vae() -> AutoencoderKL:
    """64x64x3 <-> 16x16x4 (two downsamplings)."""
    return AutoencoderKL(
        in_channels=3,
        out_channels=3,
        latent_channels=4,
        layers_per_block=1,
        norm_num_groups=16,
        block_out_channels=(32, 64, 64),
        down_block_types=("DownEncoderBlock2D",) * 3,
        up_block_types=("UpDecoderBlock2D",) * 3,
        sample_size=IMAGE_SIZE,
    )


def toy_unet() -> UNet2DConditionModel:
    """SD's U-Net layout (CrossAttnDown x2 + Down, mid with cross-attention, Up + CrossAttnUp x2) on 16x16."""
    return UNet2DConditionModel(
        sample_size=IMAGE_SIZE // 4,
        in_channels=4,
        out_channels=4,
        layers_per_block=1,
        block_out_channels=(32, 64, 128),
        norm_num_groups=16,
        cross_attention_dim=128,
        attention_head_dim=4,
        down_block_types=("CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "DownBlock2D"),
        up_block_types=("UpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D"),
    )


def toy_text_encoder(tokenizer: CLIPTokenizer) -> CLIPTextModel:
    return CLIPTextModel(
        CLIPTextConfig(
            hidden_size=128,
            intermediate_size=512,
            num_hidden_layers=3,
            num_attention_heads=4,
            max_position_embeddings=MAX_TOKENS,
            vocab_size=len(tokenizer),
            bos_token_id=tokenizer.bos_token_id,
            eos_token_id=tokenizer.eos_token_id,
            pad_token_id=tokenizer.pad_token_id,
        )
    )


def toy_scheduler() -> DDIMScheduler:
    return DDIMScheduler(**SD_SCHEDULER)
