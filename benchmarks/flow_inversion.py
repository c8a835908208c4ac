"""Inversion then reconstruction with no edit, on tiny random-weight models, beside plain sampling's own error.

For each model: a clean latent made by plain generation (n steps); its inversion to noise and the reconstruction
from that noise (n steps each); the relative RMS error of the reconstruction, against the sampling error of
plain generation itself (the same noise sampled with n steps against 8n steps: how far n steps are from the
ODE's solution). Denoiser calls (NFE) are counted. Rows:

- SD (tiny U-Net): DDIM inversion and DDIM sampling, the SD path's;
- FLUX / SD3 (tiny transformers), Euler: the pipeline's inversion (the flow's Euler step, which is DDIM's on
  normalized latents, `coloredit.flow`) and Euler sampling;
- FLUX / SD3, RF-Solver-2 (Wang et al. 2024, "Taming Rectified Flow for Inversion and Editing", arXiv
  2411.04746): the second-order step x' = x + d v + d^2/2 v', v' from a half step's velocity (which is the
  midpoint rule x' = x + d v(x + d/2 v, s + d/2)), for inversion and sampling; two calls a step.

The edit itself needs neither to be exact: under direct inversion (the default) the source branch is put back on
its inverted trajectory after every step.

    python benchmarks/flow_inversion.py [--steps 10] [--json]
"""

from __future__ import annotations

import argparse
import itertools
import json
import os

os.environ.setdefault("OMP_NUM_THREADS", "1")


def relative(a, b) -> float:
    return float((a - b).pow(2).mean().sqrt() / b.pow(2).mean().sqrt())


def rf_solver(velocity, x, sigmas: list[float]):
    """RF-Solver-2 along `sigmas` (either direction): per step x + d v(x + d/2 v, s + d/2)."""
    for here, there in itertools.pairwise(sigmas):
        step = there - here
        half = x + step / 2 * velocity(x, here)
        x = x + step * velocity(half, here + step / 2)
    return x


def pipeline_row(name: str, pipe, steps: int, prompt: str, label: str) -> tuple[dict, object]:
    """The pipeline's own inversion (`ddim_inversion`) and sampling (`guided_ddim`) through `predict_noise`, on
    the family's schedule; with the clean latent (normalized: at the clean level it is x itself)."""
    from coloredit.inversion import ddim_inversion, guided_ddim

    counted = {"calls": 0}

    def eps(*args):
        counted["calls"] += 1
        return pipe.predict_noise(*args)

    cond = pipe.encode_text([prompt])
    noise = pipe.initial_noise(0, (pipe.native_size, pipe.native_size))

    def sample(start, n):
        return guided_ddim(eps, start, cond, lambda step: cond, pipe.family.schedule(pipe, n), 1.0)

    clean = sample(noise, steps)
    sampling_error = relative(clean, sample(noise, 8 * steps))
    counted["calls"] = 0
    trajectory = ddim_inversion(eps, clean, cond, pipe.family.schedule(pipe, steps))
    back = sample(trajectory[-1:], steps)
    row = {
        "model": name,
        "inversion": label,
        "nfe": counted["calls"],
        "reconstruction_error": round(relative(back, clean), 5),
        "sampling_error": round(sampling_error, 5),
    }
    return row, clean


def rf_solver_row(name: str, pipe, steps: int, prompt: str, clean, sampling_error: float) -> dict:
    """RF-Solver-2 on the flow's own x (the transformer's velocity, `FlowFamily.velocity`), same levels."""
    import torch

    counted, cond = {"calls": 0}, pipe.encode_text([prompt])

    def velocity(x, sigma):
        counted["calls"] += 1
        return pipe.family.velocity(pipe, x, torch.as_tensor(sigma), cond)

    sigmas = pipe.family.schedule(pipe, steps).sigmas
    back = rf_solver(velocity, rf_solver(velocity, clean, sigmas[::-1]), sigmas)
    return {
        "model": name,
        "inversion": "RF-Solver-2",
        "nfe": counted["calls"],
        "reconstruction_error": round(relative(back, clean), 5),
        "sampling_error": sampling_error,
    }


def main() -> int:
    import torch

    from coloredit import ColorEditPipeline
    from coloredit.tiny import tiny_components, tiny_flux_components, tiny_sd3_components

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--prompt", default="a photo of a red car")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    torch.set_num_threads(1)
    rows = []
    with torch.no_grad():
        sd = ColorEditPipeline(**tiny_components())
        sd.unet.conv_out.weight.mul_(0.05)  # a random U-Net is a smooth denoiser once its output layer is small
        sd.unet.conv_out.bias.mul_(0.05)
        rows.append(pipeline_row("SD (U-Net)", sd, args.steps, args.prompt, "DDIM (the pipeline's)")[0])
        for name, make in (("FLUX.1", tiny_flux_components), ("SD3", tiny_sd3_components)):
            pipe = ColorEditPipeline(**make())
            row, clean = pipeline_row(name, pipe, args.steps, args.prompt, "Euler (the pipeline's)")
            rows += [row, rf_solver_row(name, pipe, args.steps, args.prompt, clean, row["sampling_error"])]
    if args.json:
        print(json.dumps(rows, indent=1))
        return 0
    print(f"{args.steps} steps; relative RMS of latents: reconstruction vs the clean latent, sampling n vs 8n steps")
    print(f"{'model':12} {'inversion':24} {'NFE':>5} {'reconstruction':>15} {'sampling':>10}")
    for r in rows:
        print(
            f"{r['model']:12} {r['inversion']:24} {r['nfe']:5d} {r['reconstruction_error']:15.5f} "
            f"{r['sampling_error']:10.5f}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
