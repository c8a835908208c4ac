"""Recording where a word is drawn: the cross-attention map of chosen tokens, for masks of generated
objects (the benchmark builder's object masks)."""

from __future__ import annotations

import math

import torch

from .base import AttentionEdit


class CrossAttentionRecorder(AttentionEdit):
    """Cross-attention (attn2): for each chosen batch row, adds the head-averaged attention its queries pay
    to that row's chosen tokens into `maps[tokens]` (one sum per spatial resolution); changes nothing."""

    kind = "record"

    def __init__(self, controller, rows: list[int], token_indices: list[list[int]], below_timestep: int | None = None):
        super().__init__(controller)
        self.rows, self.token_indices, self.below_timestep = rows, token_indices, below_timestep
        self.maps: dict[int, torch.Tensor] = {}

    def active(self) -> bool:
        """Every call, or only below `below_timestep` (the controller's timestep), where the latents still
        show the image clearly enough for words to find their objects."""
        return self.below_timestep is None or self.controller.timestep < self.below_timestep

    def apply(self, query, key, value, mask, attn):
        q, k = query[self.rows], key[self.rows]
        probs = torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(q.shape[-1]), dim=-1).mean(dim=1)
        words = torch.stack([probs[i][:, idx].mean(dim=-1) for i, idx in enumerate(self.token_indices)])
        tokens = words.shape[-1]
        self.maps[tokens] = self.maps.get(tokens, 0) + words.float()
        return query, key, value, mask
