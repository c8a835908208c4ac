"""Every hyperparameter of an edit, documented in one place. `EditConfig()` is the default recipe (the
"coloredit" preset); `preset("paper")` is the paper's method exactly.

Marks: [paper] is stated by ColorEdit (arXiv 2411.10232); [ours] is our decision where it is silent or
where we depart from it (the paper's value is then given and set by `PAPER`). Every choice is an option, so
benchmarks can compare alternatives.
"""

from __future__ import annotations

import dataclasses
import typing
from dataclasses import dataclass

from .errors import ColorEditError

DEFAULT_SAM = "Zigeng/SlimSAM-uniform-77"  # the SAM model masks use by default: ~39 MB, loads as SamModel

INVERSIONS = ("null-text", "ddim", "negative-prompt", "direct")
TARGET_PROMPTS = ("source", "no-color", "reference-color")
BLEND_MODES = ("statistics", "spatial")
COLOR_REFERENCES = ("generate", "swatch", "recolor")
SCENE_LIGHTS = ("none", "color", "auto")
MATERIALS = ("auto", "dielectric", "metal")
MASK_REFINES = ("auto", "off")
OUTPUT_PROFILES = ("photo", "srgb")
ENGINES = ("auto", "diffusion", "exact")
UNET_BLOCKS = ("down_blocks", "mid_block", "up_blocks")


@dataclass
class EditConfig:
    """Hyperparameters of one ColorEdit run, defaulting to our recipe; fractions of steps count from the first
    (noisiest) step."""

    # Step 0, photo. [ours] Edit the object's box plus context (never smaller than the model's native size),
    # pasted back at full resolution, instead of the whole photo scaled to the model's size (`photos.py`).
    # [paper] the whole image at the model's size.
    crop_to_object: bool = True
    # [ours] Which engine edits (`engine.py`). "auto": the exact-color engine alone wherever the model's output
    # would be replaced pixel for pixel (exact color on, the object not too dark to read), byte for byte the
    # same edit with no inversion and no U-Net; the model elsewhere. "diffusion": always the model; "exact":
    # always the engine alone (no model needed). [paper] the model (its exact_color is off, so auto runs it).
    engine: str = "auto"
    # [ours] A photo with a color profile (Adobe RGB, Display P3) is edited in sRGB and written back in its
    # own encoding with its profile, only the pixels the edit changed converted: "photo". "srgb": the whole
    # result converted to sRGB.
    output_profile: str = "photo"

    # Sampling. [paper] SD v1.4, DDIM 50 steps, CFG 7.5. [ours] guidance 1: the target's conditional
    # estimate alone, no unconditional rows (a third fewer rows an edit, and a colorway a row a step less).
    # The object's color comes from the reference (steps 4-6 and exact color), not from guidance toward a
    # prompt; on the tuning set it is as exact as 7.5 (docs/ablation.md).
    num_inference_steps: int = 50
    guidance_scale: float = 1.0

    # Step 1, source. [paper] null-text inversion. [ours] direct inversion (Ju et al. 2024: DDIM inversion,
    # and the source branch put back on the exact trajectory after every step; no optimization, one U-Net
    # row a step); also plain DDIM inversion and negative-prompt inversion (Miyake et al. 2023: the source
    # prompt as the unconditional embedding).
    inversion: str = "direct"
    null_text_inner_steps: int = 10  # Adam steps per timestep, as in the null-text inversion paper
    null_text_lr: float = 1e-2  # decays linearly to lr * (1 - steps / 100) over the steps
    null_text_early_stop: float = 1e-5  # loss threshold, grows by 2e-5 per step

    # Step 3, reference from a color spec. [ours] "generate": the source prompt with the color's name,
    # denoised from the source's own initial noise (same layout, so the source mask fits it);
    # "swatch": a flat image of the exact RGB, inverted with the prompt "{color name}"; "recolor": the
    # source itself recolored in pixels (`exact.py`), its trajectory the source's noise around that image's
    # latent (no U-Net row: colorways of many colors cost one target each; as exact on the tuning set as
    # "generate", docs/ablation.md). A generated source (no image) falls back to "generate".
    color_reference: str = "recolor"
    # [paper] the reference is denoised in the batch (True). [ours] when its trajectory is known (an inverted
    # image) and no edit reads its image features, its rows are left out: its cross-attention Values come
    # from its text alone, its latents from its trajectory; same result, 2 fewer U-Net rows a step.
    keep_reference_branch: bool = False

    # Step 4, Value alignment. [paper] AdaIN of the target's cross-attention V to the reference's in the
    # CrossAttnUpBlocks while t >= tau * T. [ours] per channel over tokens, per CFG half; the up blocks
    # are chosen by index (None = every up block that has cross-attention).
    value_align: bool = True
    value_align_up_blocks: tuple[int, ...] | None = None
    tau: float = 0.8

    # [ours] What the target branch is prompted with: the source prompt without its color words ("no-color":
    # nothing pulls the object back to its old color), as given ("source", the paper), or with the
    # reference's color word ("reference-color": the text-guided signal).
    target_prompt: str = "no-color"

    # [ours] Color transfer on the predicted clean latent (x0 transfer): in the first `color_transfer_steps`
    # of the steps, after guidance, the target's predicted x0 inside the object takes the reference
    # object's statistics (weighted by the mask's coverage of each latent cell), then the DDIM step
    # continues with the unchanged noise estimate. The reference image's own statistics reach the target
    # this way, also for colors no word names. [paper] none (False).
    color_transfer: bool = True
    color_transfer_steps: float = 1.0
    color_transfer_std: bool = True  # match the spread too (False: mean only, keeps the source's shading)
    color_transfer_mode: str = "wct"  # "wct": the channels' joint covariance; "adain": each channel alone

    # Step 5, structure. [paper] the target's self-attention maps are the source's, all steps, in the
    # decoder (up blocks). [ours] as SDPA(Q_S, K_S, V_T), in every block; which parts and which steps.
    self_attn_replace: bool = True
    self_attn_blocks: tuple[str, ...] = ("down_blocks", "mid_block", "up_blocks")
    self_attn_steps: tuple[float, float] = (0.0, 1.0)

    # [ours] Image-dependent transfer in self-attention: inside the object, target queries also attend to
    # the reference object's keys/values, in the chosen U-Net parts and fraction of steps.
    appearance_transfer: bool = False
    appearance_blocks: tuple[str, ...] = ("up_blocks",)
    appearance_steps: tuple[float, float] = (0.0, 0.6)

    # Baselines of the benchmark, on the same framework (off in ColorEdit):
    # Prompt-to-Prompt's cross-attention map replacement (word swap), for this fraction of the steps;
    cross_attn_replace: bool = False
    cross_attn_steps: tuple[float, float] = (0.0, 0.8)
    # MasaCtrl's mutual self-attention (target queries read the source's keys/values).
    mutual_self_attn: bool = False
    mutual_blocks: tuple[str, ...] = ("up_blocks",)
    mutual_steps: tuple[float, float] = (0.08, 1.0)

    # Step 6, latent blending. [paper] ratio 0.1 of the reference latent into the object region.
    # [ours] "statistics" blends toward the reference object's per-channel latent mean/std (the
    # reference object need not sit where the target's is); "spatial" blends the latent itself.
    blend_ratio: float = 0.1
    blend_mode: str = "statistics"
    blend_tau: float = 0.8

    # Step 7, background. [paper] z_T <- M z_T + (1 - M) z_S in the final steps. [ours] from this
    # fraction of the steps on, with the latent mask dilated by `mask_dilation` cells; then the original
    # pixels pasted back outside a mask feathered over `feather` (fraction of the image's longer side).
    background_start: float = 0.6
    # [ours] Exact color after decoding (`exact.py`): the object's pixels split into colored shade x lit
    # color + highlight; the base color set to the target's (a hex exactly, or the reference object's with
    # its own light divided out) and shown under the scene's light; shading, bounce, highlights and second
    # colors kept; the diffusion re-rendering gives the shading where the source is too dark to show it.
    # [paper] none (False).
    exact_color: bool = True
    # [ours] The scene's light at the object (`light.py`), what a hex is seen in and a reference's color is
    # freed of. "none": white of level 1, the object's lit part shows its base color (exact in renders whose
    # key is white of level 1). "color" estimates the light's color from the picture, at level 1; "auto" its
    # level too. Both are learned on path-traced studio scenes: on the studio test set they beat "none"
    # (COLORBENCH-PBR 8.6 and 7.5 against 9.8), on the daylight set no one trained on they lose (9.6 and 9.5
    # against 8.1), so neither is the default yet (docs/physics-world.md).
    scene_light: str = "none"
    # [ours] "auto" tells a metal (its color lives in its reflections, highlights take the tint) from the
    # pixels; "dielectric" or "metal" says so.
    material: str = "auto"
    mask_dilation: int = 1
    # [ours] Step 2: the mask's outline moved to the object's edge within a few pixels (`edges.py`), so a
    # painted, SAM or text mask a little too small or too large gives the edit of an exact one; "off" keeps
    # the mask exactly as given.
    mask_refine: str = "auto"
    paste_back: bool = True
    feather: float = 0.02

    def __post_init__(self) -> None:
        self.validate()

    def validate(self) -> None:
        def need(ok: bool, message: str) -> None:
            if not ok:
                raise ColorEditError(f"invalid config: {message}")

        need(self.num_inference_steps >= 1, "num_inference_steps must be >= 1")
        need(self.guidance_scale >= 1.0, "guidance_scale must be >= 1")
        need(self.inversion in INVERSIONS, f"inversion must be one of {', '.join(INVERSIONS)}")
        need(self.color_reference in COLOR_REFERENCES, f"color_reference must be one of {COLOR_REFERENCES}")
        need(self.target_prompt in TARGET_PROMPTS, f"target_prompt must be one of {', '.join(TARGET_PROMPTS)}")
        need(self.color_transfer_mode in ("adain", "wct"), "color_transfer_mode must be adain or wct")
        need(self.blend_mode in BLEND_MODES, f"blend_mode must be one of {', '.join(BLEND_MODES)}")
        for name in ("tau", "blend_tau", "blend_ratio", "background_start", "feather", "color_transfer_steps"):
            need(0.0 <= getattr(self, name) <= 1.0, f"{name} must be in [0, 1]")
        for name in ("self_attn_steps", "appearance_steps", "cross_attn_steps", "mutual_steps"):
            start, end = getattr(self, name)
            need(0.0 <= start <= end <= 1.0, f"{name} must be (start, end) with 0 <= start <= end <= 1")
        for name in ("self_attn_blocks", "appearance_blocks", "mutual_blocks"):
            need(all(b in UNET_BLOCKS for b in getattr(self, name)), f"{name}: choose from {UNET_BLOCKS}")
        need(self.mask_dilation >= 0, "mask_dilation must be >= 0")
        need(self.scene_light in SCENE_LIGHTS, f"scene_light must be one of {', '.join(SCENE_LIGHTS)}")
        need(self.material in MATERIALS, f"material must be one of {', '.join(MATERIALS)}")
        need(self.mask_refine in MASK_REFINES, f"mask_refine must be one of {', '.join(MASK_REFINES)}")
        need(self.engine in ENGINES, f"engine must be one of {', '.join(ENGINES)}")
        need(self.output_profile in OUTPUT_PROFILES, f"output_profile must be one of {', '.join(OUTPUT_PROFILES)}")

    def replace(self, **changes: typing.Any) -> EditConfig:
        """A copy with some fields changed (validated)."""
        unknown = set(changes) - {f.name for f in dataclasses.fields(self)}
        if unknown:
            raise ColorEditError(f"unknown config option(s): {', '.join(sorted(unknown))}")
        return dataclasses.replace(self, **changes)

    def with_overrides(self, assignments: list[str]) -> EditConfig:
        """Apply `key=value` strings (from the CLI), parsing each value by the field's type."""
        return self.replace(**self.parse_overrides(assignments))

    @staticmethod
    def parse_overrides(assignments: list[str]) -> dict[str, typing.Any]:
        """{field: value} from `key=value` strings, each value parsed by the field's type."""
        hints = typing.get_type_hints(EditConfig)
        changes: dict[str, typing.Any] = {}
        for assignment in assignments:
            key, sep, text = assignment.partition("=")
            key = key.strip().replace("-", "_")
            if not sep or key not in hints:
                raise ColorEditError(f"bad config override {assignment!r}: use KEY=VALUE with a config field")
            changes[key] = _parse_value(hints[key], text.strip(), key)
        return changes

    def to_dict(self) -> dict[str, typing.Any]:
        return dataclasses.asdict(self)


def _parse_value(hint: typing.Any, text: str, key: str) -> typing.Any:
    args = [a for a in typing.get_args(hint) if a is not type(None)]
    if type(None) in typing.get_args(hint) and text.lower() in ("none", ""):
        return None
    base = typing.get_origin(hint)
    if base is typing.Union or (base is not None and base.__name__ == "UnionType"):
        hint, base, args = args[0], typing.get_origin(args[0]), typing.get_args(args[0])
    try:
        if base is tuple:
            item = args[0]
            return tuple(_parse_value(item, part.strip(), key) for part in text.split(",") if part.strip())
        if hint is bool:
            if text.lower() not in ("true", "false", "1", "0", "yes", "no", "on", "off"):
                raise ValueError(text)
            return text.lower() in ("true", "1", "yes", "on")
        return hint(text)
    except ValueError:
        raise ColorEditError(f"bad value {text!r} for config option {key}") from None


# The paper's method exactly, where our defaults depart from it.
PAPER = dict(
    crop_to_object=False,
    guidance_scale=7.5,
    color_reference="generate",
    inversion="null-text",
    keep_reference_branch=True,
    target_prompt="source",
    color_transfer=False,
    color_transfer_steps=0.6,
    color_transfer_mode="adain",
    self_attn_blocks=("up_blocks",),
    exact_color=False,
    mask_refine="off",
)
PRESETS: dict[str, EditConfig] = {
    # The paper's steps exactly, for comparison.
    "paper": EditConfig(**PAPER),
    # Our recipe, the defaults: the reference sets the color through the predicted clean latent (x0 transfer
    # of the channels' joint statistics, every step); the target prompt drops the old color word; structure
    # comes from the source's self-attention in every block; direct inversion, and the reference's rows left
    # out (the fast path); no classifier-free guidance; the mask moved to the object's edge; exact color in
    # pixels at the end; the object's crop of a big photo. Chosen from
    # the toy-world ablations (docs/ablation.md) and the speed benchmark (benchmarks/edit_speed.py).
    "coloredit": EditConfig(),
}
DEFAULT_PRESET = "coloredit"
# Every ColorEdit step off (on the paper's preset): the target is then a plain guided DDIM run from the source's
# noise, the base of the text-guided baselines and of the no-edit rows.
EDITS_OFF = dict(value_align=False, self_attn_replace=False, blend_ratio=0.0, background_start=1.0)


def preset(name: str = DEFAULT_PRESET) -> EditConfig:
    """A named configuration: "paper" follows the paper's steps exactly; "coloredit" is the default."""
    if name not in PRESETS:
        raise ColorEditError(f"unknown preset {name!r}; choose from {', '.join(PRESETS)}")
    return dataclasses.replace(PRESETS[name])


__all__ = ["PRESETS", "EditConfig", "preset"]
