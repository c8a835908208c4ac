"""The attention processor the interventions share: diffusers' AttnProcessor2_0 split into
project -> edit -> attend, where each active `AttentionEdit` of the layer changes q, k, v (or the mask)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Protocol

import torch
import torch.nn.functional as F

from ..branch_names import KINDS, SOURCE, BranchName
from ..config import EditConfig

BRANCHES = tuple(BranchName(kind) for kind in KINDS)


@dataclass(frozen=True)
class BranchLayout:
    """Rows of a batched U-Net call: the unconditional half (the guided branches), then the conditional
    half (every branch). An `unguided` branch has only its conditional row; asked for its unconditional
    row, the layout gives that one, so its features serve both halves of another branch."""

    branches: tuple[BranchName, ...] = BRANCHES
    unguided: tuple[BranchName, ...] = ()

    @property
    def guided(self) -> tuple[BranchName, ...]:
        return tuple(b for b in self.branches if b not in self.unguided)

    @property
    def halves(self) -> tuple[int, ...]:
        """The CFG halves in the batch: 0, the unconditional (where a branch is guided), and 1, the conditional."""
        return (0, 1) if self.guided else (1,)

    @property
    def targets(self) -> tuple[BranchName, ...]:
        return tuple(b for b in self.branches if b.kind == "target")

    @property
    def rows(self) -> int:
        return len(self.guided) + len(self.branches)

    def row(self, half: int, branch: BranchName) -> int:
        if half == 0 and branch in self.guided:
            return self.guided.index(branch)
        return len(self.guided) + self.branches.index(branch)


class Controller(Protocol):
    """What the edits and the processor read from the controller (`controller.EditController`): the
    config, the batch's layout, where the denoising is, the references' text and the objects' regions."""

    config: EditConfig
    layout: BranchLayout
    num_train_timesteps: int
    timestep: int
    reference_text: dict[BranchName, torch.Tensor]
    applied: Counter[tuple[str, str]]

    def in_steps(self, window: tuple[float, float]) -> bool: ...

    def region(self, branch: BranchName, tokens: int) -> torch.Tensor: ...


class AttentionEdit:
    """One intervention: `active()` says whether it acts at the controller's current step; `apply`
    receives q, k, v as (batch, heads, tokens, head_dim), the batch laid out by the controller's
    `BranchLayout`, the attention mask (None, or broadcastable to batch x heads x queries x keys) and the
    diffusers `Attention` module itself."""

    kind = "edit"

    def __init__(self, controller: Controller):
        self.controller = controller

    def active(self) -> bool:
        return True

    def apply(self, query, key, value, mask, attn):
        return query, key, value, mask

    def source_into_target(self, *tensors: torch.Tensor) -> list[torch.Tensor]:
        """Copies of the tensors whose target rows (every target's) hold the source rows, in each CFG half."""
        layout, copies = self.controller.layout, [t.clone() for t in tensors]
        for half in layout.halves:
            source = layout.row(half, SOURCE)
            for name in layout.targets:
                for copy in copies:
                    copy[layout.row(half, name)] = copy[source]
        return copies


class EditAttnProcessor:
    """Computes attention exactly as AttnProcessor2_0, with the layer's active edits applied in order."""

    def __init__(self, controller: Controller, name: str, edits: list[AttentionEdit] | None = None):
        self.controller, self.name, self.edits = controller, name, edits or []

    def __call__(
        self,
        attn,
        hidden_states: torch.Tensor,
        encoder_hidden_states: torch.Tensor | None = None,
        attention_mask: torch.Tensor | None = None,
        temb: torch.Tensor | None = None,
        **kwargs,
    ):
        residual = hidden_states
        if attn.spatial_norm is not None:
            hidden_states = attn.spatial_norm(hidden_states, temb)
        input_ndim = hidden_states.ndim
        if input_ndim == 4:
            batch, channel, height, width = hidden_states.shape
            hidden_states = hidden_states.view(batch, channel, height * width).transpose(1, 2)
        context = hidden_states if encoder_hidden_states is None else encoder_hidden_states
        batch, sequence_length, _ = context.shape
        if attention_mask is not None:
            attention_mask = attn.prepare_attention_mask(attention_mask, sequence_length, batch)
            attention_mask = attention_mask.view(batch, attn.heads, -1, attention_mask.shape[-1])
        if attn.group_norm is not None:
            hidden_states = attn.group_norm(hidden_states.transpose(1, 2)).transpose(1, 2)

        query = attn.to_q(hidden_states)
        if encoder_hidden_states is None:
            encoder_hidden_states = hidden_states
        elif attn.norm_cross:
            encoder_hidden_states = attn.norm_encoder_hidden_states(encoder_hidden_states)
        key, value = attn.to_k(encoder_hidden_states), attn.to_v(encoder_hidden_states)
        head_dim = key.shape[-1] // attn.heads
        query, key, value = (x.view(batch, -1, attn.heads, head_dim).transpose(1, 2) for x in (query, key, value))
        if attn.norm_q is not None:
            query = attn.norm_q(query)
        if attn.norm_k is not None:
            key = attn.norm_k(key)

        for edit in self.edits:
            if edit.active():
                query, key, value, attention_mask = edit.apply(query, key, value, attention_mask, attn)
                self.controller.applied[(self.name, edit.kind)] += 1

        hidden_states = F.scaled_dot_product_attention(query, key, value, attn_mask=attention_mask)
        hidden_states = hidden_states.transpose(1, 2).reshape(batch, -1, attn.heads * head_dim).to(query.dtype)
        hidden_states = attn.to_out[1](attn.to_out[0](hidden_states))
        if input_ndim == 4:
            hidden_states = hidden_states.transpose(-1, -2).reshape(batch, channel, height, width)
        if attn.residual_connection:
            hidden_states = hidden_states + residual
        return hidden_states / attn.rescale_output_factor
