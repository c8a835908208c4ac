"""Step 4: AdaIN of the target's cross-attention Values to the reference's (ColorEdit's core idea)."""

from __future__ import annotations

import torch

from .base import AttentionEdit


def token_adain(value: torch.Tensor, reference: torch.Tensor, eps: float = 1e-5) -> torch.Tensor:
    """`value` with each channel's mean/std over the token axis (-2) set to the reference's."""
    mean, std = value.mean(dim=-2, keepdim=True), value.std(dim=-2, keepdim=True, unbiased=False)
    ref_mean = reference.mean(dim=-2, keepdim=True)
    ref_std = reference.std(dim=-2, keepdim=True, unbiased=False)
    return (value - mean) / (std + eps) * ref_std + ref_mean


class ValueAlignment(AttentionEdit):
    """Cross-attention (attn2) of chosen up blocks: while t >= tau * T, V_T <- AdaIN(V_T, V_R), separately
    for each CFG half (the unconditional half carries null-text inversion's embeddings)."""

    kind = "value_alignment"

    def active(self) -> bool:
        return self.controller.timestep >= self.controller.config.tau * self.controller.num_train_timesteps

    def apply(self, query, key, value, mask):
        layout = self.controller.layout
        value = value.clone()
        for half in range(layout.halves):
            target, reference = layout.row(half, "target"), layout.row(half, "reference")
            value[target] = token_adain(value[target], value[reference])
        return query, key, value, mask
