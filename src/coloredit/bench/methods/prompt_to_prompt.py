"""Prompt-to-Prompt word swap (Hertz et al. 2022) with LocalBlend: the source's cross-attention maps for
the first 80% of steps, its self-attention maps for the first 40%, and the latent outside the object kept
from the source at every step (LocalBlend, here with the benchmark's object mask instead of one
thresholded from attention)."""

from .base import TEXT_GUIDED, ConfigMethod

PROMPT_TO_PROMPT = ConfigMethod(
    "p2p",
    "Prompt-to-Prompt word swap + LocalBlend",
    "paper",
    dict(
        TEXT_GUIDED,
        cross_attn_replace=True,
        cross_attn_steps=(0.0, 0.8),
        self_attn_replace=True,
        self_attn_blocks=("down_blocks", "mid_block", "up_blocks"),
        self_attn_steps=(0.0, 0.4),
        background_start=0.0,
    ),
    color_from="name",
)
