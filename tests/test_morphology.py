"""The shift-based erosion, dilation and opening against scipy's own, on masks that touch the picture's border."""

import numpy as np
import pytest
from scipy import ndimage

from coloredit.morphology import dilated, eroded, opened


def masks() -> list[np.ndarray]:
    rng = np.random.default_rng(7)
    shapes = ((40, 60, 0.5), (33, 17, 0.8), (1, 9, 0.7), (9, 1, 0.7), (2, 2, 1.0))
    found = [rng.random((h, w)) < p for h, w, p in shapes]
    ys, xs = np.mgrid[:50, :70]
    disc = (ys - 20) ** 2 + (xs - 60) ** 2 < 15**2  # cut by the right border
    disc[5, :] = True  # a one-pixel whisker across the picture
    return [*found, disc, np.ones((6, 8), bool), np.zeros((6, 8), bool)]


@pytest.mark.parametrize("index", range(len(masks())))
def test_each_operation_is_scipys(index):
    mask = masks()[index]
    np.testing.assert_array_equal(eroded(mask), ndimage.binary_erosion(mask))
    np.testing.assert_array_equal(dilated(mask), ndimage.binary_dilation(mask))
    np.testing.assert_array_equal(opened(mask), ndimage.binary_opening(mask))


def test_opening_removes_a_whisker_and_keeps_the_body():
    mask = masks()[5]
    result = opened(mask)
    assert not result[5, :30].any()  # the whisker, away from the disc, is gone
    assert result[20, 55]  # the disc's inside stays
