"""The controller: knows the batch layout, the current step and which layer gets which intervention,
and installs one small processor per attention layer with `unet.set_attn_processor`."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from ..config import EditConfig
from .base import EditAttnProcessor
from .structure import SourceStructureProcessor
from .value_alignment import ValueAlignProcessor

BRANCHES = ("reference", "source", "target")


@dataclass(frozen=True)
class BranchLayout:
    """Rows of a batched U-Net call: CFG half (0 = unconditional, 1 = conditional) x branch."""

    branches: tuple[str, ...] = BRANCHES
    halves: int = 2

    @property
    def rows(self) -> int:
        return self.halves * len(self.branches)

    def row(self, half: int, branch: str) -> int:
        return half * len(self.branches) + self.branches.index(branch)


class EditController:
    """Holds what the processors need to know at each call: config, layout, step and timestep."""

    def __init__(
        self, config: EditConfig, num_steps: int, num_train_timesteps: int, layout: BranchLayout | None = None
    ):
        self.config, self.num_steps, self.num_train_timesteps = config, num_steps, num_train_timesteps
        self.layout = layout or BranchLayout()
        self.step, self.timestep = 0, num_train_timesteps
        self.applied: Counter[str] = Counter()  # processor name -> calls where it acted

    def set_step(self, step: int, timestep: int) -> None:
        self.step, self.timestep = step, int(timestep)

    def processor_for(self, name: str, cross_attention_up_blocks: set[int]):
        """The processor for one attention layer (a diffusers processor name)."""
        config = self.config
        block = name.split(".")[0]
        if name.endswith("attn1.processor") and config.self_attn_replace and block in config.self_attn_blocks:
            return SourceStructureProcessor(self, name)
        if name.endswith("attn2.processor") and config.value_align and block == "up_blocks":
            index = int(name.split(".")[1])
            chosen = config.value_align_up_blocks
            if index in cross_attention_up_blocks and (chosen is None or index in chosen):
                return ValueAlignProcessor(self, name)
        return EditAttnProcessor(self, name)

    def install(self, unet) -> dict:
        """Put a processor on every attention layer; returns the previous ones for `restore`."""
        previous = dict(unet.attn_processors)
        cross_up = {i for i, block in enumerate(unet.up_blocks) if getattr(block, "has_cross_attention", False)}
        unet.set_attn_processor({name: self.processor_for(name, cross_up) for name in previous})
        return previous
