"""What a row of the joint denoising is: a branch's kind and index, never parsed out of a label.

Why a module: the attention edits, the latent edits and the pipeline's steps all name branches (a target, its
own reference, the source); one small type below all of them keeps those names from being strings to split.
"""

from __future__ import annotations

from typing import NamedTuple

KINDS = ("reference", "source", "target")  # in the batch's row order


class BranchName(NamedTuple):
    """A branch of the joint batch: its kind (one of KINDS) and, among colorways' targets, which one; a target
    and its own reference share the index."""

    kind: str
    index: int = 0

    def __str__(self) -> str:
        """The label outputs use: source, target, target1, reference2, ..."""
        return f"{self.kind}{self.index or ''}"

    @property
    def reference(self) -> BranchName:
        """A target's own reference: target -> reference, target1 -> reference1."""
        return BranchName("reference", self.index)

    @property
    def order(self) -> tuple[int, int]:
        """References first, then the source, then the targets (the single edit's order), by index."""
        return KINDS.index(self.kind), self.index

    def among(self, first: int) -> BranchName:
        """This branch of a batch of targets starting at target `first`, named among all the targets."""
        return self if self.kind == "source" else BranchName(self.kind, self.index + first)


SOURCE, TARGET, REFERENCE = BranchName("source"), BranchName("target"), BranchName("reference")


def target(index: int = 0) -> BranchName:
    """The `index`-th target of a batched call (colorways)."""
    return BranchName("target", index)
