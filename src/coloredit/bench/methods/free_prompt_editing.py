"""FreePromptEditing (Liu et al. 2024): the source's self-attention maps in the decoder for the early
steps, with the new prompt."""

from .base import ConfigMethod

FREE_PROMPT_EDITING = ConfigMethod(
    "fpe",
    "FreePromptEditing: decoder self-attention replacement + new prompt",
    "paper",
    dict(
        value_align=False,
        blend_ratio=0.0,
        background_start=1.0,
        paste_back=False,
        target_prompt="reference-color",
        self_attn_blocks=("up_blocks",),
        self_attn_steps=(0.0, 0.6),
    ),
    color_from="name",
)
