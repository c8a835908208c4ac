"""MasaCtrl's mutual self-attention (Cao et al. 2023), for the benchmark's baseline: the target's queries
read the source's keys and values, so the target keeps the source's content while its prompt changes."""

from __future__ import annotations

from .base import AttentionEdit


class MutualSelfAttention(AttentionEdit):
    """Self-attention (attn1): the target's output is SDPA(Q_T, K_S, V_S) in the chosen steps."""

    kind = "mutual"

    def active(self) -> bool:
        return self.controller.in_steps(self.controller.config.mutual_steps)

    def apply(self, query, key, value, mask, attn):
        key, value = self.source_into_target(key, value)
        return query, key, value, mask
