"""The random walker's object shares against scikit-image's `random_walker` (an independent solver of the same
system), and what it is for: a grey object on a grey floor, told apart by the edge between them alone."""

import numpy as np
from skimage.segmentation import random_walker

from coloredit.walker import WALK_CONTRAST, object_share


def disc_scene(seed: int = 0):
    rng = np.random.default_rng(seed)
    ys, xs = np.mgrid[:60, :80]
    radius = np.hypot(ys - 30, xs - 40)
    lab = np.where((radius < 18)[..., None], [50.0, 4, 4], [56.0, 0, 0]) + rng.normal(0, 1.0, (60, 80, 3))
    return lab, radius


def test_the_shares_are_scikit_images_random_walker():
    lab, radius = disc_scene()
    sure, unknown = radius < 12, (radius < 24) & (radius >= 12)
    labels = np.where(sure, 1, np.where(unknown, 0, 2))
    beta = 10 * lab.std() * np.sqrt(3) / WALK_CONTRAST**2  # its conductance exp(-beta ΔE² / (10 std √3)), ours
    theirs = random_walker(lab, labels, beta=beta, mode="cg", tol=1e-6, channel_axis=-1, return_full_prob=True)
    np.testing.assert_allclose(object_share(lab, unknown, sure), theirs[0][unknown], atol=0.01)


def test_a_shaded_grey_object_on_a_grey_floor_is_found_to_its_edge():
    """A grey ball darkening toward its rim to below the floor's lightness: its rim's colors are nearer the
    floor's than its lit interior's, so nearness to either side's colors misses the rim; the walker does not."""
    rng = np.random.default_rng(1)
    ys, xs = np.mgrid[:60, :80]
    radius = np.hypot(ys - 30, xs - 40)
    ball = (radius < 18)[..., None]
    lightness = np.where(ball[..., 0], 50 - 20 * (radius / 18) ** 2, 36.0)
    lab = np.stack([lightness, np.zeros_like(lightness), np.zeros_like(lightness)], -1)
    lab += rng.normal(0, 0.5, lab.shape)
    sure, unknown = radius < 10, (radius < 24) & (radius >= 10)
    truth = radius[unknown] < 18
    found = object_share(lab, unknown, sure) > 0.5
    interior, floor = lab[sure][:, 0].min(), 36.0  # the nearer of the two sides' lightness decides, otherwise
    by_nearness = np.abs(lab[unknown][:, 0] - interior) < np.abs(lab[unknown][:, 0] - floor)
    assert (by_nearness == truth).mean() < 0.9  # the rim goes to the floor
    assert (found == truth).mean() > 0.98
