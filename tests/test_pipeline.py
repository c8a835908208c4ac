import numpy as np
import pytest
import torch
from conftest import INTERVENTIONS_OFF
from diffusers import StableDiffusionPipeline
from diffusers.models.attention_processor import AttnProcessor2_0
from PIL import Image

from coloredit import ObjectEdit, exact, preset
from coloredit.colors import hue_distance, prompt_color, rgb_to_lab
from coloredit.images import feather_radius, feather_weights, load_mask

SQUARE_MASK = np.zeros((64, 64), bool)
SQUARE_MASK[16:48, 20:44] = True


def test_interventions_off_target_is_diffusers_generation(pipe, components):
    config = preset("paper").replace(num_inference_steps=10, **INTERVENTIONS_OFF)
    out = pipe("a red car", SQUARE_MASK, color="blue", seed=3, config=config)

    sd = StableDiffusionPipeline(
        **components, safety_checker=None, feature_extractor=None, requires_safety_checker=False
    )
    sd.set_progress_bar_config(disable=True)
    expected = sd(
        "a red car",
        num_inference_steps=10,
        guidance_scale=7.5,
        generator=torch.Generator().manual_seed(3),
        output_type="latent",
    ).images
    assert (out.latents["target"] - expected).abs().max().item() <= 1e-5
    with torch.no_grad():
        decode = lambda z: sd.vae.decode(z / sd.vae.config.scaling_factor).sample  # noqa: E731
        assert (decode(out.latents["target"]) - decode(expected)).abs().max().item() <= 1e-5
    # one batched call per step: reference | source | target, twice for CFG
    assert out.unet["calls"] == 10 and out.unet["rows"] == 60
    assert all(isinstance(p, AttnProcessor2_0) for p in pipe.unet.attn_processors.values())


def test_real_image_edit_keeps_background_bytes(pipe, photo, fast_config):
    image_path, mask_path = photo
    out = pipe("a red car", mask_path, image=image_path, color="#2040ff", config=fast_config)
    original = np.asarray(Image.open(image_path).convert("RGB"))
    edited = np.asarray(out.image)
    assert edited.shape == original.shape
    mask = out.mask  # the mask the edit used: the given one with its outline moved to the edge (edges.py)
    given = load_mask(mask_path, (128, 96))
    assert out.mask_change == mask.sum() / given.sum() - 1
    outside = feather_weights(mask, feather_radius(fast_config.feather, (128, 96))) == 0
    assert outside.sum() > 0.5 * outside.size
    assert np.array_equal(edited[outside], original[outside])
    assert np.abs(edited[mask].astype(int) - original[mask]).mean() > 1.0  # the object itself was re-rendered
    assert set(out.unet["by_stage"]) == {"inversion", "edit"}


def test_generated_source_background_is_the_source(pipe, fast_config):
    out = pipe("a red car", SQUARE_MASK, color="green", seed=1, config=fast_config)
    outside = feather_weights(SQUARE_MASK, feather_radius(fast_config.feather, (64, 64))) == 0
    assert np.array_equal(np.asarray(out.image)[outside], np.asarray(out.source_image)[outside])
    assert out.reference_prompt == "a green car"


def test_generated_source_takes_the_exact_color_under_its_own_light(pipe):
    """The default (exact color on) on a generated source, which has no original: its scene light is read from
    the decoded source; the background is the source's, and the pixels of the object's main color take the
    hex's hue (CIELAB). A random model's square is many colors: the others are second colors, kept."""
    config = preset().replace(engine="diffusion", num_inference_steps=4)
    out = pipe("a red car", SQUARE_MASK, color="#2050c0", seed=1, config=config)
    source, edited = (np.asarray(image) for image in (out.source_image, out.image))
    outside = feather_weights(SQUARE_MASK, feather_radius(config.feather, (64, 64))) == 0
    assert np.array_equal(edited[outside], source[outside])
    main = np.zeros(SQUARE_MASK.shape, dtype=bool)
    main[SQUARE_MASK] = exact.decompose(source, SQUARE_MASK, prompt_color("a red car")).fit > 0.5

    def hue(pixels: np.ndarray) -> float:  # of the pixels' mean a*b*
        a, b = rgb_to_lab(pixels / 255.0).reshape(-1, 3)[:, 1:].mean(axis=0)
        return float(np.degrees(np.arctan2(b, a)))

    target = hue(np.array([32.0, 80.0, 192.0]))
    assert hue_distance(hue(edited[main]), target) < 5 < hue_distance(hue(source[main]), target)


def test_reference_image_prompt_names_its_color(pipe, photo, fast_config):
    image_path, mask_path = photo
    swatch = Image.new("RGB", (40, 30), (30, 60, 230))
    out = pipe("a red car", mask_path, image=image_path, reference=swatch, config=fast_config)
    assert out.reference_prompt == "a blue car"
    assert out.unet["by_stage"]["reference"]["calls"] == fast_config.num_inference_steps


def test_saved_inversion_is_reused(pipe, photo, fast_config, tmp_path):
    image_path, mask_path = photo
    first = pipe("a red car", mask_path, image=image_path, color="blue", config=fast_config)
    first.inversion.save(tmp_path / "inv.safetensors")
    from coloredit import Inversion

    again = pipe(
        "a red car",
        mask_path,
        image=image_path,
        color="blue",
        config=fast_config,
        inversion=Inversion.load(tmp_path / "inv.safetensors"),
    )
    assert "inversion" not in again.unet["by_stage"]
    assert np.array_equal(np.asarray(first.image), np.asarray(again.image))


def test_several_objects_edited_in_turn(pipe, photo, fast_config):
    image_path, _ = photo
    left, right = np.zeros((96, 128), bool), np.zeros((96, 128), bool)
    left[20:60, 10:50], right[30:80, 80:120] = True, True
    outs = pipe.edit_objects(
        "a red car",
        [ObjectEdit(mask=left, color="blue"), ObjectEdit(mask=right, color="yellow", prompt="a white house")],
        image=image_path,
        config=fast_config,
    )
    assert len(outs) == 2 and outs[0].image is not outs[1].image
    # each object's prompt names it: the reference generated for the house is a yellow house, not a car
    assert (outs[0].reference_prompt, outs[1].reference_prompt) == ("a blue car", "a yellow house")
    assert np.array_equal(np.asarray(outs[1].source_image), np.asarray(outs[0].image))
    original = np.asarray(Image.open(image_path).convert("RGB"))
    radius = feather_radius(fast_config.feather, (128, 96))
    outside = (feather_weights(outs[0].mask, radius) == 0) & (feather_weights(outs[1].mask, radius) == 0)
    assert np.array_equal(np.asarray(outs[1].image)[outside], original[outside])


def test_reference_inversion_is_cached_by_content(pipe, photo, fast_config):
    image_path, mask_path = photo
    steps = fast_config.num_inference_steps
    base = np.asarray(Image.open(image_path).convert("RGB"))
    first_image, second_image = Image.fromarray(base[::-1].copy()), Image.fromarray(base[:, ::-1].copy())
    swatch = Image.new("RGB", (32, 24), (200, 30, 160))
    first = pipe("a red car", mask_path, image=first_image, reference=swatch, config=fast_config)
    second = pipe("a red car", mask_path, image=second_image, reference=swatch.copy(), config=fast_config)
    assert first.unet["by_stage"] == {
        "inversion": {"calls": steps, "rows": steps},
        "reference": {"calls": steps, "rows": steps},
        "edit": {"calls": steps, "rows": 6 * steps},
    }
    assert "reference" not in second.unet["by_stage"]  # same reference content: inverted once
    assert second.unet["rows"] == first.unet["rows"] - steps
    other = pipe(
        "a red car",
        mask_path,
        image=second_image,
        reference=Image.new("RGB", (32, 24), (0, 200, 0)),
        config=fast_config,
    )
    assert other.unet["by_stage"]["reference"]["calls"] == steps and "inversion" not in other.unet["by_stage"]


def test_exact_color_matches_the_oracle_render(pipe, fast_config):
    """With exact color on, a rendered object asked for a hex looks like the renderer's own drawing of it
    in that color (the oracle), whatever the tiny random model draws; nothing outside the feather changes."""
    from coloredit.measure import appearance, delta_e_object
    from coloredit.toy.render import draw, recolor, render

    scene = render(11, shape="ball", color="red", objects=1, pattern=None, jpeg=0)
    oracle = draw(recolor(scene.spec, 0, (0x20, 0xB0, 0x40))).image
    config = fast_config.replace(
        exact_color=True, scene_light="none", engine="diffusion"
    )  # this renderer's light: white, level 1
    result = pipe(scene.caption, scene.mask, image=scene.image, color="#20b040", config=config)
    out = np.asarray(result.image)
    pipe.inversion_cache.clear()
    plain = pipe(scene.caption, scene.mask, image=scene.image, color="#20b040", config=fast_config)
    assert result.unet == plain.unet  # exact color costs no U-Net call
    assert delta_e_object(out, scene.mask, oracle) < 3.0 and appearance(out, oracle, scene.mask) < 4.0
    assert delta_e_object(scene.image, scene.mask, oracle) > 30  # it was a real change
    outside = feather_weights(scene.mask, feather_radius(config.feather, scene.mask.shape)) == 0
    assert np.array_equal(out[outside], scene.image[outside])


@pytest.mark.parametrize("form", ["rgba", "no mask", "mask"])
def test_reference_color_comes_from_its_object_never_its_background(pipe, fast_config, form):
    """A reference whose object is green on a black (or transparent) background asks for green, whether its
    object is given by a mask, by its alpha channel, or found automatically."""
    from coloredit.exact import lit_albedo
    from coloredit.toy.render import render

    scene = render(11, shape="ball", color="red", objects=1, pattern=None, jpeg=0)
    reference = np.zeros((48, 48, 4), np.uint8)
    reference[12:36, 12:36] = (30, 180, 60, 255)
    kwargs = {
        "rgba": dict(reference=Image.fromarray(reference)),
        "no mask": dict(reference=Image.fromarray(reference[..., :3])),
        "mask": dict(reference=Image.fromarray(reference[..., :3]), reference_mask=reference[..., 3] > 0),
    }[form]
    config = fast_config.replace(
        exact_color=True, scene_light="none", engine="diffusion"
    )  # this renderer's light: white, level 1
    out = np.asarray(pipe(scene.caption, scene.mask, image=scene.image, config=config, **kwargs).image)
    assert np.abs(np.array(lit_albedo(out, scene.mask)) - [30, 180, 60]).max() <= 12


def test_reference_rows_left_out_give_the_same_edit(pipe, photo):
    """Without the reference's rows its Values come from its embeddings: the same target, 4 rows a step."""
    image_path, mask_path = photo
    swatch = Image.new("RGB", (32, 24), (30, 200, 90))
    config = preset("paper").replace(num_inference_steps=6, inversion="ddim", blend_ratio=0.0)
    kept = pipe("a red car", mask_path, image=image_path, reference=swatch, config=config)
    left_out = pipe(
        "a red car", mask_path, image=image_path, reference=swatch, config=config.replace(keep_reference_branch=False)
    )
    assert kept.unet["by_stage"]["edit"]["rows"] == 6 * 6 and left_out.unet["by_stage"]["edit"]["rows"] == 6 * 4
    assert (kept.latents["target"] - left_out.latents["target"]).abs().max().item() <= 1e-4


def test_direct_inversion_edits_with_two_rows_a_step(pipe, photo):
    """The default's fast path: no reference rows, no guidance: the target's conditional row and the
    source's."""
    image_path, mask_path = photo
    config = preset("coloredit").replace(num_inference_steps=6, engine="diffusion")
    out = pipe(
        "a red car", mask_path, image=image_path, reference=Image.new("RGB", (32, 24), (30, 200, 90)), config=config
    )
    assert out.unet["by_stage"]["edit"] == {"calls": 6, "rows": 2 * 6}
    assert torch.equal(out.latents["source"], out.inversion.latents[:1].to(out.latents["source"]))


def test_guidance_one_drops_the_unconditional_rows_and_changes_nothing_else(pipe, photo):
    """CFG at scale 1 is the conditional estimate: the edit's rows hold no unconditional half (2 a step for
    a target and the source instead of 3), and the target is what a scale a hair above 1 gives with them."""
    image_path, mask_path = photo
    config = preset("coloredit").replace(num_inference_steps=6, guidance_scale=1.0, engine="diffusion")
    args = ("a red car", mask_path)
    swatch = Image.new("RGB", (32, 24), (30, 200, 90))
    plain = pipe(*args, image=image_path, reference=swatch, config=config)
    guided = pipe(*args, image=image_path, reference=swatch, config=config.replace(guidance_scale=1.0 + 1e-6))
    assert plain.unet["by_stage"]["edit"] == {"calls": 6, "rows": 2 * 6}
    assert guided.unet["by_stage"]["edit"] == {"calls": 6, "rows": 3 * 6}
    assert (plain.latents["target"] - guided.latents["target"]).abs().max().item() <= 1e-4


INVERSION_METHODS = ("ddim", "negative-prompt", "direct", "null-text")


@pytest.fixture(scope="module")
def reconstructions(pipe, photo) -> dict[str, tuple[float, int]]:
    """Per inversion method, with every edit off: the source branch's mean distance to the photo's clean
    latent, and the inversion's U-Net calls (made once, for the tests that read them in any order)."""
    image_path, mask_path = photo
    measured = {}
    for method in INVERSION_METHODS:
        config = preset("paper").replace(
            num_inference_steps=8, inversion=method, null_text_inner_steps=5, **INTERVENTIONS_OFF
        )
        pipe.inversion_cache.clear()
        out = pipe("a red car", mask_path, image=image_path, color="blue", config=config)
        error = (out.latents["source"] - out.inversion.latents[0:1]).abs().mean().item()
        measured[method] = (error, out.unet["by_stage"]["inversion"]["calls"])
    return measured


@pytest.mark.parametrize("method", INVERSION_METHODS)
def test_inversion_methods_reconstruct_the_source(reconstructions, method):
    error, inner = reconstructions[method]
    if method == "direct":
        assert error == 0.0  # the source branch is put back on its trajectory every step
    if method in ("ddim", "negative-prompt", "direct"):
        assert inner == 8  # no optimization: one U-Net call per step
    else:
        assert inner > 8


def test_fast_inversions_reconstruct_better_than_ddim(reconstructions):
    assert reconstructions["negative-prompt"][0] < reconstructions["ddim"][0]
    assert reconstructions["null-text"][0] < reconstructions["ddim"][0]


def test_bad_input_fails_before_any_unet_call(pipe, photo):
    from coloredit import ColorEditError

    image_path, _ = photo
    calls = []
    hook = pipe.unet.register_forward_pre_hook(lambda *args: calls.append(1))
    try:
        for kwargs, message in (
            (dict(mask=np.ones((10, 40), bool), color="red"), "aspect ratio"),
            (dict(mask=np.ones((96, 128), bool), color="red"), "whole image"),
            (dict(mask=np.eye(96, 128, dtype=bool), color="nocolor"), "unknown color"),
            (dict(mask=np.eye(96, 128, dtype=bool)), "exactly one of"),
        ):
            with pytest.raises(ColorEditError, match=message):
                pipe("a red car", image=image_path, **kwargs)
    finally:
        hook.remove()
    assert calls == []


@pytest.mark.parametrize("color_reference", ["generate", "recolor"])
def test_colorways_equal_the_single_edits(pipe, photo, color_reference):
    """Batched targets (two batches, one of two targets and one of one) give each color's single edit."""
    image_path, mask_path = photo
    config = preset("coloredit").replace(num_inference_steps=6, color_reference=color_reference, engine="diffusion")
    colors = ["navy", "#33cc99", "200,40,40"]
    pipe.inversion_cache.clear()
    batched = pipe("a red car", mask_path, image=image_path, color=colors, config=config, targets_per_batch=2)
    assert len(batched.images) == 3
    for i, color in enumerate(colors):
        single = pipe("a red car", mask_path, image=image_path, color=color, config=config)
        name = "target" if i == 0 else f"target{i}"
        assert (batched.latents[name] - single.latents["target"]).abs().max().item() <= 1e-4
        difference = np.abs(np.asarray(batched.images[i], dtype=int) - np.asarray(single.image, dtype=int))
        assert difference.max() <= 1
    # one inversion; the source row once per step and per batch; each target's rows (and reference's) once
    reference_rows = 1 if color_reference == "generate" else 0
    assert batched.unet["by_stage"]["inversion"]["rows"] == 6
    assert batched.unet["by_stage"]["edit"]["rows"] == 6 * (2 + 3 * (1 + reference_rows))


def test_recolored_reference_trajectory_is_the_forward_process_with_the_same_noise():
    """shifted_trajectory against the formula z_t = sqrt(a) x0 + sqrt(1 - a) eps with the noise fixed."""
    from diffusers import DDIMScheduler

    from coloredit.inversion import NoiseSchedule, shifted_trajectory

    schedule = NoiseSchedule(DDIMScheduler(), 5)
    generator = torch.Generator().manual_seed(0)
    x0, other, eps = (torch.randn(1, 4, 8, 8, generator=generator) for _ in range(3))
    alphas = [torch.tensor(1.0)] + [schedule.alpha(schedule.timesteps[5 - k]) for k in range(1, 6)]

    def forward(clean):
        return torch.cat([a.sqrt() * clean + (1 - a).sqrt() * eps * (k > 0) for k, a in enumerate(alphas)])

    assert torch.allclose(shifted_trajectory(forward(x0), other, schedule), forward(other), atol=1e-6)


def test_mask_refine_off_keeps_the_mask_exactly_as_given(pipe, photo, fast_config):
    image_path, mask_path = photo
    config = fast_config.replace(mask_refine="off")
    out = pipe("a red car", mask_path, image=image_path, color="#2040ff", config=config)
    assert np.array_equal(out.mask, load_mask(mask_path, (128, 96))) and out.mask_change == 0.0


def test_edits_from_three_threads_on_one_pipeline_equal_the_same_edits_one_by_one(pipe, photo):
    """No per-edit state on the shared pipeline: each thread's edit is its own color, byte for byte the edit
    made alone, and counts its own U-Net calls (a shared ledger or processors would mix them up)."""
    from concurrent.futures import ThreadPoolExecutor

    image, mask = photo
    colors = ["#2040e0", "#20c040", "#e0a020"]
    config = preset().replace(num_inference_steps=4, inversion="ddim", engine="diffusion")

    def edit(color):
        return pipe("a red car", mask, image=image, color=color, config=config)

    pipe.inversion_cache.clear()
    alone = [edit(color) for color in colors]
    pipe.inversion_cache.clear()  # the threads invert too, while the others denoise
    with ThreadPoolExecutor(3) as pool:
        together = list(pool.map(edit, colors))
    for solo, threaded in zip(alone, together, strict=True):
        assert np.array_equal(np.asarray(solo.image), np.asarray(threaded.image))
    # one edit pays the source's inversion, the others find it cached: alone, and in whichever thread is first
    calls = sorted(out.unet["calls"] for out in together)
    assert calls == sorted(out.unet["calls"] for out in alone) and calls[0] < calls[-1]
    objects = [np.asarray(out.image)[load_mask(mask, (128, 96))].mean(axis=0) for out in together]
    for edit_index, channel in ((0, 2), (1, 1), (2, 0)):  # the blue edit the bluest object, and so on
        assert np.argmax([obj[channel] for obj in objects]) == edit_index
