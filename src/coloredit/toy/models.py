"""The toy world's model: the Stable Diffusion architecture at toy size (32x32 images, 16x16 latents)."""

from __future__ import annotations

from diffusers import AutoencoderKL, DDIMScheduler, UNet2DConditionModel
from transformers import CLIPTextConfig, CLIPTextModel, CLIPTokenizer

from ..tiny import SD_SCHEDULER
from ..tokenizer import build_tokenizer
from .render import COLORS, SHAPES

IMAGE_SIZE = 32
MAX_TOKENS = 8
WORDS = ("a", "an", "the", "photo", "of", *COLORS, *SHAPES)


def toy_tokenizer() -> CLIPTokenizer:
    return build_tokenizer(WORDS, model_max_length=MAX_TOKENS)


def toy_vae() -> AutoencoderKL:
    """32x32x3 <-> 16x16x4, 0.66 M parameters."""
    return AutoencoderKL(
        in_channels=3,
        out_channels=3,
        latent_channels=4,
        layers_per_block=1,
        norm_num_groups=16,
        block_out_channels=(32, 64),
        down_block_types=("DownEncoderBlock2D",) * 2,
        up_block_types=("UpDecoderBlock2D",) * 2,
        sample_size=IMAGE_SIZE,
    )


def toy_unet() -> UNet2DConditionModel:
    """SD's U-Net layout (CrossAttnDown x2 + Down, mid with cross-attention, Up + CrossAttnUp x2), 3.2 M."""
    return UNet2DConditionModel(
        sample_size=IMAGE_SIZE // 2,
        in_channels=4,
        out_channels=4,
        layers_per_block=1,
        block_out_channels=(32, 64, 128),
        norm_num_groups=16,
        cross_attention_dim=64,
        attention_head_dim=4,
        down_block_types=("CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "DownBlock2D"),
        up_block_types=("UpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D"),
    )


def toy_text_encoder(tokenizer: CLIPTokenizer) -> CLIPTextModel:
    return CLIPTextModel(
        CLIPTextConfig(
            hidden_size=64,
            intermediate_size=256,
            num_hidden_layers=2,
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
