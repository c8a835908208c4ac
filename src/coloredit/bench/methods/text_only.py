"""The simplest text-guided baseline: the same inverted noise, the color word changed in the prompt."""

from .base import ConfigMethod

TEXT_ONLY = ConfigMethod(
    "text-only",
    "same noise, color word swapped, no attention control",
    "paper",
    dict(
        value_align=False,
        self_attn_replace=False,
        blend_ratio=0.0,
        background_start=1.0,
        paste_back=False,
        target_prompt="reference-color",
    ),
    color_from="name",
)
