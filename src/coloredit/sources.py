"""Step 1 of the method: the source branch, the user's image inverted with its prompt, or the noise that
generates one from prompt and seed.

Why a module: the pipeline's `__call__` reads as the steps; each step builds its branch in its own place.
"""

from __future__ import annotations

from PIL import Image

from .accounting import current_ledger
from .branches import Branch, Model, Source
from .config import EditConfig
from .errors import ColorEditError
from .images import ImageLike, load_image, working_size
from .inversion import Inversion, NoiseSchedule


def prepare_source(
    pipe: Model,
    prompt: str,
    image: ImageLike | None,
    seed: int,
    schedule: NoiseSchedule,
    config: EditConfig,
    inversion: Inversion | None,
) -> Source:
    """1. The image being edited: the user's, inverted with its prompt at the working size (or `inversion`, made
    earlier with the same steps), or the noise of `seed` that generates it from the prompt."""
    cond, empty = pipe.encode_text([prompt]), pipe.encode_text([""])
    if image is None:
        work = (pipe.native_size, pipe.native_size)
        branch = Branch(prompt, pipe.initial_noise(seed, work), cond, empty.expand(len(schedule), -1, -1))
        return Source(branch, work, None, None)
    original = load_image(image, "image")
    work = working_size(*original.size, pipe.native_size, pipe.size_multiple)
    if inversion is None:
        with current_ledger().stage_of("inversion"):
            inversion = pipe.invert(original.resize(work, Image.Resampling.LANCZOS), prompt, schedule, config)
    elif inversion.timesteps != schedule.timesteps:
        raise ColorEditError("the given inversion was made with other timesteps (number of steps)")
    branch = Branch(
        prompt,
        inversion.initial_latents.to(pipe._execution_device),
        cond,
        pipe.uncond_per_step(inversion, empty, len(schedule)),
        trajectory=inversion.latents.to(pipe._execution_device),
    )
    return Source(branch, work, original, inversion)
