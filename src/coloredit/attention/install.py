"""Attention processors put on a U-Net for one job and always taken off again, one job at a time per U-Net.

Why: the edit, phrase masks and the benchmark's generator each swap a U-Net's processors; an exception must
not leave them on, and two edits on one shared U-Net (the app's users, a script's threads) must not run through
each other's processors. `installed` holds the U-Net's lock while its processors are on; an edit holds the
same lock (`unet_lock`, re-entrant) for its whole run, inversions included: it is the only serialization.
"""

from __future__ import annotations

import functools
import threading
import weakref
from collections.abc import Iterator, Mapping
from contextlib import contextmanager

from ..accounting import counting

_LOCKS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_GUARD = threading.Lock()


def unet_lock(unet) -> threading.RLock:
    """The lock of this U-Net: whoever holds it runs the U-Net alone."""
    with _GUARD:
        if unet not in _LOCKS:
            _LOCKS[unet] = threading.RLock()
        return _LOCKS[unet]


@contextmanager
def installed(unet, processors: Mapping[str, object]) -> Iterator[None]:
    """`processors` (by layer name; the layers not named keep theirs) on `unet` for the block, then the
    previous ones back, the U-Net's lock held throughout."""
    with unet_lock(unet):
        previous = dict(unet.attn_processors)
        unet.set_attn_processor({**previous, **processors})
        try:
            yield
        finally:
            unet.set_attn_processor(previous)


def one_edit_at_a_time(method):
    """Hold the U-Net's lock for the whole edit (inversions, attention processors, denoising) and count its
    cost in its own ledger: edits from several threads on one pipeline wait for each other, each correct."""

    @functools.wraps(method)
    def edit(self, *args, **kwargs):
        with unet_lock(self.denoiser), counting():
            return method(self, *args, **kwargs)

    return edit
