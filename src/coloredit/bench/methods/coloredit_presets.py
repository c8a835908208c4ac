"""ColorEdit itself: the paper's steps, and our default recipe."""

from .base import ConfigMethod

PAPER = ConfigMethod("coloredit-paper", "ColorEdit as published: V-AdaIN, self-attention, 0.1 latent blend", "paper")
DEFAULT = ConfigMethod(
    "coloredit", "ColorEdit, our default: x0-AdaIN from the reference image, no color word", "coloredit"
)
