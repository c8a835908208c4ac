"""Which pixels of a mask's band the object reaches, by a random walker (Grady 2006): where the object and its
surroundings share colors (a grey ball on a grey floor), nearness to either side's colors cannot tell, but the
edge between them still can.

A walker starting at a pixel of the band steps to a neighbour with a probability that falls with their color
difference (CIELAB), so it rarely crosses an edge; the pixel's share of object is the chance that it reaches
the object's sure interior before the background. Those chances solve one sparse linear system (the graph's
Laplacian on the band's pixels), which scikit-image's `random_walker` solves too (`tests/test_walker.py`).
"""

from __future__ import annotations

import numpy as np

WALK_CONTRAST = 2.5  # CIELAB ΔE at which a step's conductance falls to 1/e: an edge of a few ΔE stops the walk
CONDUCTANCE_FLOOR = 1e-6  # every step stays possible, so every band pixel reaches a seed
TOLERANCE = 1e-3  # relative residual of the conjugate gradients: the shares are compared to 1/2


def object_share(lab: np.ndarray, unknown: np.ndarray, objects: np.ndarray) -> np.ndarray:
    """Per pixel of `unknown` (in `np.nonzero` order), the chance that a random walk over the 4-connected grid
    of `lab` (H x W x 3 CIELAB) reaches a pixel of `objects` before one that is neither `objects` nor
    `unknown` (the background). `lab` need only be right at `unknown` and its neighbours."""
    index = np.full(unknown.shape, -1, dtype=np.int64)
    count = int(unknown.sum())
    index[unknown] = np.arange(count)
    pairs, conductances, diagonal, toward_object = [], [], np.zeros(count), np.zeros(count)
    for axis in (0, 1):  # each vertical, then horizontal neighbour pair once
        ahead = (slice(1, None), slice(None)) if axis == 0 else (slice(None), slice(1, None))
        behind = (slice(None, -1), slice(None)) if axis == 0 else (slice(None), slice(None, -1))
        touches = unknown[ahead] | unknown[behind]
        a, b = index[ahead][touches], index[behind][touches]
        step = lab[ahead][touches] - lab[behind][touches]
        conductance = np.exp(-(step**2).sum(axis=-1) / WALK_CONTRAST**2) + CONDUCTANCE_FLOOR
        is_object = (objects[ahead][touches], objects[behind][touches])
        for here, there, there_is_object in ((a, b, is_object[1]), (b, a, is_object[0])):
            known = here >= 0
            diagonal += np.bincount(here[known], conductance[known], minlength=count)
            seeded = known & (there < 0) & there_is_object
            toward_object += np.bincount(here[seeded], conductance[seeded], minlength=count)
        both = (a >= 0) & (b >= 0)
        pairs.append((a[both], b[both]))
        conductances.append(conductance[both])
    a, b = (np.concatenate(side) for side in zip(*pairs, strict=True))
    conductance = np.concatenate(conductances)

    def laplacian(x: np.ndarray) -> np.ndarray:  # the graph Laplacian on the unknowns, applied to x
        return diagonal * x - np.bincount(a, conductance * x[b], count) - np.bincount(b, conductance * x[a], count)

    return np.clip(_conjugate_gradients(laplacian, toward_object, diagonal), 0.0, 1.0)


def _conjugate_gradients(apply, rhs: np.ndarray, diagonal: np.ndarray, iterations: int = 2000) -> np.ndarray:
    """x with apply(x) = rhs for a symmetric positive definite operator, by conjugate gradients preconditioned
    with its `diagonal` (Jacobi), to a residual of TOLERANCE times the right-hand side's."""
    x = np.zeros_like(rhs)
    residual = rhs.copy()
    goal = TOLERANCE * np.linalg.norm(rhs)
    scaled = residual / diagonal
    direction, along = scaled.copy(), residual @ scaled
    for _ in range(iterations):
        if np.linalg.norm(residual) <= goal:
            break
        applied = apply(direction)
        length = along / (direction @ applied)
        x += length * direction
        residual -= length * applied
        scaled = residual / diagonal
        along, previous = residual @ scaled, along
        direction = scaled + (along / previous) * direction
    return x
