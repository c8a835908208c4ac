import torch

from coloredit.branch_names import REFERENCE, TARGET
from coloredit.latents import (
    CleanColorTransfer,
    latent_coverage,
    latent_mask,
    masked_channel_covariance,
    masked_channel_stats,
    whiten_color,
)


def correlated(generator, scale):
    mixing = torch.randn(4, 4, generator=generator) * scale
    return (mixing @ torch.randn(4, 64, generator=generator)).reshape(1, 4, 8, 8) + torch.randn(4, 1, 1)


def test_whiten_color_gives_the_target_joint_statistics():
    generator = torch.Generator().manual_seed(0)
    source, reference = correlated(generator, 1.0), correlated(generator, 0.3)
    everywhere = torch.ones(1, 1, 8, 8)
    mean, cov = masked_channel_covariance(source, everywhere)
    ref_mean, ref_cov = masked_channel_covariance(reference, everywhere)
    moved = whiten_color(source, mean, cov, ref_mean, ref_cov)
    new_mean, new_cov = masked_channel_covariance(moved, everywhere)
    torch.testing.assert_close(new_mean, ref_mean, atol=1e-4, rtol=0)
    torch.testing.assert_close(new_cov, ref_cov, atol=1e-4, rtol=1e-3)


def test_clean_transfer_changes_only_the_object_and_only_in_its_steps():
    generator = torch.Generator().manual_seed(1)
    region = torch.zeros(1, 1, 8, 8)
    region[..., 2:6, 2:6] = 1.0
    reference_clean = torch.randn(1, 4, 8, 8, generator=generator) * 0.2 + 3.0
    for mode in ("adain", "wct"):
        transfer = CleanColorTransfer(3, region, torch.ones(1, 1, 8, 8), reference_clean, True, mode)
        clean = {TARGET: torch.randn(1, 4, 8, 8, generator=generator), REFERENCE: torch.zeros(1, 4, 8, 8)}
        before = clean[TARGET].clone()
        transfer(0, 999, clean)
        inside, _ = masked_channel_stats(clean[TARGET], region)
        goal, _ = masked_channel_stats(reference_clean, torch.ones(1, 1, 8, 8))
        torch.testing.assert_close(inside, goal, atol=1e-4, rtol=0)
        assert torch.equal(clean[TARGET][..., region[0, 0] == 0], before[..., region[0, 0] == 0])
        late = {TARGET: before.clone(), REFERENCE: torch.zeros(1, 4, 8, 8)}
        transfer(3, 10, late)
        assert torch.equal(late[TARGET], before)


def test_latent_masks():
    pixels = torch.zeros(64, 64, dtype=torch.bool)
    pixels[8:16, 8:12] = True
    coverage = latent_coverage(pixels.numpy(), (8, 8))
    assert coverage[0, 0, 1, 1].item() == 0.5 and coverage.sum().item() * 64 == pixels.sum().item()
    grown = latent_mask(coverage, 1)
    assert grown.sum().item() == 9 and grown[0, 0, 0, 0] == 1
