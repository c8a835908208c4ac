"""The simplest text-guided baseline: the same inverted noise, the color word changed in the prompt."""

from .base import TEXT_GUIDED, ConfigMethod

TEXT_ONLY = ConfigMethod(
    "text-only", "same noise, color word swapped, no attention control", "paper", TEXT_GUIDED, color_from="name"
)
