"""Masks as people make them, moved to the object's true edge before an edit: a brush spills onto the floor
or stops short, SAM and text masks are a pixel or three off, and the old color survives along the outline.

The given mask says roughly where the object is; its pixels say where its edge is. Within a band of
`EDGE_SHARE` of the image's longer side (at least `EDGE_BAND` pixels: a brush's spill grows with the picture)
either side of the given outline each pixel goes to the object or to the background by which color model it
is nearer (k-means clusters in CIELAB of the mask's sure interior, and of the surroundings a little past the
band, where a mask that stopped short of the edge leaves none of the object); where neither model is clearly
nearer, the given mask decides, grown onto the pixels a random walk reaches the object from (`walker.py`: the
edge between a grey object and a grey floor stops the walk where their colors cannot tell); what is kept is
connected to the sure interior, from which the surroundings in shadow (a floor darkened under the object, its hue kept)
are taken out first. A refinement that moves more than `MAX_CHANGE` of the object's area (more than
`MAX_CHANGE_ON_EDGES[0]` where its outline lies on edges `MAX_CHANGE_ON_EDGES[1]` times stronger: a brush
that spilled all round, a mask that stopped short all round), or whose outline does not lie on stronger
edges of the image than the given one's (a mask with no visible edge to find), is not trusted and the mask
stays as given.
Either way the outline then grows onto the pixels just past it that are mostly object (`with_mixed_edge`):
edge pixels mix object and background, so the color models leave them out. The edit's outline unmixing
(`outline.py`) then gives the pixels on the final edge their share of the object. A photo's box (over
`REFINE_PIXELS`) is refined at a working size, then only its full-size pixels along that outline are decided,
by the same color models.
"""

from __future__ import annotations

import numpy as np
from PIL import Image
from scipy import ndimage

from .colors import LabOf, LinearOf, lightness
from .exact import object_box
from .morphology import blocks, dilated, eroded, opened
from .outline import Outline
from .walker import object_share

EDGE_BAND = 5  # px, at least, either side of the given outline where the edge is looked for
EDGE_SHARE = 0.04  # of the longer side: the 5 px tuned at 128 px (COLORBENCH-PBR), at any size
RING = 3  # the background model: pixels up to this many bands past the mask ...
RING_GAP = 0.6  # ... and begins this share of a band past it: a mask short of the edge leaves object pixels there
CLUSTERS = 6  # colors per model: a shaded object and a textured floor have several
SURE = 3.0  # CIELAB: a pixel this much nearer one side's colors than the other's moves; else the mask decides
FLOOR_MARGIN = 10.0  # CIELAB: inside the band's reach, a pixel this much nearer the surroundings is not object
# ... and no pixel of the sure interior is the surroundings in shadow: SHADOW_DARKER (CIELAB L*) darker than one
# of their colors and SHADOW_MARGIN nearer it than the object's colors in chromaticity (a*, b*) alone (a shadow
# darkens a floor, keeping its hue; a chromatic object's own shaded side keeps the object's)
SHADOW_DARKER, SHADOW_MARGIN = 5.0, 15.0
EDGE_GAIN = 1.0  # the refined outline must lie on edges this much stronger than the given one's, or is not taken
MAX_CHANGE = 0.35  # a larger change of the object's area means the models failed: keep the given mask ...
MAX_CHANGE_ON_EDGES = (1.0, 1.5)  # ... unless it is at most the first and its outline on edges the second x stronger
# (a mask a band short of a small object's edge is half its area)
WALK_BAND = 8  # px: a wider band is walked on blocks of the image (`reached`)
MIN_INTERIOR = 25  # px: a smaller sure interior has no color model to trust
MIXED_STEPS = 2  # px: the outline grows this far at most onto pixels that are mostly object (`with_mixed_edge`)
MOSTLY_OBJECT = 0.5  # a pixel of the outline is object when its share of object is at least this
MIXED_REACH = MIXED_STEPS + 10  # px past the mask that growing it reads: the outline's window and local means
REFINE_PIXELS = 1 << 20  # a larger box is refined at a working size, then its outline at full resolution


SAMPLES = 4096  # pixels a color model is fitted on, evenly spaced


def evenly(where: np.ndarray, count: int = SAMPLES) -> tuple[np.ndarray, ...]:
    """The indices of at most `count` of the pixels `where`, evenly spaced in reading order."""
    found = np.nonzero(where)
    return tuple(axis[np.linspace(0, len(found[0]) - 1, min(len(found[0]), count)).astype(int)] for axis in found)


def color_clusters(samples: np.ndarray, count: int, iterations: int = 10) -> np.ndarray:
    """k-means centers of `samples` (N x 3 CIELAB), deterministic: at most SAMPLES evenly spaced samples, the
    first center their mean's nearest, each next the farthest from those chosen."""
    samples = samples[np.linspace(0, len(samples) - 1, min(len(samples), SAMPLES)).astype(int)]
    centers = [samples[np.argmin(np.linalg.norm(samples - samples.mean(axis=0), axis=1))]]
    while len(centers) < min(count, len(samples)):
        centers.append(samples[np.argmax(distance_to_nearest(samples, np.array(centers)))])
    centers = np.array(centers)
    for _ in range(iterations):
        nearest = np.argmin(np.linalg.norm(samples[:, None] - centers[None], axis=-1), axis=1)
        centers = np.array(
            [samples[nearest == i].mean(axis=0) if (nearest == i).any() else c for i, c in enumerate(centers)]
        )
    return centers


def distance_to_nearest(points: np.ndarray, centers: np.ndarray) -> np.ndarray:
    return np.min([np.linalg.norm(points - center, axis=-1) for center in centers], axis=0)


def split_band(
    lab: np.ndarray,
    inside: np.ndarray,
    outside: np.ndarray,
    band: np.ndarray,
    clusters: tuple[int, int],
    prior: np.ndarray | None = None,
    margin: float = 0.0,
) -> np.ndarray:
    """`inside`, and the pixels of `band` nearer the color model (k-means clusters in CIELAB, `clusters`
    of each side) of `inside` than of `outside`; where the two are within `margin` of each other, the
    `prior` mask decides (when given). `lab` is the image's CIELAB, or a `LabOf` it that converts only the
    pixels read."""
    sides = zip((inside, outside), clusters, strict=True)
    models = [color_clusters(lab[evenly(where)], count) for where, count in sides]
    to_object, to_background = (distance_to_nearest(lab[band], centers) for centers in models)
    nearer = to_object < to_background
    if prior is not None:
        nearer = np.where(np.abs(to_object - to_background) < margin, prior[band], nearer)
    mask = inside.copy()
    mask[band] = nearer
    return mask


def sure_interior(lab: LabOf, mask: np.ndarray, inner: np.ndarray, ring: np.ndarray, band: int) -> np.ndarray:
    """The pixels that stay object whatever their color: `inner` (the mask shrunk by the band), less the floor
    a brush wider than the band leaves in it: pixels outside the core (the mask shrunk by twice the band)
    nearer the surroundings' colors than the core's by FLOOR_MARGIN, and any that are the surroundings in
    shadow (`in_shadow`). Where the core is too small, `inner`."""
    core = shrunk(mask, 2 * band)
    inside = np.nonzero(inner)
    outer = ~core[inside]  # the inner pixels outside the core
    if core.sum() < MIN_INTERIOR or not outer.any():
        return inner
    samples, colors = lab[evenly(core)], lab[inside]
    models = [color_clusters(samples, CLUSTERS), color_clusters(lab[evenly(ring)], CLUSTERS)]
    to_object, to_background = (distance_to_nearest(colors[outer], centers) for centers in models)
    keep = ~in_shadow(colors, major_colors(samples, models[0]), models[1])
    keep[outer] &= to_background + FLOOR_MARGIN >= to_object
    cleaned = np.zeros_like(inner)
    cleaned[inside] = keep
    return cleaned if cleaned.sum() >= MIN_INTERIOR else inner


def major_colors(samples: np.ndarray, centers: np.ndarray, share: float = 0.1) -> np.ndarray:
    """The `centers` nearest at least `share` of the `samples`: an object's own colors, not a few pixels of
    floor a brush left deep inside its mask."""
    nearest = np.argmin(np.linalg.norm(samples[:, None] - centers[None], axis=-1), axis=1)
    counts = np.bincount(nearest, minlength=len(centers))
    return centers[counts >= share * len(samples)]


def in_shadow(pixels: np.ndarray, object_colors: np.ndarray, surroundings: np.ndarray) -> np.ndarray:
    """Which CIELAB `pixels` are the surroundings in shadow: SHADOW_DARKER darker than one of their colors and
    SHADOW_MARGIN nearer it than the object's colors in chromaticity alone."""
    darker = pixels[:, None, 0] <= surroundings[None, :, 0] - SHADOW_DARKER
    chroma_to = np.linalg.norm(pixels[:, None, 1:] - surroundings[None, :, 1:], axis=-1)
    to_surroundings = np.where(darker, chroma_to, np.inf).min(axis=1)
    to_object = np.linalg.norm(pixels[:, None, 1:] - object_colors[None, :, 1:], axis=-1).min(axis=1)
    return to_surroundings + SHADOW_MARGIN < to_object


def edge_band(shape: tuple[int, ...]) -> int:
    """Pixels either side of a mask's outline where `refine_mask` looks for the edge, for an image's shape."""
    return max(EDGE_BAND, round(EDGE_SHARE * max(shape[:2])))


def refine_mask(image: np.ndarray, mask: np.ndarray, band: int | None = None) -> np.ndarray:
    """The mask with its outline moved to the object's edge in `image` (H x W x 3 uint8), within `band` px
    (default `edge_band`). Only the object's box and the band's reach around it are read."""
    mask = np.asarray(mask, dtype=bool)
    band = edge_band(mask.shape) if band is None else band
    if not mask.any():
        return mask
    ys, xs = np.nonzero(mask)
    reach = (RING + 1) * band + 2
    box = (
        slice(max(0, ys.min() - reach), ys.max() + 1 + reach),
        slice(max(0, xs.min() - reach), xs.max() + 1 + reach),
    )
    out = mask.copy()
    out[box] = _refine_box(np.asarray(image)[box], mask[box], band)
    return out


def _refine_box(image: np.ndarray, mask: np.ndarray, band: int) -> np.ndarray:
    image = np.asarray(image, dtype=np.uint8)
    step = int(np.ceil(np.sqrt(mask.size / REFINE_PIXELS)))
    moved = _moved_outline(image, mask, band) if step == 1 else _coarse_to_fine(image, mask, band, step)
    if moved is None:  # no interior or surroundings to model the colors of
        return mask
    if moved.sum() < mask.sum():  # the given mask was too large: its edge pixels are not what it misses
        return moved
    near = object_box(moved, MIXED_REACH)  # all the growth reads: not the band's wide reach around the object
    grown = moved.copy()
    grown[near] = with_mixed_edge(LinearOf(image[near]), moved[near], widened(mask, band)[near])
    return grown


def _moved_outline(image: np.ndarray, mask: np.ndarray, band: int) -> np.ndarray | None:
    """The mask with its outline on the edge the color models find; the mask itself where that is not trusted
    (a large change, or weaker edges); None where there are no models to fit."""
    inner = shrunk(mask, band)
    grown = widened(mask, band)
    ring = widened(mask, RING * band) & ~widened(mask, band + round(RING_GAP * band))
    if inner.sum() < MIN_INTERIOR or ring.sum() < MIN_INTERIOR:
        return None
    lab = LabOf(image)
    sure = sure_interior(lab, mask, inner, ring, band)
    undecided = grown & ~inner
    # where the color models are not sure, the given mask decides, grown where the object's edge lies beyond it
    prior = mask | reached(image, undecided, sure, band)
    refined = split_band(lab, sure, ring, undecided, (CLUSTERS, CLUSTERS), prior=prior, margin=SURE)
    refined = opened(refined) | sure  # no one-pixel whiskers
    labels, _ = ndimage.label(refined)
    refined = np.isin(labels, np.unique(labels[sure]))  # connected to the sure interior
    refined = filled(refined) & grown if not _has_holes(mask) else refined
    # a larger change means the models failed, unless the new outline lies on far stronger edges (a brush that
    # spilled all round); an outline on weaker edges, that they found no edge: keep the mask
    change, gain = abs(int(refined.sum()) - int(mask.sum())) / mask.sum(), _edge_gain(image, refined, mask)
    limit = MAX_CHANGE_ON_EDGES[0] if gain >= MAX_CHANGE_ON_EDGES[1] else MAX_CHANGE
    return refined if change <= limit and gain >= EDGE_GAIN else mask


def reached(image: np.ndarray, band: np.ndarray, sure: np.ndarray, width: int) -> np.ndarray:
    """The pixels of `band` (`width` px either side of an outline in the 8-bit sRGB `image`) that a random walk
    from them more likely ends in the `sure` interior than outside the band (`walker.object_share`): those the
    object reaches with no edge in between. A band wider than WALK_BAND is walked on blocks of the image (the
    walk's cost grows with the band's area, its answer only sets where the color models are unsure)."""
    step = -(-width // WALK_BAND)
    if step > 1:
        height, full_width = band.shape
        inside, small = blocks(sure, step, np.all), np.asarray(Image.fromarray(image).reduce(step))
        found = reached(small, blocks(band, step, np.any) & ~inside, inside, 1)
        return np.repeat(np.repeat(found, step, axis=0), step, axis=1)[:height, :full_width] & band
    lab, near = LabOf(image), dilated(band)
    values = np.zeros((*band.shape, 3))
    values[near] = lab[near]
    found = np.zeros_like(band)
    found[band] = object_share(values, band, sure) > 0.5
    return found


def _coarse_to_fine(image: np.ndarray, mask: np.ndarray, band: int, step: int) -> np.ndarray | None:
    """`_moved_outline` of a large box: found on the box reduced `step` times (area means), then, on the
    full-resolution pixels of its blocks along that outline, each decided by the nearer color model: the
    object inside it, the surroundings just past it."""
    height, width = mask.shape
    small = np.asarray(Image.fromarray(image).reduce(step))
    small_mask = np.asarray(Image.fromarray(mask.astype(np.uint8) * 255).reduce(step)) >= 128
    moved = _moved_outline(small, small_mask, max(EDGE_BAND, round(band / step)))
    if moved is None:
        return None
    if moved is small_mask:  # not trusted at the working size: the mask as given
        return mask

    def at_full_size(blocks: np.ndarray) -> np.ndarray:
        return np.repeat(np.repeat(blocks, step, axis=0), step, axis=1)[:height, :width]

    coarse = at_full_size(moved)
    inside, reach = at_full_size(shrunk(moved, 1)), widened(moved, 1)
    surroundings = at_full_size(widened(moved, 3) & ~reach)
    reach = at_full_size(reach)
    if inside.sum() < MIN_INTERIOR or surroundings.sum() < MIN_INTERIOR:
        return coarse
    fine = split_band(LabOf(image), inside, surroundings, reach & ~inside, (CLUSTERS, CLUSTERS), coarse, SURE)
    fine = opened(fine) | inside
    labels, _ = ndimage.label(fine)
    fine = np.isin(labels, np.unique(labels[inside]))
    return filled(fine) if not _has_holes(small_mask) else fine


def with_mixed_edge(linear: LinearOf, mask: np.ndarray, allowed: np.ndarray) -> np.ndarray:
    """The mask grown, one pixel at a time up to `MIXED_STEPS`, onto the pixels just outside it (and within
    `allowed`) that are mostly object: an object's edge pixels mix it with the background, so the color models
    leave them out, yet a mask takes a pixel at least half covered. Their share of object is the outline
    unmixing's (`outline.Outline`): a nearby inner pixel mixed with the local background that explains them;
    a pixel nothing explains (a shadow, another object) stays out."""
    for _ in range(MIXED_STEPS):
        outline = Outline(linear, mask)
        ys, xs = np.nonzero(outline.band)
        joins = ~mask[ys, xs] & allowed[ys, xs] & (np.nan_to_num(outline.shares()) >= MOSTLY_OBJECT)
        if not joins.any():
            break
        mask = mask.copy()
        mask[ys[joins], xs[joins]] = True
    return mask


def shrunk(mask: np.ndarray, steps: int) -> np.ndarray:
    """`binary_erosion(mask, iterations=steps)` (4-connected, the image's outside as background), in one
    distance transform instead of `steps` passes, over the mask's box only (its distances are int32: a
    photo's crop-sized one would be four times the mask)."""
    out = np.zeros_like(mask, dtype=bool)
    if mask.any():
        box = object_box(mask, 1)  # a ring of background around the mask, or the image's border
        out[box] = (ndimage.distance_transform_cdt(np.pad(mask[box], 1), metric="taxicab") > steps)[1:-1, 1:-1]
    return out


def widened(mask: np.ndarray, steps: int) -> np.ndarray:
    """`binary_dilation(mask, iterations=steps)` (4-connected), in one distance transform over the mask's box
    grown by `steps` (nothing past it is that near; a taxicab path between two pixels of a box stays in it)."""
    out = np.zeros_like(mask, dtype=bool)
    if mask.any():
        box = object_box(mask, steps)
        out[box] = ndimage.distance_transform_cdt(~mask[box], metric="taxicab") <= steps
    return out


def edge_strength(lightness: np.ndarray) -> np.ndarray:
    return np.hypot(ndimage.sobel(lightness, axis=0), ndimage.sobel(lightness, axis=1))


def _edge_gain(image: np.ndarray, refined: np.ndarray, given: np.ndarray) -> float:
    """How many times stronger the image's edges are along the refined outline than along the given one."""
    edges = edge_strength(lightness(image))
    return _along_outline(edges, refined) / max(_along_outline(edges, given), 1e-6)


def _along_outline(edges: np.ndarray, mask: np.ndarray) -> float:
    """The mean edge strength on the mask's outline (its pixels next to the background)."""
    outline = mask & ~eroded(mask)
    return float(edges[outline].mean()) if outline.any() else 0.0


def _has_holes(mask: np.ndarray) -> bool:
    """A ring or a mug's handle: the given mask has holes, which filling would close."""
    return bool((filled(mask) & ~mask).any())


def filled(mask: np.ndarray) -> np.ndarray:
    """`ndimage.binary_fill_holes(mask)`: the parts of the background that do not reach the picture's border
    join the mask, found by one labelling (fill_holes' repeated dilations take a second on a photo)."""
    labels, count = ndimage.label(~mask)
    reaches_border = np.zeros(count + 1, dtype=bool)
    reaches_border[np.concatenate([labels[0], labels[-1], labels[:, 0], labels[:, -1]])] = True
    return mask | ~reaches_border[labels]
