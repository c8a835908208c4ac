"""An honest object detector for the toy world: finds objects and their shapes from pixels alone.

Scoring generations needs each object's mask and shape without the caption's help. A small fully
convolutional network labels every pixel as background or one of the shapes; it is trained on renders
(exact masks) of seeds no other set uses, ships in the package (`assets/toy-detector.safetensors`,
~0.3 MB), and is rebuilt with `python -m coloredit.toy detector`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from scipy import ndimage
from torch import nn
from tqdm import tqdm

from .render import SHAPES, render

DETECTOR = Path(__file__).resolve().parent.parent / "assets" / "toy-detector.safetensors"
DETECTOR_SEED = 90_000_000  # renders for the detector start here; no other set draws from this range
MIN_PIXELS = 12  # smaller components are noise, not objects


class Segmenter(nn.Module):
    """Per-pixel classes (0 background, 1 + shape index) at 64x64; a receptive field of the whole image."""

    def __init__(self, width: int = 16):
        super().__init__()

        def block(cin, cout, dilation=1, stride=1):
            return nn.Sequential(
                nn.Conv2d(cin, cout, 3, stride=stride, padding=dilation, dilation=dilation),
                nn.GroupNorm(8, cout),
                nn.SiLU(),
            )

        self.stem = block(3, width)  # 64x64
        self.to_half = block(width, 2 * width, stride=2)  # 32x32
        self.quarter = nn.Sequential(
            block(2 * width, 4 * width, stride=2), *(block(4 * width, 4 * width, d) for d in (2, 4, 8))
        )
        self.up_half = block(6 * width, 2 * width)
        self.head = nn.Sequential(block(3 * width, width), nn.Conv2d(width, 1 + len(SHAPES), 1))

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        full = self.stem(images)
        half = self.to_half(full)
        up = nn.functional.interpolate(self.quarter(half), scale_factor=2.0)
        up = nn.functional.interpolate(self.up_half(torch.cat([half, up], 1)), scale_factor=2.0)
        return self.head(torch.cat([full, up], 1))


def labels_of(scene) -> np.ndarray:
    label = np.zeros(scene.image.shape[:2], dtype=np.int64)
    for obj, mask in zip(scene.spec.objects, scene.masks, strict=True):
        label[mask] = 1 + SHAPES.index(obj.shape)
    return label


def _tensor(images: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.asarray(images, dtype=np.float32) / 127.5 - 1).permute(0, 3, 1, 2)


def train_detector(out: Path = DETECTOR, images: int = 8000, steps: int = 4000, batch: int = 32) -> Path:
    """Train on `images` renders; deterministic; writes fp16 safetensors atomically."""
    from safetensors.torch import save_file

    torch.manual_seed(0)
    scenes = [render(DETECTOR_SEED + i) for i in tqdm(range(images), desc="render", mininterval=5)]
    x = _tensor(np.stack([s.image for s in scenes]))
    y = torch.from_numpy(np.stack([labels_of(s) for s in scenes]))
    model = Segmenter()
    opt = torch.optim.AdamW(model.parameters(), lr=2e-3)
    schedule = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=2e-3, total_steps=steps)
    bar = tqdm(range(steps), desc="detector")
    for step in bar:
        g = torch.Generator().manual_seed(step)
        index = torch.randint(len(x), (batch,), generator=g)
        loss = nn.functional.cross_entropy(model(x[index]), y[index])
        opt.zero_grad()
        loss.backward()
        opt.step()
        schedule.step()
        bar.set_postfix(loss=f"{loss.item():.4f}")
    out.parent.mkdir(parents=True, exist_ok=True)
    temp = out.with_suffix(".tmp")
    save_file({k: v.half().contiguous() for k, v in model.state_dict().items()}, str(temp))
    os.replace(temp, out)
    return out


@dataclass
class Found:
    shape: str
    mask: np.ndarray  # H x W bool

    @property
    def cx(self) -> float:
        return float(np.nonzero(self.mask)[1].mean())


class Detector:
    """`detect(image)` -> the objects found, largest first."""

    def __init__(self, path: Path = DETECTOR):
        from safetensors.torch import load_file

        self.model = Segmenter()
        self.model.load_state_dict({k: v.float() for k, v in load_file(str(path)).items()})
        self.model.eval()

    @torch.no_grad()
    def labels(self, images: np.ndarray) -> np.ndarray:
        return self.model(_tensor(np.asarray(images).reshape(-1, *np.asarray(images).shape[-3:]))).argmax(1).numpy()

    def detect(self, image: np.ndarray) -> list[Found]:
        label = self.labels(image[None])[0]
        found = []
        parts, count = ndimage.label(label > 0)
        for part in range(1, count + 1):
            region = parts == part
            if region.sum() < MIN_PIXELS:
                continue
            classes = np.bincount(label[region], minlength=1 + len(SHAPES))[1:]
            # touching objects of two shapes form one part: each shape with a good share is an object
            major = [c for c in range(len(SHAPES)) if classes[c] >= max(MIN_PIXELS, 0.25 * region.sum())]
            if len(major) < 2:
                found.append(Found(SHAPES[int(np.argmax(classes))], region))
                continue
            found += [Found(SHAPES[c], region & (label == 1 + c)) for c in major]
        return sorted(found, key=lambda f: -int(f.mask.sum()))
