"""Attention interventions: one small processor each, switched by an `EditController`."""

from .base import EditAttnProcessor
from .controller import BRANCHES, BranchLayout, EditController
from .structure import SourceStructureProcessor
from .value_alignment import ValueAlignProcessor, token_adain

__all__ = [
    "BRANCHES",
    "BranchLayout",
    "EditAttnProcessor",
    "EditController",
    "SourceStructureProcessor",
    "ValueAlignProcessor",
    "token_adain",
]
