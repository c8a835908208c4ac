"""The toy world every quality number is measured in: a renderer that also draws the oracle of any edit,
the 64-px Stable Diffusion trained on it, and their scoring (`python -m coloredit.toy`)."""

from .render import Scene, SceneSpec, draw, recolor, render, sample_scene

__all__ = ["Scene", "SceneSpec", "draw", "recolor", "render", "sample_scene"]
