"""Metric plumbing in the torchmetrics style: `update(...)` per sample, `compute()` at the end, the
math in plain functions. NaN (e.g. an empty mask) is counted, never averaged in."""

from __future__ import annotations

import math

import numpy as np


class MeanMetric:
    """The mean of a per-sample value over the samples where it is defined."""

    name = "metric"
    higher_is_better = True

    def __init__(self) -> None:
        self.values: list[float] = []

    def value(self, **sample) -> float:
        raise NotImplementedError

    def update(self, **sample) -> float:
        value = float(self.value(**sample))
        self.values.append(value)
        return value

    def compute(self) -> dict[str, float]:
        finite = [v for v in self.values if math.isfinite(v)]
        return {
            "mean": float(np.mean(finite)) if finite else float("nan"),
            "n": len(finite),
            "nan": len(self.values) - len(finite),
        }
