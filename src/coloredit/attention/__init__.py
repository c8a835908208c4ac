"""Attention interventions: one small `AttentionEdit` each, applied by the layer's processor, switched
by an `EditController`."""

from .appearance import ReferenceAppearance
from .base import AttentionEdit, EditAttnProcessor
from .controller import BRANCHES, BranchLayout, EditController
from .mutual import MutualSelfAttention
from .recorder import CrossAttentionRecorder
from .structure import SourceCrossAttentionMaps, SourceStructure
from .value_alignment import ValueAlignment, token_adain

__all__ = [
    "BRANCHES",
    "AttentionEdit",
    "BranchLayout",
    "CrossAttentionRecorder",
    "EditAttnProcessor",
    "EditController",
    "MutualSelfAttention",
    "ReferenceAppearance",
    "SourceCrossAttentionMaps",
    "SourceStructure",
    "ValueAlignment",
    "token_adain",
]
