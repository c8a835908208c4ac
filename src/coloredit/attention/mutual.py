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
        layout = self.controller.layout
        key, value = key.clone(), value.clone()
        for half in range(layout.halves):
            target, source = layout.row(half, "target"), layout.row(half, "source")
            key[target], value[target] = key[source], value[source]
        return query, key, value, mask
