"""What an edit is given for each object and what it returns, whichever engine makes it (`pipeline.py`,
`engine.py`): plain data, light to import for front ends that never load a model."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
from PIL import Image

if TYPE_CHECKING:
    import torch

    from .config import EditConfig
    from .images import ImageLike
    from .inversion import Inversion


@dataclass
class ObjectEdit:
    """One object of a multi-object edit: its mask, its reference (image or color) and, where the image's
    prompt should name this object differently ("a red car" for the car, "a white house" for the house),
    its own prompt."""

    mask: ImageLike
    reference: ImageLike | None = None
    reference_prompt: str | None = None
    color: str | None = None
    reference_mask: ImageLike | None = None
    prompt: str | None = None


def edited_in_turn(
    edit: Callable[..., ColorEditOutput],
    prompt: str,
    edits: Sequence[ObjectEdit],
    image: ImageLike | None,
    seed: int,
    config: EditConfig | None,
) -> list[ColorEditOutput]:
    """Several objects by `edit` (a pipeline's call), each edit's output the next one's source, each with its own
    prompt if given; an output is made whole (`photos.EditPatches`) only where another edit follows."""
    outputs: list[ColorEditOutput] = []
    for each in edits:
        image = outputs[-1].image if outputs else image
        fields = {k: v for k, v in vars(each).items() if k != "prompt"}
        outputs.append(edit(each.prompt or prompt, image=image, seed=seed, config=config, **fields))
    return outputs


@dataclass
class ColorEditOutput:
    images: Sequence[Image.Image]  # the edits at the input's size, one per target color (colorways), in order
    # (the engine's are made whole as they are read: `photos.EditPatches`)
    source_image: Image.Image  # the input image, or the generated source
    reference_prompts: list[str]
    latents: dict[str, torch.Tensor]  # final latents of each branch: source, target, target1, ...
    inversion: Inversion | None
    unet: dict = field(default_factory=dict)  # U-Net calls and rows, total and by stage
    seconds: dict = field(default_factory=dict)  # wall time by stage
    mask: np.ndarray | None = None  # the object's mask the edit used (refined, `edges.py`), at the input's size
    mask_change: float = 0.0  # its area over the given mask's, minus 1
    engine: str = "diffusion"  # which made it: "diffusion" or "exact" (`engine.py`)
    engine_reason: str = ""  # why that one

    @property
    def image(self) -> Image.Image:
        """The edit (the first color's, for colorways)."""
        return self.images[0]

    @property
    def reference_prompt(self) -> str:
        return self.reference_prompts[0]
