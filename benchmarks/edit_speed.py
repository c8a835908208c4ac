"""Edit cost side by side, in one run: plain diffusers generation (the floor), the paper-faithful path
(null-text inversion, reference branch in the batch) and the fast default (the `coloredit` preset); and
colorways: one photo to 1, 3 and 8 colors in one call (one inversion, the targets batched), against one
color (`--color-reference` picks how a color becomes a reference; default: the preset's).

Each measurement runs in a fresh process (so peak memory is its own), and prints U-Net calls and rows,
wall time and peak memory, then ratios to the floor and to the paper path. Also: a second edit of another
image to the same reference (its inversion cached), against the first.

    python benchmarks/edit_speed.py                    # toy model, CPU
    python benchmarks/edit_speed.py --model tiny       # tiny random SD-shaped model
    python benchmarks/edit_speed.py --full-size --device cuda --dtype float16 --json
    python benchmarks/edit_speed.py --full-size --steps 2 --stages floor,fast   # peak memory at 512 on a CPU
    python benchmarks/edit_speed.py --full-size sdxl --steps 1 --stages floor,fast   # SDXL at 1024, memory
    python benchmarks/edit_speed.py --model tiny-flux --stages floor,paper,fast   # FLUX.1's layout (also tiny-sd3)

For a flow model (FLUX, SD3) the floor is its own diffusers pipeline's generation at the same levels: FLUX's
distilled guidance alone (one row a step), SD3's classifier-free guidance 7.5 (two rows a step).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import threading
import time

COLORWAYS = {"colors_1": 1, "colors_3": 3, "colors_8": 8}  # stage -> colors in one call
STAGES = ("floor", "paper", "fast", "fast_cached", *COLORWAYS)
PALETTE = ["navy", "#33cc99", "200,40,40", "gold", "black", "white", "teal", "#ff8800"]


def full_size_vae(latent_channels: int, sample_size: int, **layout):
    """SD's (4 channels) or FLUX's (16, `layout`: its shift, scale, no quant convs) x8 VAE at full size."""
    from diffusers import AutoencoderKL

    return AutoencoderKL(
        block_out_channels=(128, 256, 512, 512),
        down_block_types=("DownEncoderBlock2D",) * 4,
        up_block_types=("UpDecoderBlock2D",) * 4,
        layers_per_block=2,
        latent_channels=latent_channels,
        sample_size=sample_size,
        **layout,
    )


def flux_full_size_components(device: str, dtype) -> dict:
    """FLUX.1-dev's architecture (12B transformer, T5-XXL, CLIP-L, the 16-channel VAE) from its configs, random
    weights, built straight on `device` in `dtype` (in fp32 on a CPU it would need ~70 GB)."""
    import torch
    from diffusers import FlowMatchEulerDiscreteScheduler, FluxTransformer2DModel
    from transformers import CLIPTextConfig, CLIPTextModel, T5Config, T5EncoderModel

    from coloredit.tokenizer import build_tokenizer

    torch.set_default_dtype(dtype)
    with torch.device(device):
        transformer = FluxTransformer2DModel(guidance_embeds=True)  # its defaults are FLUX.1's: 19 + 38 blocks
        t5 = T5EncoderModel(
            T5Config(d_model=4096, d_ff=10240, d_kv=64, num_layers=24, num_heads=64, feed_forward_proj="gated-gelu")
        )
        clip = CLIPTextModel(
            CLIPTextConfig(hidden_size=768, intermediate_size=3072, num_hidden_layers=12, num_attention_heads=12)
        )
        flux_vae = dict(shift_factor=0.1159, scaling_factor=0.3611, use_quant_conv=False, use_post_quant_conv=False)
        vae = full_size_vae(16, 1024, **flux_vae)
    torch.set_default_dtype(torch.float32)
    tokenizer = build_tokenizer(("a", "photo", "of", "red", "blue", "car"), 77)
    t5_tokenizer = build_tokenizer(("a", "photo", "of", "red", "blue", "car"), 512)
    scheduler = FlowMatchEulerDiscreteScheduler(shift=3.0, use_dynamic_shifting=True, base_shift=0.5, max_shift=1.15)
    return dict(
        vae=vae,
        text_encoder=clip,
        tokenizer=tokenizer,
        text_encoder_2=t5,
        tokenizer_2=t5_tokenizer,
        transformer=transformer,
        scheduler=scheduler,
    )


def full_size_components(family: str = "sd") -> dict:
    """SD v1.4's (or SDXL base's) U-Net, VAE and text encoder(s) built from their configs, random weights
    (timing and memory only)."""
    from diffusers import DDIMScheduler, UNet2DConditionModel
    from transformers import CLIPTextConfig, CLIPTextModel, CLIPTextModelWithProjection

    from coloredit.tiny import SD_SCHEDULER
    from coloredit.tokenizer import build_tokenizer

    xl = family == "sdxl"
    vae = full_size_vae(4, 1024 if xl else 512)
    clip_l = dict(hidden_size=768, intermediate_size=3072, num_hidden_layers=12, num_attention_heads=12)
    text = CLIPTextModel(CLIPTextConfig(**clip_l, max_position_embeddings=77, vocab_size=49408))
    tokenizer = build_tokenizer(("a", "photo", "of", "red", "blue", "car"), 77)
    parts = dict(vae=vae, text_encoder=text, tokenizer=tokenizer, scheduler=DDIMScheduler(**SD_SCHEDULER))
    if not xl:
        return dict(parts, unet=UNet2DConditionModel(sample_size=64, cross_attention_dim=768, attention_head_dim=8))
    big_g = dict(hidden_size=1280, intermediate_size=5120, num_hidden_layers=32, num_attention_heads=20)
    second = CLIPTextModelWithProjection(
        CLIPTextConfig(**big_g, projection_dim=1280, max_position_embeddings=77, vocab_size=49408)
    )
    unet = UNet2DConditionModel(
        sample_size=128,
        down_block_types=("DownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D"),
        up_block_types=("CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "UpBlock2D"),
        block_out_channels=(320, 640, 1280),
        transformer_layers_per_block=(1, 2, 10),
        attention_head_dim=(5, 10, 20),
        cross_attention_dim=2048,
        use_linear_projection=True,
        addition_embed_type="text_time",
        addition_time_embed_dim=256,
        projection_class_embeddings_input_dim=2816,
    )
    return dict(parts, unet=unet, text_encoder_2=second, tokenizer_2=tokenizer)


def load(args):
    import torch

    from coloredit import ColorEditPipeline
    from coloredit.tiny import tiny_components, tiny_flux_components, tiny_sd3_components, tiny_xl_components

    dtype = getattr(torch, args.dtype)
    if args.full_size == "flux":
        pipe = ColorEditPipeline(**flux_full_size_components(args.device, dtype))
    elif args.full_size:
        pipe = ColorEditPipeline(**full_size_components(args.full_size))
    elif args.model == "tiny":
        pipe = ColorEditPipeline(**tiny_components())
    elif args.model == "tiny-xl":
        pipe = ColorEditPipeline(**tiny_xl_components())
    elif args.model in ("tiny-flux", "tiny-sd3"):
        pipe = ColorEditPipeline(**(tiny_flux_components() if args.model == "tiny-flux" else tiny_sd3_components()))
    else:
        pipe = ColorEditPipeline.from_pretrained(args.model)
    pipe = pipe.to(args.device, dtype)
    pipe.set_progress_bar_config(disable=True)
    return pipe


def inputs(pipe, variant: int):
    """A 'photo' at the model's size (smooth, textured), a centred object mask, a reference swatch."""
    import numpy as np
    from PIL import Image

    size = pipe.native_size
    y, x = np.mgrid[0:size, 0:size] / size
    rng = np.random.default_rng(variant)
    photo = np.stack([x, y, 0.5 + 0.4 * np.sin(7 * x + variant)], -1) * 220 + rng.normal(0, 6, (size, size, 3))
    mask = np.zeros((size, size), bool)
    mask[size // 4 : 3 * size // 4, size // 3 : 2 * size // 3] = True
    image = Image.fromarray(np.clip(photo, 0, 255).astype(np.uint8))
    return image, mask, Image.new("RGB", (size, size), (40, 80, 230))


class PeakMemory:
    """Peak memory during the block, in total (`mb`: the loaded model included, what a user must have)
    and above its start (`extra_mb`): CUDA's allocator statistics, or the process's RSS sampled."""

    def __init__(self, device: str):
        self.cuda = device.startswith("cuda")

    def __enter__(self):
        import torch

        if self.cuda:
            torch.cuda.synchronize()
            torch.cuda.reset_peak_memory_stats()
            self.base = torch.cuda.memory_allocated()
        else:
            self.base = self.peak = self._rss()
            self.running = True
            self.thread = threading.Thread(target=self._sample, daemon=True)
            self.thread.start()
        return self

    @staticmethod
    def _rss() -> int:
        with open("/proc/self/statm") as handle:
            return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")

    def _sample(self) -> None:
        while self.running:
            self.peak = max(self.peak, self._rss())
            time.sleep(0.002)

    def __exit__(self, *exc) -> None:
        import torch

        if self.cuda:
            torch.cuda.synchronize()
            peak = torch.cuda.max_memory_allocated()
        else:
            self.running = False
            self.thread.join()
            peak = max(self.peak, self._rss())
        self.mb, self.extra_mb = peak / 2**20, (peak - self.base) / 2**20


def plain_pipeline(pipe):
    """diffusers' own text-to-image pipeline on the edit pipeline's components: the floor."""
    from diffusers import FluxPipeline, StableDiffusion3Pipeline, StableDiffusionPipeline, StableDiffusionXLPipeline

    parts = dict(vae=pipe.vae, text_encoder=pipe.text_encoder, tokenizer=pipe.tokenizer, scheduler=pipe.scheduler)
    second = dict(text_encoder_2=pipe.text_encoder_2, tokenizer_2=pipe.tokenizer_2)
    if pipe.transformer is not None and pipe.text_encoder_3 is not None:
        third = dict(text_encoder_3=pipe.text_encoder_3, tokenizer_3=pipe.tokenizer_3)
        return StableDiffusion3Pipeline(**parts, **second, **third, transformer=pipe.transformer)
    if pipe.transformer is not None:
        return FluxPipeline(**parts, **second, transformer=pipe.transformer)
    if pipe.text_encoder_2 is not None:
        return StableDiffusionXLPipeline(**parts, **second, unet=pipe.unet)
    return StableDiffusionPipeline(
        **parts, unet=pipe.unet, safety_checker=None, feature_extractor=None, requires_safety_checker=False
    )


def measure(args) -> dict:
    """One stage, in this process: {"unet_calls", "unet_rows", "seconds", "peak_mb", "peak_extra_mb"}."""
    import torch

    from coloredit import preset

    pipe = load(args)
    counts = {"calls": 0, "rows": 0}

    def count(module, positional, keywords):
        counts["calls"] += 1
        latents = positional[0] if positional else keywords.get("sample", keywords.get("hidden_states"))
        counts["rows"] += latents.shape[0]

    fast = preset("coloredit").replace(engine="diffusion")  # the model's cost (auto skips it for most edits)
    config = {"paper": preset("paper"), "fast": fast}.get(args.stage.replace("_cached", ""))
    if args.stage in COLORWAYS:
        chosen = {"color_reference": args.color_reference} if args.color_reference else {}
        config = preset("coloredit").replace(engine="diffusion", **chosen)
    if config is not None:
        config = config.replace(num_inference_steps=args.steps)
    photo, mask, swatch = inputs(pipe, 0)
    if args.stage == "fast_cached":  # the first edit fills the cache; the measured one edits another photo
        pipe(args.prompt, mask, image=photo, reference=swatch, config=config)
        photo, mask, swatch = inputs(pipe, 1)[0], mask, swatch
    plain = plain_pipeline(pipe)
    plain.set_progress_bar_config(disable=True)
    size = dict(height=pipe.native_size, width=pipe.native_size)
    plain(args.prompt, num_inference_steps=2, **size)  # warm-up
    floor_guidance = 3.5 if pipe.transformer is not None and pipe.text_encoder_3 is None else 7.5
    hook = pipe.denoiser.register_forward_pre_hook(count, with_kwargs=True)
    started = time.perf_counter()
    with PeakMemory(args.device) as memory:
        if args.stage == "floor":
            plain(
                args.prompt,
                num_inference_steps=args.steps,
                guidance_scale=floor_guidance,
                generator=torch.Generator("cpu").manual_seed(0),
                **size,
            )
        elif args.stage in COLORWAYS:
            pipe(args.prompt, mask, image=photo, color=PALETTE[: COLORWAYS[args.stage]], config=config)
        else:
            pipe(args.prompt, mask, image=photo, reference=swatch, config=config)
        if args.device.startswith("cuda"):
            torch.cuda.synchronize()
    seconds = time.perf_counter() - started
    hook.remove()
    return {
        "unet_calls": counts["calls"],
        "unet_rows": counts["rows"],
        "seconds": round(seconds, 3),
        "peak_mb": round(memory.mb, 1),
        "peak_extra_mb": round(memory.extra_mb, 1),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--model", default="toy", help="toy, tiny, tiny-xl, tiny-flux, tiny-sd3, or a diffusers folder / hub id"
    )
    parser.add_argument(
        "--full-size",
        nargs="?",
        const="sd",
        choices=("sd", "sdxl", "flux"),
        help="random weights at full size: SD 1.4's architecture at 512x512 (sd, the default), SDXL base's or "
        "FLUX.1-dev's at 1024 (flux: built on --device in --dtype; bfloat16 on a GPU of 40 GB or more)",
    )
    parser.add_argument("--steps", type=int, default=50)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--dtype", default="float32", choices=("float32", "float16", "bfloat16"))
    parser.add_argument("--prompt", default="a photo of a red car")
    parser.add_argument("--color-reference", help="colorways: generate, swatch or recolor (default: the preset's)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--json-out", help="also write the JSON object to this file")
    parser.add_argument("--stages", default=",".join(STAGES), help=f"a comma-separated subset of {STAGES}")
    parser.add_argument("--stage", choices=STAGES, help=argparse.SUPPRESS)  # internal: one measurement
    args = parser.parse_args()
    stages = [s for s in STAGES if s in args.stages.split(",")]
    if args.stage:
        print(json.dumps(measure(args)))
        return 0
    results = {}
    passthrough = [a for a in sys.argv[1:] if a not in ("--json",)]
    for option in ("--json-out", "--stages"):
        if option in passthrough:
            i = passthrough.index(option)
            del passthrough[i : i + 2]
    for stage in stages:
        proc = subprocess.run(
            [sys.executable, __file__, *passthrough, "--stage", stage], capture_output=True, text=True
        )
        if proc.returncode != 0:
            print(proc.stderr, file=sys.stderr)
            return proc.returncode
        results[stage] = json.loads(proc.stdout.strip().splitlines()[-1])
    results["ratios"] = ratios(results)
    text = json.dumps(results, indent=1)
    if args.json_out:
        with open(args.json_out, "w") as handle:
            handle.write(text)
    if args.json:
        print(text)
    else:
        print_table(results, args)
    return 0


def ratios(r: dict) -> dict:
    """Each measured stage against the floor and the paper path; the cached second edit against the first;
    colorways against one color."""
    pairs = {"paper/floor": ("paper", "floor"), "fast/floor": ("fast", "floor"), "paper/fast": ("paper", "fast")}
    pairs["cached/first"] = ("fast_cached", "fast")
    pairs.update({"3 colors/1": ("colors_3", "colors_1"), "8 colors/1": ("colors_8", "colors_1")})
    out = {}
    for key in ("unet_rows", "unet_calls", "seconds", "peak_mb", "peak_extra_mb"):
        for name, (a, b) in pairs.items():
            if a in r and b in r:
                out[f"{name} {key}"] = round(r[a][key] / r[b][key], 3) if r[b][key] else float("nan")
    return out


def print_table(results: dict, args) -> None:
    names = {"sd": "SD 1.4", "sdxl": "SDXL base", "flux": "FLUX.1-dev"}
    model = f"{names[args.full_size]} architecture (random weights)" if args.full_size else args.model
    print(f"model {model}, {args.steps} steps, {args.device} {args.dtype}")
    print(f"{'':12} {'calls':>7} {'rows':>7} {'seconds':>9} {'peak MB':>9} {'extra MB':>9}")
    for stage in (s for s in STAGES if s in results):
        s = results[stage]
        print(
            f"{stage:12} {s['unet_calls']:7d} {s['unet_rows']:7d} {s['seconds']:9.2f} {s['peak_mb']:9.1f} "
            f"{s['peak_extra_mb']:9.1f}"
        )
    for name, value in results["ratios"].items():
        print(f"{name:28} {value:8.3f}")


if __name__ == "__main__":
    sys.exit(main())
