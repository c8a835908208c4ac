"""What a benchmark method is: a `name`, an `edit(pipe, sample, root, overrides)` that returns the edited image
with its cost (`Edited`; `overrides`: run-wide config changes such as fewer steps), and the `feather` past which
it promises the source's bytes."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

import numpy as np
from PIL import Image

from ...colors import with_color_word
from ...config import EDITS_OFF, EditConfig, preset
from ..manifest import Sample


class Edited(NamedTuple):
    """A method's edit: the image, and the U-Net rows it cost (0 where no U-Net ran), so runs report cost."""

    image: Image.Image
    unet_rows: int = 0


# The text-guided baselines: none of ColorEdit's steps, the target prompt naming the new color, no pixel
# paste-back (they do not have one); each method adds its own attention control.
TEXT_GUIDED = dict(EDITS_OFF, paste_back=False, target_prompt="reference-color")


@dataclass
class ConfigMethod:
    """A method expressed as a ColorEdit configuration on the shared attention framework.

    `color_from`: "reference" edits with the sample's target as given (its reference image and prompt, or
    its hex for a hex target); "name" with the target color's name in the target prompt (text-guided
    methods). Synthetic samples are regenerated from their seed; real ones are inverted."""

    name: str
    description: str
    base: str = "paper"
    changes: dict = field(default_factory=dict)
    color_from: str = "reference"

    def config(self, overrides: dict | None = None) -> EditConfig:
        """The method's configuration; run-wide `overrides` (e.g. fewer steps) apply on top."""
        return preset(self.base).replace(**{**self.changes, **(overrides or {})})

    def feather(self, overrides: dict | None = None) -> float:
        """Past this feather (of the mask) the edit is the source's bytes: its paste-back's, else none."""
        config = self.config(overrides)
        return config.feather if config.paste_back else 0.0

    def edit(self, pipe, sample: Sample, root: Path, overrides: dict | None = None) -> Edited:
        mask = np.asarray(Image.open(sample.path(root, "mask")).convert("L")) > 127
        image = None if sample.split == "synthetic" else sample.path(root, "source")
        if self.color_from == "reference" and sample.target_kind == "hex":
            kwargs = dict(color=",".join(str(v) for v in sample.target_rgb))
        elif self.color_from == "reference":
            kwargs = dict(
                reference=sample.path(root, "reference"),
                reference_prompt=sample.reference_prompt or None,  # none given: the pipeline's own
                reference_mask=sample.path(root, "reference_mask") if sample.reference_mask else None,
            )
        else:
            rgb = ",".join(str(v) for v in sample.target_rgb)
            kwargs = dict(color=rgb, reference_prompt=with_color_word(sample.source_prompt, sample.target_color))
        out = pipe(sample.source_prompt, mask, image=image, seed=sample.seed, config=self.config(overrides), **kwargs)
        return Edited(out.image, out.unet.get("rows", 0))
