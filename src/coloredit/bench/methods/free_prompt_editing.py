"""FreePromptEditing (Liu et al. 2024): the source's self-attention maps in the decoder for the early
steps, with the new prompt."""

from .base import TEXT_GUIDED, ConfigMethod

FREE_PROMPT_EDITING = ConfigMethod(
    "fpe",
    "FreePromptEditing: decoder self-attention replacement + new prompt",
    "paper",
    dict(TEXT_GUIDED, self_attn_replace=True, self_attn_blocks=("up_blocks",), self_attn_steps=(0.0, 0.6)),
    color_from="name",
)
