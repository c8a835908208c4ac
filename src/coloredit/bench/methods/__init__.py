"""The registry of benchmark methods: every method is a small module of its own."""

from __future__ import annotations

from ...errors import ColorEditError
from .coloredit_presets import DEFAULT, PAPER
from .free_prompt_editing import FREE_PROMPT_EDITING
from .instruction_editors import EDITOR_OPTIONS, editors
from .masactrl import MASACTRL
from .pixel import PIXEL_METHODS
from .prompt_to_prompt import PROMPT_TO_PROMPT
from .text_only import TEXT_ONLY

METHODS = {
    m.name: m for m in (DEFAULT, PAPER, TEXT_ONLY, PROMPT_TO_PROMPT, FREE_PROMPT_EDITING, MASACTRL, *PIXEL_METHODS)
}


def get_methods(names: list[str] | None = None, ip2p_model: str | None = None, **editor_models: str | None) -> list:
    """Methods by name (all registered ones when None); the instruction editors ("ip2p", "kontext",
    "qwen-edit") need their model (`ip2p_model`, `kontext_model`, `qwen_edit_model`)."""
    models = {"ip2p": ip2p_model, **{k.removesuffix("_model").replace("_", "-"): v for k, v in editor_models.items()}}
    available = {**METHODS, **editors(models)}
    if names is None:
        return list(available.values())
    unknown = [n for n in names if n not in available]
    if unknown:
        hints = [f"{n} needs {EDITOR_OPTIONS[n]}" for n in unknown if n in EDITOR_OPTIONS]
        hint = f" ({'; '.join(hints)})" if hints else ""
        raise ColorEditError(f"unknown method(s) {', '.join(unknown)}{hint}; choose from {', '.join(available)}")
    return [available[n] for n in names]


__all__ = ["METHODS", "get_methods"]
