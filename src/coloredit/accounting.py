"""What an edit costs, per stage: U-Net forward calls, batch rows, and seconds.

Each edit counts in its own ledger, current for its thread (a context variable), and returns it: nothing of
one edit is left on the shared pipeline for another to overwrite.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar


class CostLedger:
    """Counts U-Net calls and rows, and wall time, under the stage that is current."""

    def __init__(self) -> None:
        self.stage = "edit"
        self.calls: Counter[str] = Counter()
        self.rows: Counter[str] = Counter()
        self.seconds: Counter[str] = Counter()

    def record_unet(self, rows: int) -> None:
        self.calls[self.stage] += 1
        self.rows[self.stage] += rows

    @contextmanager
    def stage_of(self, name: str):
        outer, self.stage = self.stage, name
        start = time.perf_counter()
        try:
            yield
        finally:
            self.seconds[name] += time.perf_counter() - start
            self.stage = outer

    def unet_summary(self) -> dict:
        """{"calls", "rows"} in total and "by_stage"."""
        stages = sorted(set(self.calls))
        return {
            "calls": sum(self.calls.values()),
            "rows": sum(self.rows.values()),
            "by_stage": {s: {"calls": self.calls[s], "rows": self.rows[s]} for s in stages},
        }

    def seconds_summary(self) -> dict[str, float]:
        return {stage: round(value, 4) for stage, value in self.seconds.items()}


_CURRENT: ContextVar[CostLedger | None] = ContextVar("coloredit_ledger", default=None)


@contextmanager
def counting() -> Iterator[CostLedger]:
    """A fresh ledger that the U-Net calls of this thread are counted in, for the block."""
    ledger = CostLedger()
    token = _CURRENT.set(ledger)
    try:
        yield ledger
    finally:
        _CURRENT.reset(token)


def current_ledger() -> CostLedger:
    """The ledger of the edit running in this thread; outside one, a ledger nobody reads."""
    return _CURRENT.get() or CostLedger()
