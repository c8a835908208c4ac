"""Attention interventions: one small `AttentionEdit` each, applied by the layer's processor, switched
by an `EditController`, put on a U-Net by `installed`."""

from .appearance import ReferenceAppearance
from .base import BRANCHES, AttentionEdit, BranchLayout, EditAttnProcessor
from .controller import EditController
from .install import installed, one_edit_at_a_time, unet_lock
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
    "installed",
    "one_edit_at_a_time",
    "token_adain",
    "unet_lock",
]
