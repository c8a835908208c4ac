import numpy as np
import pytest
import torch
import torch.nn.functional as F
from safetensors.torch import save_file
from transformers import CLIPConfig, CLIPModel, ViTConfig, ViTModel

from coloredit.bench.metrics.models import (
    IMAGENET,
    AlexNetLPIPS,
    BackgroundLPIPS,
    CLIPScore,
    StructureDistance,
    to_tensor,
)
from coloredit.tokenizer import build_tokenizer

RNG = np.random.default_rng(0)
CPU = torch.device("cpu")


def images():
    a = RNG.integers(0, 256, (40, 40, 3)).astype(np.uint8)
    return a, np.roll(a, 7, axis=1)


@pytest.fixture(scope="module")
def dino_dir(tmp_path_factory):
    torch.manual_seed(0)
    folder = tmp_path_factory.mktemp("dino")
    config = ViTConfig(
        hidden_size=32, num_hidden_layers=2, num_attention_heads=2, intermediate_size=64, image_size=32, patch_size=8
    )
    ViTModel(config, add_pooling_layer=False).save_pretrained(folder)
    return folder


def test_structure_distance_matches_an_explicit_computation(dino_dir):
    metric = StructureDistance(dino_dir, image_size=32, device=CPU)
    a, b = images()
    assert metric.update(source=a, edited=a) == 0.0

    def explicit(image):
        with torch.no_grad():
            hidden = metric.model(pixel_values=to_tensor(image, 32, IMAGENET, CPU), output_hidden_states=True)
            layer = metric.model.layers[-1]
            keys = F.normalize(layer.attention.k_proj(layer.layernorm_before(hidden.hidden_states[-2]))[0], dim=-1)
        return keys @ keys.T

    expected = F.mse_loss(explicit(a), explicit(b)).item() * 1e3
    assert metric.update(source=a, edited=b) == pytest.approx(expected, rel=1e-5)
    assert metric.compute()["n"] == 2


def test_clip_score_is_scaled_clamped_cosine(tmp_path):
    torch.manual_seed(0)
    config = CLIPConfig(
        text_config=dict(
            hidden_size=32,
            intermediate_size=64,
            num_hidden_layers=1,
            num_attention_heads=2,
            vocab_size=600,
            max_position_embeddings=16,
        ),
        vision_config=dict(
            hidden_size=32,
            intermediate_size=64,
            num_hidden_layers=1,
            num_attention_heads=2,
            image_size=32,
            patch_size=8,
        ),
        projection_dim=16,
    )
    CLIPModel(config).save_pretrained(tmp_path)
    build_tokenizer(["a", "photo", "of", "red", "car"], 16).save_pretrained(tmp_path)
    metric = CLIPScore(tmp_path, device=CPU)
    a, _ = images()
    value = metric.update(edited=a, target_color="red", object="car")
    ids = metric.tokenizer(["a photo of a red car"], return_tensors="pt").input_ids
    with torch.no_grad():
        image_features = metric.model.get_image_features(
            pixel_values=to_tensor(
                a, 32, ((0.48145466, 0.4578275, 0.40821073), (0.26862954, 0.26130258, 0.27577711)), CPU
            )
        )
        text_features = metric.model.get_text_features(input_ids=ids)
    cosine = F.cosine_similarity(
        getattr(image_features, "pooler_output", image_features), getattr(text_features, "pooler_output", text_features)
    ).item()
    assert value == pytest.approx(max(100 * cosine, 0.0), abs=1e-4)
    assert 0.0 <= value <= 100.0


@pytest.fixture(scope="module")
def lpips_file(tmp_path_factory):
    torch.manual_seed(0)
    net = AlexNetLPIPS()
    state = {f"features.{k}": v for k, v in net.features.state_dict().items()}
    state.update({f"lin{i}.model.1.weight": lin.weight.detach().abs() for i, lin in enumerate(net.lins)})
    path = tmp_path_factory.mktemp("lpips") / "lpips_alex.safetensors"
    save_file(state, str(path))
    return path


def test_lpips_is_a_distance(lpips_file):
    net = AlexNetLPIPS.from_pretrained(lpips_file)
    x, y = torch.rand(2, 3, 64, 64) * 2 - 1, torch.rand(2, 3, 64, 64) * 2 - 1
    with torch.no_grad():
        assert torch.allclose(net(x, x), torch.zeros(2))
        assert torch.allclose(net(x, y), net(y, x))
        assert (net(x, y) > 0).all()


def test_background_lpips_ignores_the_object(lpips_file):
    metric = BackgroundLPIPS(lpips_file, device=CPU)
    source = RNG.integers(0, 256, (64, 64, 3)).astype(np.uint8)
    mask = np.zeros((64, 64), bool)
    mask[16:48, 16:48] = True
    recolored = source.copy()
    recolored[mask] = 255 - recolored[mask]
    assert metric.update(source=source, edited=recolored, mask=mask) == pytest.approx(0.0, abs=1e-7)
    damaged = recolored.copy()
    damaged[:8] = 0
    assert metric.update(source=source, edited=damaged, mask=mask) > 0
    assert np.isnan(metric.update(source=source, edited=source, mask=np.ones((64, 64), bool)))
    assert metric.compute()["nan"] == 1
