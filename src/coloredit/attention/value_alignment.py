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
    for each CFG half (the unconditional half carries null-text inversion's embeddings).

    Values depend on the text alone, so when the reference is not a row of the batch, V_R is computed from
    its embeddings (`controller.reference_text`, 2 x tokens x dim, unconditional then conditional). Every
    target branch is aligned to its own reference (colorways)."""

    kind = "value_alignment"

    def active(self) -> bool:
        return self.controller.timestep >= self.controller.config.tau * self.controller.num_train_timesteps

    def apply(self, query, key, value, mask, attn):
        layout, value = self.controller.layout, value.clone()
        for target in layout.targets:
            reference = target.reference
            if reference in layout.branches:
                reference_values = {half: value[layout.row(half, reference)] for half in layout.halves}
            else:
                text = self.controller.reference_text[reference].to(value.dtype)
                if attn.norm_cross:
                    text = attn.norm_encoder_hidden_states(text)
                projected = attn.to_v(text)
                reference_values = list(projected.view(text.shape[0], -1, attn.heads, value.shape[-1]).transpose(1, 2))
            for half in layout.halves:
                row = layout.row(half, target)
                value[row] = token_adain(value[row], reference_values[half])
        return query, key, value, mask
