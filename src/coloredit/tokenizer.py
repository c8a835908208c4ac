"""An offline CLIP tokenizer over a small vocabulary, for tiny models built without downloads.

Byte-level like CLIP's: every byte character (with and without the end-of-word mark) is a token, and
each listed word gets a chain of merges built from its end (`d</w>` -> `ed</w>` -> `red</w>`), so every
listed word is exactly one token and merges never compete.
"""

from __future__ import annotations

from collections.abc import Iterable

from transformers import CLIPTokenizer

START, END = "<|startoftext|>", "<|endoftext|>"


def _byte_characters() -> list[str]:
    """The 256 printable stand-ins for bytes that CLIP's (and GPT-2's) byte-level BPE uses."""
    printable = (
        list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    )
    characters, extra = [], 0
    for byte in range(256):
        if byte in printable:
            characters.append(chr(byte))
        else:
            characters.append(chr(256 + extra))
            extra += 1
    return characters


def build_tokenizer(words: Iterable[str], model_max_length: int = 77) -> CLIPTokenizer:
    """A CLIPTokenizer whose vocabulary is the byte characters plus `words` (lowercase ASCII) as single tokens."""
    characters = _byte_characters()
    vocab: dict[str, int] = {}
    for token in characters + [c + "</w>" for c in characters]:
        vocab.setdefault(token, len(vocab))
    merges: list[tuple[str, str]] = []
    for word in sorted({w.lower() for w in words if len(w) > 1}):
        suffix = word[-1] + "</w>"
        for char in reversed(word[:-1]):
            merge = (char, suffix)
            suffix = char + suffix
            if merge not in merges:
                merges.append(merge)
                vocab.setdefault(suffix, len(vocab))
    vocab[START], vocab[END] = len(vocab), len(vocab) + 1
    return CLIPTokenizer(vocab=vocab, merges=merges, model_max_length=model_max_length)
