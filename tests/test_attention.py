import math

import pytest
import torch
from conftest import INTERVENTIONS_OFF
from diffusers.models.attention_processor import AttnProcessor2_0

from coloredit import preset
from coloredit.attention import (
    BranchLayout,
    EditAttnProcessor,
    EditController,
    ReferenceAppearance,
    SourceStructure,
    ValueAlignment,
    installed,
)
from coloredit.branch_names import REFERENCE, SOURCE, TARGET, BranchName, target
from coloredit.inversion import NoiseSchedule

LAYOUT = BranchLayout()


def project_heads(attn, hidden):
    """q, k, v of self-attention computed explicitly, as (batch, heads, tokens, head_dim)."""

    def heads(x):
        return x.view(x.shape[0], -1, attn.heads, x.shape[-1] // attn.heads).transpose(1, 2)

    return heads(attn.to_q(hidden)), heads(attn.to_k(hidden)), heads(attn.to_v(hidden))


def attention_module(unet, kind: str):
    return unet.up_blocks[1].attentions[0].transformer_blocks[0].get_submodule(kind)


def test_value_alignment_gives_target_the_reference_statistics():
    controller = EditController(preset("paper"), num_steps=50, num_train_timesteps=1000)
    generator = torch.Generator().manual_seed(0)
    scale, shift = 0.5 + 3 * torch.rand(6, 1, 1, 8, generator=generator), torch.randn(6, 1, 1, 8, generator=generator)
    value = torch.randn(6, 4, 16, 8, generator=generator) * scale + shift
    _, _, aligned, _ = ValueAlignment(controller).apply(None, None, value, None, None)
    for half in range(2):
        target, reference = LAYOUT.row(half, TARGET), LAYOUT.row(half, REFERENCE)
        torch.testing.assert_close(aligned[target].mean(-2), value[reference].mean(-2), atol=1e-5, rtol=0)
        torch.testing.assert_close(
            aligned[target].std(-2, unbiased=False), value[reference].std(-2, unbiased=False), atol=1e-4, rtol=1e-4
        )
    untouched = [LAYOUT.row(h, b) for h in range(2) for b in (REFERENCE, SOURCE)]
    assert torch.equal(aligned[untouched], value[untouched])


@pytest.mark.parametrize(("up_blocks", "expected_blocks"), [(None, {1, 2}), ((2,), {2})])
def test_value_alignment_touches_only_chosen_layers_and_early_steps(pipe, up_blocks, expected_blocks):
    config = preset("paper").replace(
        num_inference_steps=10, tau=0.8, value_align_up_blocks=up_blocks, self_attn_replace=False
    )
    schedule = NoiseSchedule(pipe.scheduler, 10)
    controller = EditController(config, len(schedule), schedule.num_train_timesteps)
    with installed(pipe.unet, controller.processors(pipe.unet)):
        latents, text = torch.randn(6, 4, 8, 8), torch.randn(6, 16, 32)
        with torch.no_grad():
            for step, timestep in enumerate(schedule.timesteps):
                controller.set_step(step, timestep)
                pipe.unet(latents, timestep, encoder_hidden_states=text)
    early_steps = sum(t >= 800 for t in schedule.timesteps)
    assert early_steps == 2  # t in [0.8T, T]: the first 20% of 10 steps
    layers = [n for n in pipe.unet.attn_processors if n.endswith("attn2.processor") and n.startswith("up_blocks")]
    expected = {n for n in layers if int(n.split(".")[1]) in expected_blocks}
    assert set(controller.applied) == {(name, "value_alignment") for name in expected}
    assert all(count == early_steps for count in controller.applied.values())


def test_structure_processor_is_the_source_attention_map_applied_to_target_values(pipe):
    attn = attention_module(pipe.unet, "attn1")
    controller = EditController(preset("paper"), num_steps=10, num_train_timesteps=1000)
    hidden = torch.randn(6, 64, attn.to_q.in_features)
    with torch.no_grad():
        out = EditAttnProcessor(controller, "x", [SourceStructure(controller)])(attn, hidden)
        plain = AttnProcessor2_0()(attn, hidden)

        q, k, v = project_heads(attn, hidden)
        for half in range(2):
            s, t = LAYOUT.row(half, SOURCE), LAYOUT.row(half, TARGET)
            attention_map = torch.softmax(q[s] @ k[s].transpose(-1, -2) / math.sqrt(q.shape[-1]), dim=-1)
            explicit = attn.to_out[0]((attention_map @ v[t]).transpose(0, 1).reshape(64, -1))
            torch.testing.assert_close(out[t], explicit, atol=1e-5, rtol=1e-5)
            torch.testing.assert_close(out[s], plain[s], atol=1e-6, rtol=0)


def test_structure_reaches_both_target_halves_from_an_unguided_source_row(pipe):
    """With the source conditional only (3 rows: target uncond | source, target cond), both target rows
    get the source row's attention map."""
    attn = attention_module(pipe.unet, "attn1")
    layout = BranchLayout((SOURCE, TARGET), unguided=(SOURCE,))
    assert layout.rows == 3 and layout.row(0, SOURCE) == layout.row(1, SOURCE) == 1
    controller = EditController(preset("paper"), num_steps=10, num_train_timesteps=1000, layout=layout)
    hidden = torch.randn(3, 64, attn.to_q.in_features)
    with torch.no_grad():
        out = EditAttnProcessor(controller, "x", [SourceStructure(controller)])(attn, hidden)
        q, k, v = project_heads(attn, hidden)
    attention_map = torch.softmax(q[1] @ k[1].transpose(-1, -2) / math.sqrt(q.shape[-1]), dim=-1)
    for row in (layout.row(0, TARGET), layout.row(1, TARGET)):
        explicit = attn.to_out[0]((attention_map @ v[row]).transpose(0, 1).reshape(64, -1))
        torch.testing.assert_close(out[row], explicit, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("kind", ["attn1", "attn2"])
def test_inactive_processor_equals_diffusers_default(pipe, kind):
    attn = attention_module(pipe.unet, kind)
    controller = EditController(preset("paper").replace(**INTERVENTIONS_OFF), num_steps=10, num_train_timesteps=1000)
    hidden = torch.randn(6, 64, attn.to_q.in_features)
    context = torch.randn(6, 16, 32) if kind == "attn2" else None
    with torch.no_grad():
        ours = EditAttnProcessor(controller, "x", [])(attn, hidden, context)
        theirs = AttnProcessor2_0()(attn, hidden, context)
    assert torch.equal(ours, theirs)


def test_appearance_lets_object_queries_see_only_the_reference_object(pipe):
    attn = attention_module(pipe.unet, "attn1")
    target_region, reference_region = torch.zeros(1, 1, 8, 8), torch.zeros(1, 1, 8, 8)
    target_region[..., :4, :4], reference_region[..., 4:, 4:] = 1.0, 1.0
    controller = EditController(
        preset("paper").replace(appearance_transfer=True),
        num_steps=10,
        num_train_timesteps=1000,
        regions={TARGET: target_region, REFERENCE: reference_region},
    )
    hidden = torch.randn(6, 64, attn.to_q.in_features)
    with torch.no_grad():
        out = EditAttnProcessor(controller, "x", [ReferenceAppearance(controller)])(attn, hidden)
        plain = AttnProcessor2_0()(attn, hidden)

        q, k, v = project_heads(attn, hidden)
        inside, ref_inside = target_region.flatten() > 0.5, reference_region.flatten() > 0.5
        for half in range(2):
            t, r = LAYOUT.row(half, TARGET), LAYOUT.row(half, REFERENCE)
            keys, values = torch.cat([k[t], k[r][:, ref_inside]], dim=1), torch.cat([v[t], v[r][:, ref_inside]], dim=1)
            weights = torch.softmax(q[t][:, inside] @ keys.transpose(-1, -2) / math.sqrt(q.shape[-1]), dim=-1)
            explicit = attn.to_out[0]((weights @ values).transpose(0, 1).reshape(int(inside.sum()), -1))
            torch.testing.assert_close(out[t][inside], explicit, atol=1e-5, rtol=1e-5)
            torch.testing.assert_close(out[t][~inside], plain[t][~inside], atol=1e-5, rtol=0)
            for branch in (REFERENCE, SOURCE):
                torch.testing.assert_close(
                    out[LAYOUT.row(half, branch)], plain[LAYOUT.row(half, branch)], atol=1e-6, rtol=0
                )


def test_every_edit_kind_acts_in_a_full_edit(pipe):
    """Each configured intervention runs in the layers it is meant for (guards against a silent no-op)."""
    config = preset("paper").replace(
        num_inference_steps=5,
        appearance_transfer=True,
        cross_attn_replace=True,
        mutual_self_attn=True,
        inversion="ddim",
    )
    schedule = NoiseSchedule(pipe.scheduler, 5)
    regions = {TARGET: torch.ones(1, 1, 8, 8), REFERENCE: torch.ones(1, 1, 8, 8)}
    controller = EditController(config, 5, 1000, regions=regions)
    with installed(pipe.unet, controller.processors(pipe.unet)), torch.no_grad():
        for step, timestep in enumerate(schedule.timesteps):
            controller.set_step(step, timestep)
            out = pipe.unet(torch.randn(6, 4, 8, 8), timestep, encoder_hidden_states=torch.randn(6, 16, 32)).sample
    kinds = {kind for _, kind in controller.applied}
    assert kinds == {"structure", "appearance", "mutual", "cross_maps", "value_alignment"}
    assert torch.isfinite(out).all()


def test_branch_names_order_the_batch_and_pair_each_target_with_its_own_reference():
    """Rows as the single edit lays them out (references, source, targets by index), whatever order the
    branches were made in; a colorway batch starting at its third target is named among all of them."""
    made = [target(1), SOURCE, target(1).reference, TARGET, REFERENCE]
    rows = [REFERENCE, BranchName("reference", 1), SOURCE, TARGET, target(1)]
    assert sorted(made, key=lambda name: name.order) == rows
    assert [str(name) for name in (SOURCE, TARGET, target(2), target(2).reference)] == [
        "source",
        "target",
        "target2",
        "reference2",
    ]
    assert [name.among(2) for name in (SOURCE, TARGET, REFERENCE)] == [SOURCE, target(2), BranchName("reference", 2)]
