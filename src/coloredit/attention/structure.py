"""Step 5: the target keeps the source's structure: its self-attention uses the source's map."""

from __future__ import annotations

from .base import AttentionEdit


class SourceStructure(AttentionEdit):
    """Self-attention (attn1): the target's output is SDPA(Q_S, K_S, V_T), i.e. the source's attention
    map softmax(Q_S K_S^T / sqrt(d)) applied to the target's values, without materializing the map."""

    kind = "structure"

    def active(self) -> bool:
        return self.controller.in_steps(self.controller.config.self_attn_steps)

    def apply(self, query, key, value, mask, attn):
        query, key = self.source_into_target(query, key)
        return query, key, value, mask


class SourceCrossAttentionMaps(SourceStructure):
    """Prompt-to-Prompt's word swap in cross-attention (attn2): the target's output is SDPA(Q_S, K_S, V_T),
    the source's maps over the tokens applied to the target prompt's values (same token count)."""

    kind = "cross_maps"

    def active(self) -> bool:
        return self.controller.in_steps(self.controller.config.cross_attn_steps)
