"""The registry of benchmark methods: every method is a small module of its own."""

from __future__ import annotations

from ...errors import ColorEditError
from .coloredit_presets import DEFAULT, PAPER
from .free_prompt_editing import FREE_PROMPT_EDITING
from .instruct_pix2pix import InstructPix2Pix
from .masactrl import MASACTRL
from .pixel import PIXEL_METHODS
from .prompt_to_prompt import PROMPT_TO_PROMPT
from .text_only import TEXT_ONLY

METHODS = {
    m.name: m for m in (DEFAULT, PAPER, TEXT_ONLY, PROMPT_TO_PROMPT, FREE_PROMPT_EDITING, MASACTRL, *PIXEL_METHODS)
}


def get_methods(names: list[str] | None = None, ip2p_model: str | None = None) -> list:
    """Methods by name (all registered ones when None); "ip2p" needs its model."""
    available = dict(METHODS)
    if ip2p_model:
        available["ip2p"] = InstructPix2Pix(ip2p_model)
    if names is None:
        return list(available.values())
    unknown = [n for n in names if n not in available]
    if unknown:
        hint = " (ip2p needs --ip2p-model)" if "ip2p" in unknown else ""
        raise ColorEditError(f"unknown method(s) {', '.join(unknown)}{hint}; choose from {', '.join(available)}")
    return [available[n] for n in names]


__all__ = ["METHODS", "get_methods"]
