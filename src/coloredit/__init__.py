"""coloredit: training-free image-guided color editing of one object with Stable Diffusion."""

from .config import PRESETS, EditConfig, preset
from .errors import ColorEditError
from .inversion import Inversion
from .pipeline import ColorEditOutput, ColorEditPipeline, ObjectEdit

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
