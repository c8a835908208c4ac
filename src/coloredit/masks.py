"""Object masks without painting: from a phrase, a click or a box, and for references, found automatically.

Every source ends in a boolean mask of the image's size:
- `attention_mask`: the diffusion model's own cross-attention to the phrase while the image is inverted (no
  extra weights), refined to the object's edges by a color model of its confident inside and outside;
- `sam_mask`: SAM through transformers (`SamModel`) from points (and negative points) or a box;
- `grounded_mask`: Grounding DINO finds the phrase's box, SAM cuts it out;
- `salient_object`: a reference image given without a mask must not have its background averaged into its
  color: the object is what differs from the image's border, its largest connected part.
Heavy models load lazily, on first use, and are kept for the next call.
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from scipy import ndimage

from .colors import rgb_to_lab
from .config import DEFAULT_SAM
from .edges import edge_strength, filled, split_band
from .errors import ColorEditError
from .morphology import eroded, opened
from .validate import check_prompts

DEFAULT_DETECTOR = "IDEA-Research/grounding-dino-tiny"
HEAT_THRESHOLD = 0.35  # share of a generated object's strongest attention that counts as the object
PHRASE_THRESHOLD = 0.75  # the same for a phrase's object in a given image (`attention_mask`)
PHRASE_BELOW_TIMESTEP = 500  # its attention is read in the less noisy half of the inversion only
# `refine`: shares of the image's longer side inside and outside the thresholded attention that are surely the
# object and surely not; color clusters on each side (a two-tone object; a wall and a floor)
SURE_INSIDE, SURE_OUTSIDE = 0.03, 0.15
OBJECT_COLORS, BACKGROUND_COLORS = 2, 3

# `mask_confidence`: how strongly the image's own edges carry a found mask's outline. Tuned on 40 toy scenes
# (seeds 5000-5039, the first object's noun, the toy model's attention) and 11 scikit-image photos with toy
# nouns: masks within IoU 0.7 of the truth scored 0.44-0.90 (median 0.64, 1 of 30 under 0.5), the photos
# 0.39-0.60 (9 of 11 under). Held out (seeds 6000-6059, 10 other photos): 2 of 44 good masks under 0.5; 8 of
# 10 photos under, the two above a black horse silhouette on white and a flat logo (runs/exp/confidence.py).
CONFIDENT = 0.5

BORDER = 2  # pixels of the image's edge taken as background samples
DIFFERENT = 12.0  # CIELAB distance from every background sample above which a pixel is foreground


def salient_object(image: np.ndarray) -> np.ndarray:
    """The object of an H x W x 3 uint8 image: pixels far (CIELAB) from all the border's colors, opened,
    holes filled, the largest connected part; the whole image when nothing stands out."""
    lab = rgb_to_lab(np.asarray(image, dtype=np.float64) / 255.0)
    ring = np.zeros(lab.shape[:2], dtype=bool)
    ring[:BORDER], ring[-BORDER:], ring[:, :BORDER], ring[:, -BORDER:] = True, True, True, True
    samples = lab[ring][:: max(1, ring.sum() // 400)]
    flat = lab.reshape(-1, 3)
    nearest = np.full(len(flat), np.inf)
    for chunk in np.array_split(samples, max(1, len(samples) // 50)):
        nearest = np.minimum(nearest, np.linalg.norm(flat[:, None] - chunk[None], axis=-1).min(axis=1))
    foreground = opened(nearest.reshape(lab.shape[:2]) > DIFFERENT)
    parts, count = ndimage.label(foreground)
    if count == 0:
        return np.ones(lab.shape[:2], dtype=bool)
    largest = parts == 1 + int(np.argmax(np.bincount(parts.ravel())[1:]))
    return filled(largest)


def mask_confidence(image: np.ndarray, mask: np.ndarray) -> float:
    """0-1, how much a found mask looks like an object's outline in `image`: the edge strength along its
    outline over the image's 90th-percentile edge strength, s / (1 + s). An outline on the object's edge in a
    clean scene scores high; one cut through a textured photo's fur or table scores low. Any producer's mask
    (attention, SAM, a reference's salient object) is scored alike, by the pixels alone."""
    mask = np.asarray(mask, dtype=bool)
    if not mask.any() or mask.all():
        return 0.0
    edges = edge_strength(rgb_to_lab(np.asarray(image, dtype=np.float64)[..., :3] / 255.0)[..., 0])
    outline = mask & ~eroded(mask)
    support = float(edges[outline].mean() / (np.percentile(edges, 90) + 1e-6))
    return support / (1.0 + support)


def word_token_indices(tokenizer, prompt: str, word: str) -> list[int]:
    """Positions of `word`'s tokens in the tokenized prompt."""
    ids = tokenizer(prompt).input_ids
    word_ids = tokenizer(word, add_special_tokens=False).input_ids
    for start in range(len(ids) - len(word_ids) + 1):
        if ids[start : start + len(word_ids)] == word_ids:
            return list(range(start, start + len(word_ids)))
    raise ColorEditError(f"the word {word!r} is not in the prompt {prompt!r}")


def heat_from_maps(maps: dict[int, torch.Tensor], rows: int, latent_hw: tuple[int, int], size: tuple[int, int]):
    """Recorded attention sums (one per resolution) upsampled to `size` = (width, height), added, and
    min-max normalized per row: rows x H x W in [0, 1]."""
    h, w = latent_hw
    total = torch.zeros(rows, 1, size[1], size[0])
    for tokens, summed in maps.items():
        factor = math.isqrt(h * w // tokens)
        grid = summed.reshape(rows, 1, h // factor, w // factor)
        total += F.interpolate(grid, size=(size[1], size[0]), mode="bilinear", align_corners=False)
    low, high = total.amin(dim=(2, 3), keepdim=True), total.amax(dim=(2, 3), keepdim=True)
    return ((total - low) / (high - low).clamp_min(1e-8))[:, 0].cpu().numpy()


def refine(image: np.ndarray, heat: np.ndarray, threshold: float = HEAT_THRESHOLD) -> np.ndarray:
    """A heat map to the object's mask. Attention is coarse (a latent cell is 8 pixels of SD's), so it gives
    only what is surely the object (its largest part above `threshold`, shrunk) and surely not (beyond it,
    grown wide); each pixel between goes to whichever side has the nearer color cluster (a striped object's
    two colors, a wall and a floor). Then the largest part, its holes filled."""
    rough = _largest(heat > threshold)
    if not rough.any():
        return rough
    side = max(heat.shape)
    inside = ndimage.distance_transform_edt(rough) > max(1, round(SURE_INSIDE * side))
    outside = ndimage.distance_transform_edt(~rough) > max(2, round(SURE_OUTSIDE * side))
    if inside.sum() < 4 or outside.sum() < 4:
        return rough
    lab = rgb_to_lab(np.asarray(image, dtype=np.float64) / 255.0)
    mask = split_band(lab, inside, outside, ~inside & ~outside, (OBJECT_COLORS, BACKGROUND_COLORS))
    return filled(_largest(mask))


def _largest(mask: np.ndarray) -> np.ndarray:
    parts, count = ndimage.label(mask)
    if count == 0:
        return mask.astype(bool)
    return parts == 1 + int(np.argmax(np.bincount(parts.ravel())[1:]))


@torch.no_grad()
def attention_mask(pipe, image, phrase: str, steps: int = 20) -> np.ndarray:
    """The object `phrase` names ("ball", "red car"), from the cross-attention its words get (every
    cross-attention layer but the coarsest, in the less noisy half of the steps) while the image is
    DDIM-inverted with the prompt "a {phrase}"; at the image's size."""
    from .attention import BranchLayout, CrossAttentionRecorder, EditAttnProcessor, EditController, installed
    from .config import EditConfig
    from .images import load_image, working_size
    from .inversion import ddim_inversion

    if pipe.unet is None:
        name = pipe.family.name
        raise ColorEditError(f"a mask from a phrase reads a U-Net's cross-attention; {name} has none: give a mask")
    picture = load_image(image, "image")
    prompt = f"a {phrase.strip()}"
    tokens = word_token_indices(pipe.tokenizer, prompt, phrase.strip())
    work = working_size(*picture.size, pipe.native_size, pipe.size_multiple)
    schedule = pipe.family.schedule(pipe, steps)
    controller = EditController(EditConfig(), steps, schedule.num_train_timesteps, BranchLayout())
    recorder = CrossAttentionRecorder(controller, [0], [tokens], below_timestep=PHRASE_BELOW_TIMESTEP)
    processors = {
        name: EditAttnProcessor(controller, name, [recorder] if _read_cross(name) else [])
        for name in pipe.unet.attn_processors
    }

    def predict_noise(latents, timestep, embeddings, alpha):
        controller.set_step(0, timestep)
        return pipe.predict_noise(latents, timestep, embeddings, alpha)

    with installed(pipe.unet, processors):
        latents = pipe.encode_image(picture.resize(work, Image.Resampling.LANCZOS))
        ddim_inversion(predict_noise, latents, pipe.encode_text([prompt]), schedule, pipe.progress_bar)
    heat = heat_from_maps(recorder.maps, 1, tuple(latents.shape[-2:]), picture.size)[0]
    mask = refine(np.asarray(picture), heat, PHRASE_THRESHOLD)
    if not mask.any() or mask.all():
        raise ColorEditError(f"no object found for {phrase!r}")
    return mask


def _read_cross(name: str) -> bool:
    """Cross-attention layers, but the mid-block's: the coarsest grid blurs two objects into one."""
    return name.endswith("attn2.processor") and not name.startswith("mid_block")


@lru_cache(maxsize=2)
def _sam(model: str):
    from transformers import SamModel, SamProcessor

    try:
        return SamModel.from_pretrained(model).eval(), SamProcessor.from_pretrained(model)
    except (OSError, ValueError) as error:
        raise ColorEditError(f"cannot load SAM {model!r} (no such folder, or no network?): {error}") from None


@torch.no_grad()
def sam_mask(
    image,
    points: list[tuple[float, float]] | None = None,
    negative: list[tuple[float, float]] | None = None,
    box: tuple[float, float, float, float] | None = None,
    model: str = DEFAULT_SAM,
) -> np.ndarray:
    """SAM's best mask (by its own IoU estimate) for points (x, y) with negative points, and/or a box
    (x0, y0, x1, y1), in the image's pixels."""
    from .images import load_image

    picture = load_image(image, "image")
    check_prompts(picture.size, points or [], negative or [], box)
    sam, processor = _sam(model)
    kwargs = {}
    if points or negative:
        kwargs["input_points"] = [[[list(p) for p in [*(points or []), *(negative or [])]]]]
        kwargs["input_labels"] = [[[1] * len(points or []) + [0] * len(negative or [])]]
    if box is not None:
        kwargs["input_boxes"] = [[list(box)]]
    inputs = processor(images=picture, return_tensors="pt", **kwargs)
    out = sam(**inputs, multimask_output=True)
    masks = processor.image_processor.post_process_masks(
        out.pred_masks, inputs["original_sizes"], inputs["reshaped_input_sizes"]
    )[0][0]
    return masks[int(out.iou_scores[0, 0].argmax())].numpy().astype(bool)


@torch.no_grad()
def grounded_mask(image, phrase: str, detector: str = DEFAULT_DETECTOR, sam: str = DEFAULT_SAM) -> np.ndarray:
    """Grounding DINO's best box for the phrase, cut out by SAM."""
    from transformers import AutoProcessor, GroundingDinoForObjectDetection

    from .images import load_image

    picture = load_image(image, "image")
    try:
        processor = AutoProcessor.from_pretrained(detector)
        model = GroundingDinoForObjectDetection.from_pretrained(detector).eval()
    except (OSError, ValueError) as error:
        raise ColorEditError(
            f"cannot load the detector {detector!r} (no such folder, or no network?): {error}"
        ) from None
    inputs = processor(images=picture, text=f"{phrase.strip().lower()}.", return_tensors="pt")
    found = processor.post_process_grounded_object_detection(
        model(**inputs), inputs.input_ids, threshold=0.25, text_threshold=0.25, target_sizes=[picture.size[::-1]]
    )[0]
    if len(found["scores"]) == 0:
        raise ColorEditError(f"no object found for {phrase!r}")
    box = found["boxes"][int(found["scores"].argmax())].tolist()
    width, height = picture.size
    box = [max(0.0, box[0]), max(0.0, box[1]), min(float(width), box[2]), min(float(height), box[3])]
    return sam_mask(picture, box=tuple(box), model=sam)
