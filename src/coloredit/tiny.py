"""Tiny random-weight Stable Diffusion components built from configs: the architecture of SD 1.x at a
fraction of the size, for tests and CPU benchmarks without downloads."""

from __future__ import annotations

import torch
from diffusers import AutoencoderKL, DDIMScheduler, UNet2DConditionModel
from transformers import CLIPTextConfig, CLIPTextModel

from .tokenizer import build_tokenizer

SD_SCHEDULER = dict(
    num_train_timesteps=1000,
    beta_start=0.00085,
    beta_end=0.012,
    beta_schedule="scaled_linear",
    clip_sample=False,
    set_alpha_to_one=False,
    steps_offset=1,
)
TINY_CLIP = dict(  # the tiny text encoders' size
    hidden_size=32,
    intermediate_size=64,
    num_hidden_layers=2,
    num_attention_heads=4,
    vocab_size=600,
    max_position_embeddings=16,
)
TINY_WORDS = (
    "a",
    "an",
    "the",
    "photo",
    "of",
    "car",
    "ball",
    "cat",
    "red",
    "blue",
    "green",
    "yellow",
    "orange",
    "purple",
    "pink",
    "cyan",
    "white",
    "black",
    "gray",
)


def tiny_components(seed: int = 0, sample_size: int = 8, in_channels: int = 4) -> dict:
    """vae, text_encoder, tokenizer, unet, scheduler of a 2.2M-parameter SD-shaped model (x8 VAE);
    `in_channels=8` gives InstructPix2Pix's U-Net (latent + image latent)."""
    torch.manual_seed(seed)
    unet = UNet2DConditionModel(
        sample_size=sample_size,
        in_channels=in_channels,
        out_channels=4,
        layers_per_block=1,
        block_out_channels=(32, 64, 64),
        norm_num_groups=16,
        cross_attention_dim=32,
        attention_head_dim=8,
        down_block_types=("CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "DownBlock2D"),
        up_block_types=("UpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D"),
    )
    vae = AutoencoderKL(
        in_channels=3,
        out_channels=3,
        latent_channels=4,
        layers_per_block=1,
        norm_num_groups=8,
        block_out_channels=(8, 16, 32, 32),
        down_block_types=("DownEncoderBlock2D",) * 4,
        up_block_types=("UpDecoderBlock2D",) * 4,
        sample_size=sample_size * 8,
    )
    text_encoder = CLIPTextModel(CLIPTextConfig(**TINY_CLIP, bos_token_id=0, eos_token_id=2, pad_token_id=1))
    tokenizer = build_tokenizer(TINY_WORDS, model_max_length=16)
    text_encoder.config.eos_token_id = tokenizer.eos_token_id
    text_encoder.config.bos_token_id = tokenizer.bos_token_id
    text_encoder.config.pad_token_id = tokenizer.pad_token_id
    return dict(
        vae=vae.eval(),
        text_encoder=text_encoder.eval(),
        tokenizer=tokenizer,
        unet=unet.eval(),
        scheduler=DDIMScheduler(**SD_SCHEDULER),
    )


def tiny_xl_components(seed: int = 0, sample_size: int = 8) -> dict:
    """SDXL's components at toy size: a U-Net with the text-and-size conditioning (`text_time`), two CLIP
    text encoders (the second with a projection: the pooled embedding), the x8 VAE; for the XL family's tests."""
    from transformers import CLIPTextModelWithProjection

    parts = tiny_components(seed, sample_size)
    torch.manual_seed(seed + 1)
    tokenizer = parts["tokenizer"]
    config = CLIPTextConfig(
        **TINY_CLIP,
        projection_dim=32,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
    )
    unet = UNet2DConditionModel(
        sample_size=sample_size,
        layers_per_block=1,
        block_out_channels=(32, 64, 64),
        norm_num_groups=16,
        cross_attention_dim=64,  # both encoders' hidden states side by side
        attention_head_dim=8,
        down_block_types=("DownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D"),
        up_block_types=("CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "UpBlock2D"),
        addition_embed_type="text_time",
        addition_time_embed_dim=8,
        projection_class_embeddings_input_dim=8 * 6 + 32,  # six size numbers, then the pooled embedding
        use_linear_projection=True,
    )
    return dict(
        parts,
        unet=unet.eval(),
        text_encoder=CLIPTextModel(config).eval(),
        text_encoder_2=CLIPTextModelWithProjection(config).eval(),
        tokenizer_2=tokenizer,
    )
