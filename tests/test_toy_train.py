"""Toy training resumes exactly (a run killed mid-way and resumed ends where an uninterrupted run does), and
its grounding stage measures what it claims: each object word's attention against its object's mask."""

import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
import torch
from diffusers.models.attention_processor import AttnProcessor2_0
from safetensors.torch import load_file

from coloredit.attention import installed
from coloredit.toy.models import MAX_TOKENS, toy_text_encoder, toy_tokenizer, toy_unet
from coloredit.toy.render import render, sample_scene
from coloredit.toy.train import TrainConfig, _object_masks, dataset
from coloredit.toy.train_unet import cross_attention_probes, grounding_loss, object_tokens

ARGS = [
    "--images",
    "64",
    "--vae-steps",
    "2",
    "--vae-batch",
    "4",
    "--unet-steps",
    "30",
    "--unet-batch",
    "4",
    "--warmup",
    "2",
    "--vae-crop",
    "32",
    "--decoder-steps",
    "4",
    "--decoder-batch",
    "2",
    "--grounding-steps",
    "4",
    "--workers",
    "1",
    "--checkpoint-every",
    "2",
    "--threads",
    "1",
]


def train(out, work, wait=True):
    command = [sys.executable, "-m", "coloredit.toy", "train", "--out", str(out), "--work", str(work), *ARGS]
    env = dict(os.environ, OMP_NUM_THREADS="1")
    if not wait:
        return subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    proc = subprocess.run(command, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    return proc


def weights(folder):
    return {
        f"{part}.{k}": v
        for part in ("unet", "text_encoder", "vae")
        for k, v in load_file(next((folder / part).glob("*.safetensors"))).items()
    }


def test_killed_training_resumes_to_the_same_model(tmp_path):
    train(tmp_path / "straight", tmp_path / "straight-work")
    proc = train(tmp_path / "resumed", tmp_path / "resumed-work", wait=False)
    state = tmp_path / "resumed-work" / "unet.pt"
    deadline = time.time() + 300
    while time.time() < deadline:
        if state.exists():
            try:
                if torch.load(state, weights_only=False).get("step", 0) >= 4:
                    break
            except Exception:  # a checkpoint being replaced: look again
                pass
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert not (tmp_path / "resumed").exists()  # it was stopped before the end
    log = train(tmp_path / "resumed", tmp_path / "resumed-work").stderr
    assert "unet:" in log  # a progress bar
    straight, resumed = weights(tmp_path / "straight"), weights(tmp_path / "resumed")
    assert straight.keys() == resumed.keys()
    assert all(torch.equal(straight[k], resumed[k]) for k in straight)
    # the decoder stage changed the decoder only: the encoder, whose latents the U-Net learned, is as trained
    first_stage = torch.load(tmp_path / "straight-work" / "vae.pt", weights_only=False)["weights"]
    encoder = [k for k in first_stage if k.startswith(("encoder.", "quant_conv."))]
    decoder = [k for k in first_stage if k.startswith("decoder.")]
    assert encoder and all(torch.equal(first_stage[k].half(), straight[f"vae.{k}"]) for k in encoder)
    assert not all(torch.equal(first_stage[k].half(), straight[f"vae.{k}"]) for k in decoder)
    # with a grounding stage, what ships is that stage's average, fine-tuned from the U-Net stage's
    first_unet = torch.load(tmp_path / "straight-work" / "unet.pt", weights_only=False)["ema_unet"]
    grounded = torch.load(tmp_path / "straight-work" / "grounding.pt", weights_only=False)
    assert grounded["step"] == 4
    assert all(torch.equal(grounded["ema_unet"][k].half(), straight[f"unet.{k}"]) for k in first_unet)
    assert not all(torch.equal(first_unet[k].half(), straight[f"unet.{k}"]) for k in first_unet)


def test_dataset_caches_the_scenes_renders_and_captions(tmp_path):
    config = TrainConfig(images=3, workers=1, seed=2)
    images, captions = dataset(config, tmp_path)
    cached_images, cached_captions = dataset(config, tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["captions-2-3.json", "data-2-3.npz"]
    seeds = [20_000_000 + i for i in range(3)]
    assert captions == cached_captions == [sample_scene(s).captions(MAX_TOKENS - 2) for s in seeds]
    expected = np.stack([render(s).image for s in seeds])
    assert np.array_equal(((images + 1) * 127.5).round().permute(0, 2, 3, 1).numpy(), expected)
    assert torch.equal(images, cached_images)


def test_object_tokens_point_at_each_objects_own_words():
    tokenizer = toy_tokenizer()
    caption = "a shiny dark red cup with white stripes and a blue ring"
    tokens = tokenizer.convert_ids_to_tokens(tokenizer(caption).input_ids)
    owned = {i: tokens[i].removesuffix("</w>") for i, owner in enumerate(object_tokens(caption)) if owner == 0}
    assert list(owned.values()) == ["shiny", "dark", "red", "cup"]  # not "with white stripes"
    assert [tokens[i] for i, o in enumerate(object_tokens(caption)) if o == 1] == ["blue</w>", "ring</w>"]
    assert object_tokens("") == [-1] * MAX_TOKENS


def test_object_masks_cover_the_rendered_objects_left_to_right():
    seed = next(s for s in range(100) if len(render(s).spec.objects) == 2)
    scene, masks = render(seed), _object_masks(seed)
    left = int(np.argmin([o.cx for o in scene.spec.objects]))
    assert masks.shape == (3, 16, 16) and not masks[2].any()
    assert masks[0].sum() * 16 == pytest.approx(scene.masks[left].sum(), abs=1)  # coverage of 4x4 cells
    assert masks[1].sum() * 16 == pytest.approx(scene.masks[1 - left].sum(), abs=1)


def test_attention_probe_changes_nothing_and_records_each_cross_attention_layer():
    torch.manual_seed(0)
    tokenizer = toy_tokenizer()
    unet, text_encoder = toy_unet(), toy_text_encoder(tokenizer)
    unet.set_attn_processor(AttnProcessor2_0())  # diffusers' own processor is the reference
    ids = tokenizer(["a red ball and a blue cup", "a cup"], padding="max_length", max_length=MAX_TOKENS)
    context = text_encoder(torch.tensor(ids.input_ids))[0]
    latents, t = torch.randn(2, 4, 16, 16), torch.tensor([100, 700])
    with torch.no_grad():
        reference = unet(latents, t, encoder_hidden_states=context).sample
        store = []
        with installed(unet, cross_attention_probes(unet, store)):
            probed = unet(latents, t, encoder_hidden_states=context).sample
    torch.testing.assert_close(probed, reference, atol=1e-5, rtol=1e-5)
    assert [layer.shape[1] for layer in store] == [256, 64, 64, 64, 256, 256]  # 16x16 and 8x8, not the 4x4 mid
    assert all(torch.allclose(layer.sum(-1), torch.ones(2, layer.shape[1])) for layer in store)


def test_grounding_loss_is_the_distance_from_uniform_attention_over_the_mask():
    masks = torch.zeros(1, 3, 16, 16)
    masks[0, 0, :8] = 1  # the object fills the top half
    owners = torch.full((1, MAX_TOKENS), -1)
    owners[0, 2] = 0
    inside = torch.zeros(1, 256, MAX_TOKENS)
    inside[0, :128, 2] = 1 / 128  # the word's attention spread evenly over its object
    outside = torch.zeros(1, 256, MAX_TOKENS)
    outside[0, 128:, 2] = 1 / 128
    half = (inside + outside) / 2
    assert grounding_loss([inside], owners, masks).item() == pytest.approx(0.0, abs=1e-6)
    assert grounding_loss([outside], owners, masks).item() == pytest.approx(1.0)
    assert grounding_loss([half], owners, masks).item() == pytest.approx(0.5)
    assert grounding_loss([inside], torch.full((1, MAX_TOKENS), -1), masks).item() == 0.0  # no object words


def test_init_starts_the_unet_stage_from_an_earlier_runs_averages(tmp_path):
    torch.manual_seed(5)  # weights no fresh run would draw
    tokenizer = toy_tokenizer()
    earlier = {"ema_unet": toy_unet().state_dict(), "ema_text": toy_text_encoder(tokenizer).state_dict()}
    torch.save(earlier, tmp_path / "unet-average.pt")
    # one step that changes nothing, on 8 images
    still = ["--images", "8", "--unet-lr", "0", "--unet-steps", "1", "--grounding-steps", "0"]
    work, runs = tmp_path / "work", {}
    for stages, init in (("vae,unet", []), ("unet", ["--init", str(tmp_path / "unet-average.pt")])):
        (work / "unet.pt").unlink(missing_ok=True)  # the second run shares the first's VAE and renders
        command = [sys.executable, "-m", "coloredit.toy", "train", "--out", str(tmp_path / "out"), "--work", str(work)]
        command += ["--stages", stages, *ARGS, *still, *init]
        proc = subprocess.run(command, env=dict(os.environ, OMP_NUM_THREADS="1"), capture_output=True, text=True)
        assert proc.returncode == 0, proc.stderr
        runs[bool(init)] = torch.load(work / "unet.pt", weights_only=False)
    for key in ("ema_unet", "ema_text"):
        assert all(torch.equal(runs[True][key][k], v) for k, v in earlier[key].items())
        assert not all(torch.equal(runs[False][key][k], v) for k, v in earlier[key].items())
