"""Attention interventions: one small `AttentionEdit` each, applied by the layer's processor, switched
by an `EditController`."""

from .appearance import ReferenceAppearance
from .base import AttentionEdit, EditAttnProcessor
from .controller import BRANCHES, BranchLayout, EditController
from .structure import SourceStructure
from .value_alignment import ValueAlignment, token_adain

__all__ = [
    "BRANCHES",
    "AttentionEdit",
    "BranchLayout",
    "EditAttnProcessor",
    "EditController",
    "ReferenceAppearance",
    "SourceStructure",
    "ValueAlignment",
    "token_adain",
]
