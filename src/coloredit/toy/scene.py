"""The toy world's scenes as data: what `render.py` samples from a seed and draws, and what an edit, its oracle
and the benchmark read (objects, their base colors, the room, the style, the masks).

Why a module: the description is read everywhere, the drawing only by the renderer.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..colors import BASIC_COLORS, name_color

SHAPES = ("ball", "square", "triangle", "star", "ring", "cube", "cylinder", "cone", "heart", "cup")
COLORS = tuple(BASIC_COLORS)
PATTERNS = ("stripes", "band", "spot")
STYLES = ("v2", "toon")
SUPERSAMPLE = 4
SIZE = 64
# What this renderer's edits are told, for it is known exactly: its light (a white key of level 1: the lit
# color is the base color) and its masks. The light estimated from pixels (`light.py`) and masks refined to
# the edge (`edges.py`) are judged on the physically based world and on perturbed masks instead.
KNOWN = {"scene_light": "none", "mask_refine": "off"}

RGB = tuple[int, int, int]


@dataclass(frozen=True)
class ObjectSpec:
    shape: str
    color: RGB  # base color (albedo) in sRGB 0-255: what a lit, non-highlight surface shows
    cx: float
    cy: float
    radius: float  # half the object's extent, as a fraction of the side
    angle: float
    glossy: bool = False
    pattern: str | None = None  # a second color: "stripes", "band" or "spot" (a logo-like patch)
    pattern_color: RGB = (255, 255, 255)
    pattern_angle: float = 0.0

    def caption(self, with_color: bool = True, with_material: bool = True) -> str:
        """ "a shiny dark red cup with white stripes": the color names its base color, a second color is
        always named with it (so "a red cup" means a cup that is red all over), the material optionally."""
        words = ["a"]
        if with_material and self.glossy:
            words.append("shiny")
        if with_color:
            words.append(name_color(self.color))
        words.append(self.shape)
        if with_color and self.pattern:
            words += ["with", name_color(self.pattern_color), self.pattern]
        return " ".join(words)


@dataclass(frozen=True)
class SceneSpec:
    objects: tuple[ObjectSpec, ...]
    style: str = "v2"
    size: int = SIZE
    wall: RGB = (200, 200, 200)
    floor: RGB = (150, 150, 150)
    horizon: float = 0.65  # 1.0: no floor
    texture: str = "plain"  # plain, noise, tiles, wood
    light: tuple[float, float] = (-0.5, -0.6)
    noise: float = 0.01  # sensor noise sigma
    crush: float = 0.0  # shadows below this are crushed to black, as 8-bit photos do
    jpeg: int = 0  # JPEG quality, 0 for none
    seed: int = 0  # the texture's and the noise's seed: the same in an oracle render

    @property
    def caption(self) -> str:
        return self.captions()[0]

    def captions(self, max_words: int = 30) -> tuple[str, str, str]:
        """(full, plain, colorless) captions, objects left to right; plain leaves the material out, and so
        does full where it would pass `max_words`."""
        objects = sorted(self.objects, key=lambda o: o.cx)
        full, plain, colorless = (
            " and ".join(o.caption(with_color=color, with_material=material) for o in objects)
            for color, material in ((True, True), (True, False), (False, False))
        )
        return (full if len(full.split()) <= max_words else plain), plain, colorless


@dataclass
class Scene:
    image: np.ndarray  # H x W x 3 uint8
    masks: list[np.ndarray]  # per object, H x W bool: pixels more than half covered by its visible part
    spec: SceneSpec
    pattern_masks: list[np.ndarray] = field(default_factory=list)  # per object: its second-color pixels

    @property
    def mask(self) -> np.ndarray:
        """The first object's mask: the object an edit targets."""
        return self.masks[0]

    @property
    def caption(self) -> str:
        return self.spec.caption

    @property
    def shape(self) -> str:
        return self.spec.objects[0].shape

    @property
    def color(self) -> str:
        """The first object's color term."""
        return name_color(self.spec.objects[0].color)
