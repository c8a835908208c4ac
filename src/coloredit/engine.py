"""Which engine makes an edit: the diffusion model, or the exact-color engine alone where the model's output
would be replaced pixel for pixel anyway.

Why: with exact color on, an edit's final pixels inside the object are `recoloring.recolor`'s; the model's
re-rendering enters only where the object is too dark for its shading to be read (`exact.DARK_LIT`). Everywhere
else the inversion, the U-Net and the decode are paid for nothing: the ablation and COLORBENCH-PBR measured
"exact color alone" equal to the default. `engine="auto"` (`EditConfig.engine`) makes that edit with the engine
alone, byte for byte the one the model would have given; `"exact"` always does (no model needed:
`ExactEditor`); `"diffusion"` always runs the model. Every output says which ran and why.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable, Sequence
from functools import partial
from typing import NamedTuple

import numpy as np
from PIL import Image
from tqdm.auto import tqdm

from . import exact, light, photos
from .colors import name_color, parse_color, prompt_color, with_color_word
from .config import EditConfig, preset
from .edges import refine_mask
from .images import ImageLike, load_mask, rgb_pixels
from .outputs import ColorEditOutput, edited_in_turn
from .recoloring import Recoloring
from .validate import check_inputs

SD_NATIVE = 512  # the crop's least size when no model says its own (`ExactEditor`)


def object_mask(
    original: Image.Image | np.ndarray, mask: ImageLike, config: EditConfig
) -> tuple[np.ndarray, np.ndarray]:
    """(the mask as given, the mask the edit uses): moved to the object's edge unless `mask_refine` is off.
    `original`: the image, or its `rgb_pixels`."""
    pixels = rgb_pixels(original)
    given = load_mask(mask, (pixels.shape[1], pixels.shape[0]))
    if config.mask_refine != "auto":
        return given, given
    return given, refine_mask(pixels, given)


def reference_region(image: Image.Image, reference_mask: ImageLike | None, alpha: np.ndarray | None) -> np.ndarray:
    """Where a reference's color is: its mask, else its opaque pixels, else its salient object; never its
    background."""
    if reference_mask is not None:
        return load_mask(reference_mask, image.size, what="reference mask", whole_ok=True)
    if alpha is not None and (alpha >= 128).any():
        return alpha >= 128
    from .masks import CONFIDENT, mask_confidence, salient_object  # torch, only where it is needed

    found = salient_object(np.asarray(image))
    confidence = mask_confidence(np.asarray(image), found)
    if not found.all() and confidence < CONFIDENT:
        warnings.warn(
            f"reference image: its object was found with low confidence ({confidence:.2f}); "
            "give a reference mask if its color looks wrong",
            stacklevel=2,
        )
    return found


def reference_color(
    reference: ImageLike, reference_mask: ImageLike | None, reference_prompt: str | None, config: EditConfig
) -> tuple[Image.Image, np.ndarray, tuple[int, int, int]]:
    """(the reference image, where its color is, that base color): its lit color over its own scene's light."""
    image, alpha, _ = photos.open_photo(reference, "reference image")
    found = reference_region(image, reference_mask, alpha)
    hint = prompt_color(reference_prompt) if reference_prompt else None
    pixels = np.asarray(image)
    seen_in = light.scene_light(pixels, found, hint, config.scene_light)  # the reference's own light
    return image, found, exact.base_color(pixels, found, hint, seen_in)


def choose(config: EditConfig, source: exact.Decomposition | None = None) -> tuple[str, str]:
    """("exact" or "diffusion", why), for `config.engine` and, where the config leaves it open (auto, exact
    color on), the object's pixels (`source`; without it, that open case is left to the caller: "auto")."""
    if config.engine != "auto":
        return config.engine, f"asked for (engine={config.engine})"
    if not config.exact_color:
        return "diffusion", "exact color is off: the model's rendering is the edit"
    if source is None:
        return "auto", "the object's pixels decide"
    lit, dark = source.lit_luminance, exact.DARK_LIT[1]
    if lit < dark:
        return "diffusion", f"the object is dark (lit luminance {lit:.3f} < {dark}): the model re-renders it"
    return "exact", f"the object's pixels carry its shading (lit luminance {lit:.3f}): the model would change nothing"


class Outcome(NamedTuple):
    """What `exact_edit` gives: the edit (None where the model must make it), why, and the object's
    decomposition when it was read (the pipeline's exact color uses the same one)."""

    output: ColorEditOutput | None
    why: str
    source: exact.Decomposition | None = None


PROGRESS_DELAY = 1.0  # s: a bar shows once an edit has taken this long (a photo's, not a thumbnail's)


def exact_edit(
    prompt: str,
    original: Image.Image | np.ndarray,
    given: np.ndarray,
    used: np.ndarray,
    colors: Sequence[str | None],
    reference: ImageLike | None,
    reference_prompt: str | None,
    reference_mask: ImageLike | None,
    config: EditConfig,
    photo: photos.Restore | None = None,
    progress: dict | None = None,
) -> Outcome:
    """The edit by the engine alone where `choose` picks it, through the object's mask as given and as used
    (`object_mask`): the pipeline's own steps 2, 3 and 7 with no inversion, no U-Net and no decode, on the image
    or its `rgb_pixels` (`original`; a photo's crop is let go once it is pixels). Where the
    model must make it, no output, and nothing read that the config alone decides. `progress`: the caller's
    progress-bar settings (diffusers' `set_progress_bar_config`); a bar shows once the edit takes a while."""
    started = time.perf_counter()
    engine, why = choose(config)
    if engine == "diffusion":
        return Outcome(None, why)
    pixels = rgb_pixels(original)
    hint = prompt_color(prompt)
    bar = tqdm(total=2, **{"desc": "exact color", "unit": "step", "delay": PROGRESS_DELAY, **(progress or {})})
    with bar:
        source = exact.decompose(pixels, used, hint)
        bar.update()
        engine, why = choose(config, source)
        if engine != "exact":
            return Outcome(None, why, source)
        seen_in = light.scene_light(pixels, used, hint, config.scene_light)
        if reference is not None:
            targets = [reference_color(reference, reference_mask, reference_prompt, config)[2]]
        else:
            targets = [parse_color(color) for color in colors]
        recoloring = Recoloring(pixels, used, source, scene_light=seen_in, material=config.material)
        bar.update()
        patches = [partial(recoloring.patch, rgb) for rgb in targets]  # each color made as it is read
        prompts = [reference_prompt or with_color_word(prompt, name_color(rgb)) for rgb in targets]
        change = float(used.sum() / given.sum() - 1.0)
        # each made whole, the full photo, when read (a photo's crop is not kept for it: the recolor holds its box)
        edits = photos.EditPatches(original if photo is None else None, photo, patches)
        if photo is not None:
            source_image, used = photos.restored_source(original, photo), photos.restore_mask(used, photo)
        else:
            source_image = original if isinstance(original, Image.Image) else Image.fromarray(original)
    output = ColorEditOutput(
        images=edits,
        source_image=source_image,
        reference_prompts=prompts,
        latents={},
        inversion=None,
        unet={"calls": 0, "rows": 0, "by_stage": {}},
        seconds={"exact": round(time.perf_counter() - started, 4)},
        mask=used,
        mask_change=change,
        engine="exact",
        engine_reason=why,
    )
    return Outcome(output, why, source)


class ExactEditor:
    """The pipeline's interface with the engine alone: edits that need no model (`engine="exact"`), for the
    CLI, batch and scripts that would otherwise load one."""

    native_size = SD_NATIVE

    def __init__(self) -> None:
        self._progress_bar_config: dict = {}

    def __call__(
        self,
        prompt: str,
        mask: ImageLike,
        image: ImageLike | None = None,
        color: str | Sequence[str] | None = None,
        config: EditConfig | None = None,
        **options: object,
    ) -> ColorEditOutput:
        """The pipeline's call, by the engine alone: `options` are its `reference`, `reference_prompt` and
        `reference_mask` (its seed and model settings mean nothing here)."""
        if image is None:
            raise ValueError("the exact engine edits an image; generating one needs the diffusion model")
        return self.engine_edit(prompt, mask, image, color, (config or preset()).replace(engine="exact"), options)

    def engine_edit(
        self, prompt: str, mask: ImageLike, image: ImageLike, color, config: EditConfig, options: dict
    ) -> ColorEditOutput | None:
        """The pipeline's own steps 0, 2 and `exact_edit` on the photo: its edit, or None where `config`'s
        engine leaves it to the model (`choose`)."""
        colors = [color] if color is None or isinstance(color, str) else list(color)
        reference, reference_prompt, reference_mask = (
            options.get(k) for k in ("reference", "reference_prompt", "reference_mask")
        )
        check_inputs(mask, image, reference, colors, reference_mask)
        work, work_mask, how = photos.prepare(
            image, mask, self.native_size, config.crop_to_object, config.output_profile
        )
        pixels = rgb_pixels(work)
        del work  # the crop is its pixels now: a photo's crop held once, not twice
        given, used = object_mask(pixels, work_mask, config)
        choice = (colors, reference, reference_prompt, reference_mask, config, how)
        return exact_edit(prompt, pixels, given, used, *choice, progress=self._progress_bar_config).output

    def edit_objects(self, prompt: str, edits: Sequence, image: ImageLike | None = None, seed: int = 0, config=None):
        """Several objects, each edit's output the next one's source (as `ColorEditPipeline.edit_objects`)."""
        return edited_in_turn(self, prompt, edits, image, seed, config)

    def set_progress_bar_config(self, **kwargs: object) -> None:
        """The progress bar's settings (tqdm's), as diffusers' pipelines take them: `disable=True` hides it."""
        self._progress_bar_config = kwargs


class ModelOnDemand(ExactEditor):
    """`engine="auto"` with the model loaded only for an edit that needs it: the engine alone makes every edit
    it can, with no model in memory (the same edit the pipeline's auto gives: `native_size` is the model's, read
    from its configs); the first edit that needs the model (a dark object, `engine="diffusion"`, a generated
    source) loads the pipeline with `load`, once."""

    def __init__(self, load: Callable[[], object], native_size: int) -> None:
        super().__init__()
        self.load, self.native_size, self._pipe = load, native_size, None

    def __call__(
        self, prompt: str, mask: ImageLike, image: ImageLike | None = None, color=None, config=None, **options
    ) -> ColorEditOutput:
        config = config or preset()
        if image is not None and config.engine == "auto":
            output = self.engine_edit(prompt, mask, image, color, config, options)
            if output is not None:
                return output
        return self.pipeline(prompt, mask, image=image, color=color, config=config, **options)

    @property
    def pipeline(self):
        """The model's pipeline, loaded at the first edit that needs it."""
        if self._pipe is None:
            self._pipe = self.load()
            self._pipe.set_progress_bar_config(**self._progress_bar_config)
        return self._pipe

    def set_progress_bar_config(self, **kwargs: object) -> None:
        super().set_progress_bar_config(**kwargs)
        if self._pipe is not None:
            self._pipe.set_progress_bar_config(**kwargs)
