"""Model-backed metrics: each takes a local path or hub id, loads once, runs on the GPU when there is one.
Built on transformers and plain torch (no torchvision: see the environment notes)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from .base import MeanMetric

IMAGENET = ((0.485, 0.456, 0.406), (0.229, 0.224, 0.225))
CLIP_NORM = ((0.48145466, 0.4578275, 0.40821073), (0.26862954, 0.26130258, 0.27577711))


def default_device() -> torch.device:
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def to_tensor(image: np.ndarray, size: int, norm: tuple, device: torch.device) -> torch.Tensor:
    """uint8 HxWx3 -> normalized 1x3xSxS (bicubic resize, as the models were trained)."""
    x = torch.from_numpy(np.asarray(image, dtype=np.float32) / 255.0).permute(2, 0, 1)[None]
    x = F.interpolate(x, size=(size, size), mode="bicubic", align_corners=False).clamp(0, 1)
    mean, std = (torch.tensor(v).view(1, 3, 1, 1) for v in norm)
    return ((x - mean) / std).to(device)


class StructureDistance(MeanMetric):
    """DS: MSE between the self-similarity matrices (cosine) of the last layer's keys of DINO ViT-B/8
    (Tumanyan et al. 2022, as in PnP and PIE-Bench), x10^3."""

    name, higher_is_better = "DS", False

    def __init__(self, model="facebook/dino-vitb8", image_size: int = 224, device: torch.device | None = None):
        super().__init__()
        from transformers import ViTModel

        self.device = device or default_device()
        self.model = (
            (ViTModel.from_pretrained(str(model), add_pooling_layer=False) if isinstance(model, str | Path) else model)
            .to(self.device)
            .eval()
        )
        self.image_size = image_size
        self._keys: torch.Tensor | None = None
        self.model.layers[-1].attention.k_proj.register_forward_hook(self._keep)

    def _keep(self, module, inputs, output) -> None:
        self._keys = output

    @torch.no_grad()
    def self_similarity(self, image: np.ndarray) -> torch.Tensor:
        size = self.image_size or self.model.config.image_size
        self.model(pixel_values=to_tensor(image, size, IMAGENET, self.device))
        keys = F.normalize(self._keys[0].float(), dim=-1)
        return keys @ keys.T

    def value(self, source, edited, **_):
        return float(F.mse_loss(self.self_similarity(source), self.self_similarity(edited))) * 1e3


class CLIPScore(MeanMetric):
    """CLIP score: 100 x cosine similarity (at least 0) between the edit and "a photo of a {color} {object}"."""

    name = "CLIP"

    def __init__(self, model="openai/clip-vit-large-patch14", device: torch.device | None = None):
        super().__init__()
        from transformers import CLIPModel, CLIPTokenizer

        self.device = device or default_device()
        self.model = CLIPModel.from_pretrained(str(model)) if isinstance(model, str | Path) else model
        self.model = self.model.to(self.device).eval()
        self.tokenizer = CLIPTokenizer.from_pretrained(str(model)) if isinstance(model, str | Path) else None

    @torch.no_grad()
    def score(self, image: np.ndarray, text_ids: torch.Tensor) -> float:
        size = self.model.config.vision_config.image_size
        image_features = self.model.get_image_features(pixel_values=to_tensor(image, size, CLIP_NORM, self.device))
        text_features = self.model.get_text_features(input_ids=text_ids.to(self.device))
        image_features = getattr(image_features, "pooler_output", image_features)
        text_features = getattr(text_features, "pooler_output", text_features)
        similarity = F.cosine_similarity(image_features.float(), text_features.float()).item()
        return max(100.0 * similarity, 0.0)

    def value(self, edited, target_color, object, **_):
        ids = self.tokenizer(
            [f"a photo of a {target_color} {object}"], padding=True, truncation=True, return_tensors="pt"
        ).input_ids
        return self.score(edited, ids)


class AlexNetLPIPS(nn.Module):
    """LPIPS (Zhang et al. 2018) with its AlexNet backbone in plain torch: unit-normalized features of five
    layers, squared differences weighted by learned 1x1 layers, averaged over space, summed."""

    CHANNELS = (64, 192, 384, 256, 256)
    SHIFT, SCALE = (-0.030, -0.088, -0.188), (0.458, 0.448, 0.450)

    def __init__(self) -> None:
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(3, 64, 11, 4, 2),
            nn.ReLU(),
            nn.MaxPool2d(3, 2),
            nn.Conv2d(64, 192, 5, 1, 2),
            nn.ReLU(),
            nn.MaxPool2d(3, 2),
            nn.Conv2d(192, 384, 3, 1, 1),
            nn.ReLU(),
            nn.Conv2d(384, 256, 3, 1, 1),
            nn.ReLU(),
            nn.Conv2d(256, 256, 3, 1, 1),
            nn.ReLU(),
        )
        self.taps = (1, 4, 7, 9, 11)  # outputs of the five ReLUs
        self.lins = nn.ModuleList(nn.Conv2d(c, 1, 1, bias=False) for c in self.CHANNELS)

    @classmethod
    def from_pretrained(cls, path: str | Path) -> AlexNetLPIPS:
        """Weights from one file: torchvision AlexNet names (`features.*`) + lpips' `lin{i}.model.1.weight`."""
        path = Path(path)
        if path.suffix == ".safetensors":
            from safetensors.torch import load_file

            state = load_file(path)
        else:
            state = torch.load(path, map_location="cpu", weights_only=True)
        net = cls()
        net.features.load_state_dict({k[len("features.") :]: v for k, v in state.items() if k.startswith("features.")})
        for i, lin in enumerate(net.lins):
            lin.weight.data.copy_(state[f"lin{i}.model.1.weight"])
        return net.eval()

    def forward(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        """Distance between images in [-1, 1], N x 3 x H x W -> N."""
        shift, scale = (torch.tensor(v, device=a.device).view(1, 3, 1, 1) for v in (self.SHIFT, self.SCALE))
        a, b = (a - shift) / scale, (b - shift) / scale
        total = torch.zeros(a.shape[0], device=a.device)
        for i, layer in enumerate(self.features):
            a, b = layer(a), layer(b)
            if i in self.taps:
                lin = self.lins[self.taps.index(i)]
                na = a / (a.pow(2).sum(1, keepdim=True).sqrt() + 1e-10)
                nb = b / (b.pow(2).sum(1, keepdim=True).sqrt() + 1e-10)
                total = total + lin((na - nb) ** 2).mean(dim=(1, 2, 3))
        return total


class BackgroundLPIPS(MeanMetric):
    """LPIPS_bg: LPIPS between source and edit with the object region blacked out in both."""

    name, higher_is_better = "LPIPS_bg", False

    def __init__(self, weights: str | Path | AlexNetLPIPS, device: torch.device | None = None):
        super().__init__()
        self.device = device or default_device()
        net = weights if isinstance(weights, AlexNetLPIPS) else AlexNetLPIPS.from_pretrained(weights)
        self.net = net.to(self.device).eval()

    @torch.no_grad()
    def value(self, source, edited, mask, **_):
        if mask.all():
            return float("nan")
        keep = torch.from_numpy(~mask).float()[None, None].to(self.device)
        a, b = (
            torch.from_numpy(np.asarray(x, dtype=np.float32) / 127.5 - 1).permute(2, 0, 1)[None].to(self.device) * keep
            for x in (source, edited)
        )
        return float(self.net(a, b)[0])
