"""Tiny random-weight model components built from configs: the architectures of SD 1.x, SDXL, FLUX.1 and SD3
at a fraction of the size, for tests and CPU benchmarks without downloads."""

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
    vae = tiny_vae(sample_size * 8)
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
    config = projected_clip_config(tokenizer)
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


def projected_clip_config(tokenizer) -> CLIPTextConfig:
    """The tiny CLIP text encoder's config with a 32-wide projection (a pooled embedding: XL's second encoder,
    both of SD3's), its special tokens the tokenizer's."""
    special = dict(bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id)
    return CLIPTextConfig(**TINY_CLIP, projection_dim=32, pad_token_id=tokenizer.pad_token_id, **special)


def tiny_vae(sample_size: int, **layout) -> AutoencoderKL:
    """The x8, 4-channel VAE of every tiny model (`layout`: a family's own latent shift, scale, quant convs)."""
    return AutoencoderKL(
        in_channels=3,
        out_channels=3,
        latent_channels=4,
        layers_per_block=1,
        norm_num_groups=8,
        block_out_channels=(8, 16, 32, 32),
        down_block_types=("DownEncoderBlock2D",) * 4,
        up_block_types=("UpDecoderBlock2D",) * 4,
        sample_size=sample_size,
        **layout,
    )


def tiny_flow_vae(seed: int) -> AutoencoderKL:
    """A flow model's VAE at toy size: no quant convs, a latent shift and scale (FLUX's and SD3's layout)."""
    torch.manual_seed(seed)
    layout = dict(shift_factor=0.1, scaling_factor=0.5, use_quant_conv=False, use_post_quant_conv=False)
    return tiny_vae(64, **layout).eval()


def tiny_t5(seed: int, width: int):
    from transformers import T5Config, T5EncoderModel

    torch.manual_seed(seed)
    config = T5Config(vocab_size=600, d_model=width, d_kv=8, d_ff=2 * width, num_layers=2, num_heads=4)
    return T5EncoderModel(config).eval()


def tiny_flux_components(seed: int = 0) -> dict:
    """FLUX.1-dev's components at toy size (64 px): a two-double, two-single-block transformer with the distilled
    guidance input, CLIP (pooled) and T5 (states) text encoders, the shifted-and-scaled VAE, FLUX's dynamic shift."""
    from diffusers import FlowMatchEulerDiscreteScheduler, FluxTransformer2DModel

    parts = tiny_components(seed)
    torch.manual_seed(seed + 1)
    transformer = FluxTransformer2DModel(
        patch_size=1,
        in_channels=16,  # 4 latent channels x a 2 x 2 patch
        num_layers=2,
        num_single_layers=2,
        attention_head_dim=16,
        num_attention_heads=2,
        joint_attention_dim=32,
        pooled_projection_dim=TINY_CLIP["hidden_size"],
        guidance_embeds=True,
        axes_dims_rope=(4, 6, 6),
    )
    scheduler = FlowMatchEulerDiscreteScheduler(
        shift=3.0, use_dynamic_shifting=True, base_shift=0.5, max_shift=1.15, base_image_seq_len=4, max_image_seq_len=64
    )
    return dict(
        vae=tiny_flow_vae(seed),
        text_encoder=parts["text_encoder"],
        tokenizer=parts["tokenizer"],
        text_encoder_2=tiny_t5(seed + 2, 32),
        tokenizer_2=parts["tokenizer"],
        transformer=transformer.eval(),
        scheduler=scheduler,
    )


def tiny_sd3_components(seed: int = 0) -> dict:
    """SD3's components at toy size (64 px): a two-block MM-DiT, two CLIP encoders with projections (pooled),
    T5, the shifted-and-scaled VAE, the flow schedule shifted by 3."""
    from diffusers import FlowMatchEulerDiscreteScheduler, SD3Transformer2DModel
    from transformers import CLIPTextModelWithProjection

    parts = tiny_components(seed)
    tokenizer = parts["tokenizer"]
    torch.manual_seed(seed + 1)
    encoders = [CLIPTextModelWithProjection(projected_clip_config(tokenizer)).eval() for _ in range(2)]
    transformer = SD3Transformer2DModel(
        sample_size=8,
        patch_size=2,
        in_channels=4,
        num_layers=2,
        attention_head_dim=8,
        num_attention_heads=4,
        joint_attention_dim=64,  # T5's width; both CLIPs' states (32 + 32) are padded to it
        caption_projection_dim=32,
        pooled_projection_dim=64,  # both CLIPs' pooled embeddings
        out_channels=4,
        pos_embed_max_size=16,
    )
    return dict(
        vae=tiny_flow_vae(seed),
        text_encoder=encoders[0],
        tokenizer=tokenizer,
        text_encoder_2=encoders[1],
        tokenizer_2=tokenizer,
        text_encoder_3=tiny_t5(seed + 2, 64),
        tokenizer_3=tokenizer,
        transformer=transformer.eval(),
        scheduler=FlowMatchEulerDiscreteScheduler(shift=3.0),
    )
