"""Attention interventions: one small `AttentionEdit` each, applied by the layer's processor, switched
by an `EditController`."""

from .appearance import ReferenceAppearance
from .base import BRANCHES, AttentionEdit, BranchLayout, EditAttnProcessor, reference_of, target_name
from .controller import EditController
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
    "reference_of",
    "target_name",
    "token_adain",
]
