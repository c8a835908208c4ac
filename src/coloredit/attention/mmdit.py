"""The attention processor of flow transformers (FLUX, SD3): text and image tokens in one joint attention, with
the layer's edits applied to the two views a U-Net has apart.

Why: an MM-DiT has no separate self- and cross-attention. Its image tokens' queries, keys and values are the
self-attention view (step 5: the source's structure), and the image queries with the text tokens' keys and
values the cross-attention view (step 4: the target's text Values aligned to the reference's); the edits are the
U-Net's own `AttentionEdit`s, handed those views, and the joint attention is computed from what they return.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from diffusers.models.embeddings import apply_rotary_emb

from .base import AttentionEdit, Controller


class JointEditAttnProcessor:
    """Computes a joint block's attention as diffusers' `FluxAttnProcessor` (text first, rotary embeddings) or
    `JointAttnProcessor2_0` (SD3: image first) do, with `self_edits` on (q, k, v) of the image tokens and
    `cross_edits` on (image queries, text keys, text values), each as (batch, heads, tokens, head_dim)."""

    def __init__(
        self,
        controller: Controller,
        name: str,
        self_edits: list[AttentionEdit],
        cross_edits: list[AttentionEdit],
        text_first: bool,
    ):
        self.controller, self.name, self.text_first = controller, name, text_first
        self.self_edits, self.cross_edits = self_edits, cross_edits

    def __call__(
        self,
        attn,
        hidden_states: torch.Tensor,
        encoder_hidden_states: torch.Tensor | None = None,
        attention_mask: torch.Tensor | None = None,
        image_rotary_emb=None,
        **kwargs,
    ):
        heads = attn.heads
        image = [self.split_heads(p(hidden_states), heads) for p in (attn.to_q, attn.to_k, attn.to_v)]
        image[0], image[1] = self.normed(attn.norm_q, image[0]), self.normed(attn.norm_k, image[1])
        text = None
        if encoder_hidden_states is not None:
            projections = (attn.add_q_proj, attn.add_k_proj, attn.add_v_proj)
            text = [self.split_heads(p(encoder_hidden_states), heads) for p in projections]
            text[0], text[1] = self.normed(attn.norm_added_q, text[0]), self.normed(attn.norm_added_k, text[1])

        image = self.edited(self.self_edits, *image, attention_mask)
        if text is not None:
            image[0], text[1], text[2] = self.edited(self.cross_edits, image[0], text[1], text[2], attention_mask)

        order = [text, image] if self.text_first else [image, text]
        query, key, value = (torch.cat([part[i] for part in order if part is not None], dim=2) for i in range(3))
        if image_rotary_emb is not None:  # FLUX: positions of text then image tokens
            query = apply_rotary_emb(query, image_rotary_emb, sequence_dim=2)
            key = apply_rotary_emb(key, image_rotary_emb, sequence_dim=2)
        out = F.scaled_dot_product_attention(query, key, value, attn_mask=attention_mask)
        out = out.transpose(1, 2).flatten(2, 3).to(query.dtype)
        if text is None:
            return out
        text_tokens = encoder_hidden_states.shape[1]
        if self.text_first:
            text_out, image_out = out[:, :text_tokens], out[:, text_tokens:]
        else:
            image_out, text_out = out[:, : out.shape[1] - text_tokens], out[:, out.shape[1] - text_tokens :]
        image_out = attn.to_out[1](attn.to_out[0](image_out.contiguous()))
        if getattr(attn, "context_pre_only", False) or not hasattr(attn, "to_add_out"):
            return image_out, text_out  # SD3's last block: the text stream ends here
        return image_out, attn.to_add_out(text_out.contiguous())

    def edited(self, edits: list[AttentionEdit], query, key, value, mask) -> list[torch.Tensor]:
        """The view's (query, key, value) after the active edits, in order (the joint edits keep the mask)."""
        for edit in edits:
            if edit.active():
                query, key, value, mask = edit.apply(query, key, value, mask, None)
                self.controller.applied[(self.name, edit.kind)] += 1
        return [query, key, value]

    @staticmethod
    def split_heads(x: torch.Tensor, heads: int) -> torch.Tensor:
        return x.view(x.shape[0], x.shape[1], heads, -1).transpose(1, 2)

    @staticmethod
    def normed(norm, x: torch.Tensor) -> torch.Tensor:
        return x if norm is None else norm(x)
