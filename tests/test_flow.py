"""Flow transformers (FLUX.1, SD3) through the same steps: checked against diffusers' own pipelines and the flow's
Euler formula, and edited end to end from the CLI, colorways, batch and the app on tiny random folders."""

import itertools
import json

import numpy as np
import pytest
import torch
from conftest import INTERVENTIONS_OFF
from diffusers import FluxPipeline, StableDiffusion3Pipeline
from PIL import Image

from coloredit import ColorEditPipeline, flow, preset
from coloredit.app import App
from coloredit.cli import main
from coloredit.images import feather_radius, feather_weights, load_mask
from coloredit.inversion import ddim_inversion
from coloredit.tiny import tiny_flux_components, tiny_sd3_components

FAMILIES = {"flux": (tiny_flux_components, FluxPipeline), "sd3": (tiny_sd3_components, StableDiffusion3Pipeline)}


@pytest.fixture(scope="module", params=sorted(FAMILIES))
def family(request):
    return request.param


@pytest.fixture(scope="module")
def folders(tmp_path_factory):
    """Each family's tiny model saved as its diffusers pipeline saves it (FluxPipeline, StableDiffusion3Pipeline)."""
    made = {}
    for name, (make, reference) in FAMILIES.items():
        made[name] = tmp_path_factory.mktemp(name)
        reference(**make(0)).save_pretrained(made[name], safe_serialization=True)
    return made


def reference_latents(name: str, parts: dict, schedule, noise: torch.Tensor, guidance: float) -> torch.Tensor:
    """diffusers' own generation at the schedule's levels from the sample's starting point x = c eps."""
    start = noise * flow.path_scale(torch.tensor(schedule.sigmas[0]))
    reference = FAMILIES[name][1](**parts)
    reference.set_progress_bar_config(disable=True)
    options = dict(num_inference_steps=len(schedule), sigmas=list(schedule.requested), output_type="latent")
    options.update(height=64, width=64, max_sequence_length=16)
    if name == "flux":  # the distilled guidance embedded, real CFG on top with the empty negative prompt
        options.update(latents=flow.pack(start), guidance_scale=3.5, true_cfg_scale=guidance, negative_prompt="")
        return flow.unpack(reference("a red car", **options).images, 8, 8)
    return reference("a red car", latents=start, guidance_scale=guidance, **options).images


def test_target_branch_equals_the_family_s_diffusers_generation(family):
    """Every edit off, the target branch (guided, on normalized latents) is FluxPipeline's / SD3's generation."""
    parts = FAMILIES[family][0](3)
    pipe = ColorEditPipeline(**parts)
    pipe.set_progress_bar_config(disable=True)
    mask = np.zeros((64, 64), bool)
    mask[16:48, 16:48] = True
    config = preset("paper").replace(num_inference_steps=6, **INTERVENTIONS_OFF)
    out = pipe("a red car", mask, color="blue", seed=5, config=config)
    schedule = pipe.family.schedule(pipe, 6)
    expected = reference_latents(family, parts, schedule, pipe.initial_noise(5, (64, 64)), 7.5)
    assert (out.latents["target"] - expected).abs().max().item() <= 1e-3 * expected.abs().max().item()


def test_flow_inversion_is_the_euler_step_of_the_velocity_at_each_point():
    """Each inversion step of the pipeline's DDIM on normalized latents is x' = x + (s' - s) v(x, s), the
    transformer called as diffusers' FLUX pipeline calls it (its own packing and position ids)."""
    parts = tiny_flux_components(1)
    pipe = ColorEditPipeline(**parts)
    schedule = pipe.family.schedule(pipe, 5)
    clean = torch.randn(1, 4, 8, 8, generator=torch.Generator().manual_seed(0))
    cond = pipe.encode_text(["a red car"])
    ours = ddim_inversion(pipe.predict_noise, clean, cond, schedule)
    x, sigmas = clean, schedule.sigmas[::-1]
    ids = FluxPipeline._prepare_latent_image_ids(1, 4, 4, "cpu", torch.float32)
    with torch.no_grad():
        for here, there in itertools.pairwise(sigmas):
            velocity = parts["transformer"](
                hidden_states=FluxPipeline._pack_latents(x, 1, 4, 8, 8),
                timestep=torch.tensor([here]),
                guidance=torch.tensor([3.5]),
                pooled_projections=cond[:, -1, :32],
                encoder_hidden_states=cond[:, :-1],
                txt_ids=torch.zeros(cond.shape[1] - 1, 3),
                img_ids=ids,
            ).sample
            x = x + (there - here) * FluxPipeline._unpack_latents(velocity, 64, 64, 8)
    top = flow.path_scale(torch.tensor(sigmas[-1]))
    assert torch.allclose(ours[-1:] * top, x, atol=1e-4, rtol=1e-4)


def edit_args(image, mask, folder, out, *extra):
    args = ["edit", str(image), "--mask", str(mask), "--prompt", "a red car", "--color", "#2050c0"]
    return [*args, "--model", str(folder), "--steps", "4", "--mask-refine", "off", "-o", str(out), *extra]


def test_flow_folders_edit_from_the_cli_keeping_the_background(family, folders, photo, tmp_path, capsys):
    """A FLUX and an SD3 folder: exit 0, the input's size, the background's bytes outside the feathered mask, the
    object as the exact-color engine makes it (the hex under the photo's light), the same bytes for a seed."""
    image, mask = photo
    runs = [tmp_path / "a.png", tmp_path / "b.png"]
    for out in runs:
        assert main(edit_args(image, mask, folders[family], out, "--engine", "diffusion", "--json")) == 0
        result = json.loads(capsys.readouterr().out)
        assert result["unet"]["rows"] == 4 + 4 * 3  # direct inversion; then reference, source, target rows
    assert main(edit_args(image, mask, folders[family], tmp_path / "exact.png", "--engine", "exact")) == 0
    original = np.asarray(Image.open(image).convert("RGB"))
    edited, exact = (np.asarray(Image.open(p).convert("RGB")).astype(int) for p in (runs[0], tmp_path / "exact.png"))
    given = load_mask(mask, (128, 96))
    outside = feather_weights(given, feather_radius(0.02, (128, 96))) == 0
    assert edited.shape == original.shape and np.array_equal(edited[outside], original[outside])
    assert np.abs(edited[given] - exact[given]).mean() <= 1.0
    assert runs[0].read_bytes() == runs[1].read_bytes()


def test_flow_colorways_batch_and_app_edit_end_to_end(family, folders, photo, tmp_path, capsys):
    """Colorways, a batch job and the app on each folder: PNGs of the input's size, the background's bytes kept."""
    image, mask = photo
    original = np.asarray(Image.open(image).convert("RGB"))
    outside = feather_weights(load_mask(mask, (128, 96)), feather_radius(0.02, (128, 96))) == 0
    ways = tmp_path / "ways"
    args = ["colorways", str(image), "--mask", str(mask), "--colors", "navy,#33cc99", "--prompt", "a red car"]
    args += ["--model", str(folders[family]), "--steps", "3", "--engine", "diffusion", "-o", str(ways), "--json"]
    args += ["--mask-refine", "off"]  # the photo has no edge to refine to: the given mask is the edit's
    assert main(args) == 0
    records = json.loads(capsys.readouterr().out)["colorways"]
    jobs = tmp_path / "jobs.jsonl"
    jobs.write_text(json.dumps({"image": str(image), "mask": str(mask), "prompt": "a car", "color": "gold"}) + "\n")
    batch = ["batch", str(jobs), "-o", str(tmp_path / "batch"), "--model", str(folders[family]), "--steps", "3"]
    assert main([*batch, "--engine", "diffusion", "--mask-refine", "off"]) == 0
    files = [r["file"] for r in records] + sorted(str(p) for p in (tmp_path / "batch").glob("*.png"))
    assert len(files) == 3
    for file in files:
        edited = np.asarray(Image.open(file).convert("RGB"))
        assert edited.shape == original.shape and np.array_equal(edited[outside], original[outside])
    app = App(ColorEditPipeline.from_pretrained(folders[family]), out=tmp_path / "app")
    given = load_mask(mask, (128, 96))
    done = app.recolor(original, given, ["navy"], None, "a red car", preset_name="paper", steps=3)
    edited = np.asarray(Image.open(done.files[0][1]).convert("RGB"))
    assert done.cost["engine"] == "diffusion" and done.cost["unet"]["rows"] > 0
    assert edited.shape == original.shape and np.array_equal(edited[outside], original[outside])


def test_joint_processor_without_edits_is_diffusers_attention_and_with_them_acts(family):
    """With no edit active the joint processor computes what diffusers' FLUX / SD3 processors compute; in an
    edit both interventions act in every joint block."""
    from coloredit.attention import BranchLayout, EditController, installed

    pipe = ColorEditPipeline(**FAMILIES[family][0](2))
    latents = torch.randn(3, 4, 8, 8, generator=torch.Generator().manual_seed(1))
    embeddings = pipe.encode_text(["a red car", "a blue car", "a red car"])
    plain = pipe.predict_noise(latents, 500.0, embeddings)
    config = preset().replace(value_align=False, self_attn_replace=False)
    controller = EditController(config, 1, 1000, BranchLayout())
    with installed(pipe.denoiser, pipe.family.processors(controller, pipe.denoiser)):
        ours = pipe.predict_noise(latents, 500.0, embeddings)
    assert torch.allclose(ours, plain, atol=1e-5)

    mask = np.zeros((64, 64), bool)
    mask[16:48, 16:48] = True
    applied = {}
    original = EditController.joint_processors

    def spy(self, *args):
        applied["controller"] = self
        return original(self, *args)

    EditController.joint_processors = spy
    try:
        pipe("a red car", mask, color="blue", config=preset().replace(engine="diffusion", num_inference_steps=4))
    finally:
        EditController.joint_processors = original
    counts = applied["controller"].applied
    blocks = {name for name in pipe.denoiser.attn_processors if name.startswith("transformer_blocks.")}
    blocks = {name for name in blocks if name.endswith(".attn.processor")}
    for kind in ("structure", "value_alignment"):
        assert {name for name, k in counts if k == kind} == blocks


def test_model_offload_makes_the_same_edit(folders, photo):
    """`--offload model` (diffusers' model CPU offload, how a FLUX.1-dev fits a smaller GPU): every model kept off
    the device until it runs, the edit byte for byte the one of a pipeline on the device."""
    from coloredit.devices import load_pipeline

    image, mask = photo
    edits = []
    for offload in ("none", "model"):
        pipe = load_pipeline(folders["flux"], "cpu", "auto", offload)
        pipe.set_progress_bar_config(disable=True)
        config = preset().replace(num_inference_steps=3, engine="diffusion", mask_refine="off")
        edits.append(np.asarray(pipe("a red car", mask, image=image, color="#2050c0", seed=0, config=config).image))
        assert hasattr(pipe.transformer, "_hf_hook") == (offload == "model")
    assert np.array_equal(*edits)
