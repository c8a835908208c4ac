"""The controller: knows the batch layout, the current step and which layer gets which intervention,
and makes one processor per attention layer, with that layer's edits (`install.installed` puts them on)."""

from __future__ import annotations

import math
from collections import Counter

import torch
import torch.nn.functional as F

from ..branch_names import BranchName
from ..config import EditConfig
from .appearance import ReferenceAppearance
from .base import AttentionEdit, BranchLayout, EditAttnProcessor
from .mmdit import JointEditAttnProcessor
from .mutual import MutualSelfAttention
from .structure import SourceCrossAttentionMaps, SourceStructure
from .value_alignment import ValueAlignment


class EditController:
    """Holds what the edits need at each call: config, layout, step, timestep and object regions."""

    def __init__(
        self,
        config: EditConfig,
        num_steps: int,
        num_train_timesteps: int,
        layout: BranchLayout | None = None,
        regions: dict[BranchName, torch.Tensor] | None = None,
    ):
        self.config, self.num_steps, self.num_train_timesteps = config, num_steps, num_train_timesteps
        self.layout = layout or BranchLayout()
        self.regions = regions or {}  # branch -> 1x1xhxw coverage at latent resolution
        # each reference's embeddings this step (2 x tokens x dim), for references that are not rows
        self.reference_text: dict[BranchName, torch.Tensor] = {}
        self.step, self.timestep = 0, num_train_timesteps
        self.applied: Counter[tuple[str, str]] = Counter()  # (processor name, edit kind) -> calls it acted in
        self._region_cache: dict[tuple[BranchName, int], torch.Tensor] = {}

    def set_step(self, step: int, timestep: int) -> None:
        self.step, self.timestep = step, int(timestep)

    def in_steps(self, window: tuple[float, float]) -> bool:
        """Whether the current step lies in a (start, end) window given as fractions of the steps."""
        return window[0] * self.num_steps <= self.step < window[1] * self.num_steps

    def region(self, branch: BranchName, tokens: int) -> torch.Tensor:
        """A branch's object coverage at the resolution of a layer with `tokens` spatial tokens (flat)."""
        key = (branch, tokens)
        if key not in self._region_cache:
            coverage = self.regions[branch]
            factor = math.isqrt(coverage.shape[-2] * coverage.shape[-1] // tokens)
            size = (coverage.shape[-2] // factor, coverage.shape[-1] // factor)
            self._region_cache[key] = F.adaptive_avg_pool2d(coverage, size).flatten()
        return self._region_cache[key]

    def edits_for(self, name: str, cross_attention_up_blocks: set[int]) -> list[AttentionEdit]:
        """The interventions of one attention layer (a diffusers processor name)."""
        config, block = self.config, name.split(".")[0]
        edits: list[AttentionEdit] = []
        if name.endswith("attn1.processor"):
            if config.self_attn_replace and block in config.self_attn_blocks:
                edits.append(SourceStructure(self))
            if config.appearance_transfer and block in config.appearance_blocks:
                edits.append(ReferenceAppearance(self))
            if config.mutual_self_attn and block in config.mutual_blocks:
                edits.append(MutualSelfAttention(self))
            return edits
        if config.cross_attn_replace:
            edits.append(SourceCrossAttentionMaps(self))
        if config.value_align and block == "up_blocks":
            index, chosen = int(name.split(".")[1]), config.value_align_up_blocks
            if index in cross_attention_up_blocks and (chosen is None or index in chosen):
                edits.append(ValueAlignment(self))
        return edits

    def processors(self, unet) -> dict:
        """A processor for every attention layer of `unet`, with that layer's edits (`install.installed`
        puts them on)."""
        cross_up = {i for i, block in enumerate(unet.up_blocks) if getattr(block, "has_cross_attention", False)}
        return {name: EditAttnProcessor(self, name, self.edits_for(name, cross_up)) for name in unet.attn_processors}

    def joint_processors(self, transformer, text_first: bool) -> dict:
        """A processor for every joint (text and image) attention of a flow transformer (`mmdit.py`): the
        source's structure on the image tokens (step 5) and the target's text Values aligned to the reference's
        (step 4), in every joint block (FLUX's single-stream blocks and SD3.5's image-only attn2 keep theirs)."""
        config, processors = self.config, {}
        for name in transformer.attn_processors:
            if not (name.startswith("transformer_blocks.") and name.endswith(".attn.processor")):
                continue
            self_edits: list[AttentionEdit] = [SourceStructure(self)] if config.self_attn_replace else []
            if config.mutual_self_attn:
                self_edits.append(MutualSelfAttention(self))
            cross_edits: list[AttentionEdit] = [ValueAlignment(self)] if config.value_align else []
            processors[name] = JointEditAttnProcessor(self, name, self_edits, cross_edits, text_first)
        return processors
