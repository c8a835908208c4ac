"""[ours] Image-dependent color through self-attention: inside the object, the target's queries also
attend to the reference object's keys and values (cross-image appearance transfer, as in MasaCtrl or
Cross-Image Attention), so the reference image's own features, not its prompt, reach the target."""

from __future__ import annotations

import torch

from .base import AttentionEdit


class ReferenceAppearance(AttentionEdit):
    """Self-attention (attn1) of chosen blocks and steps: target rows get the reference's keys/values
    appended; target queries inside the object may attend to reference tokens inside its object,
    every other query to none of them."""

    kind = "appearance"

    def active(self) -> bool:
        return self.controller.in_steps(self.controller.config.appearance_steps)

    def apply(self, query, key, value, mask, attn):
        layout, tokens = self.controller.layout, key.shape[2]
        allowed = torch.zeros(query.shape[0], 1, query.shape[2], 2 * tokens, dtype=torch.bool, device=query.device)
        allowed[..., :tokens] = True
        extra_key, extra_value = torch.zeros_like(key), torch.zeros_like(value)
        for target_branch in layout.targets:
            reference_branch = target_branch.reference
            target_region = self.controller.region(target_branch, tokens) > 0.5
            reference_region = self.controller.region(reference_branch, tokens) > 0.5
            for half in layout.halves:
                target, reference = layout.row(half, target_branch), layout.row(half, reference_branch)
                extra_key[target], extra_value[target] = key[reference], value[reference]
                allowed[target, 0, :, tokens:] = target_region[:, None] & reference_region[None, :]
        if mask is not None:
            allowed = allowed & torch.cat([mask > -1e4, torch.ones_like(mask, dtype=torch.bool)], dim=-1)
        return query, torch.cat([key, extra_key], dim=2), torch.cat([value, extra_value], dim=2), allowed
