"""coloredit: training-free image-guided color editing of one object with Stable Diffusion.

The pipeline (torch, diffusers) loads on first use, so `coloredit --help` and the light modules answer at once.
"""

from .config import PRESETS, EditConfig, preset
from .errors import ColorEditError

_LAZY = {
    "Inversion": "inversion",
    "ColorEditOutput": "pipeline",
    "ColorEditPipeline": "pipeline",
    "ObjectEdit": "outputs",
}

__all__ = [
    "PRESETS",
    "ColorEditError",
    "ColorEditOutput",
    "ColorEditPipeline",
    "EditConfig",
    "Inversion",
    "ObjectEdit",
    "preset",
]
__version__ = "0.1.0"


def __getattr__(name: str):
    if name in _LAZY:
        from importlib import import_module

        return getattr(import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
