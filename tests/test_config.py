import pytest

from coloredit import EditConfig, preset
from coloredit.errors import ColorEditError


def test_paper_defaults():
    config = preset("paper")
    assert (config.num_inference_steps, config.guidance_scale, config.tau, config.blend_ratio) == (50, 7.5, 0.8, 0.1)
    assert config.inversion == "null-text" and config.value_align and config.self_attn_replace


def test_a_plain_config_is_the_default_recipe_and_the_paper_is_explicit():
    """`EditConfig()` means what `coloredit edit` does; only `preset("paper")` means the paper's method."""
    assert EditConfig() == preset() == preset("coloredit")
    assert EditConfig().inversion == "direct" and EditConfig().exact_color and EditConfig().color_transfer
    paper = preset("paper")
    assert not (paper.exact_color or paper.color_transfer or paper.crop_to_object)
    assert (paper.target_prompt, paper.self_attn_blocks) == ("source", ("up_blocks",))
    assert paper.inversion == "null-text" and paper.keep_reference_branch


def test_overrides_parse_by_field_type():
    config = EditConfig().with_overrides(
        [
            "tau=0.7",
            "value_align=false",
            "value_align_up_blocks=1,3",
            "self_attn_blocks=down_blocks,up_blocks",
            "self_attn_steps=0,0.5",
            "num-inference-steps=20",
        ]
    )
    assert config.tau == 0.7 and config.value_align is False and config.value_align_up_blocks == (1, 3)
    assert config.self_attn_blocks == ("down_blocks", "up_blocks") and config.self_attn_steps == (0.0, 0.5)
    assert config.num_inference_steps == 20
    assert EditConfig().with_overrides(["value_align_up_blocks=none"]).value_align_up_blocks is None


@pytest.mark.parametrize(
    "assignment",
    [
        "tau=1.5",
        "nope=1",
        "tau",
        "value_align=maybe",
        "inversion=magic",
        "num_inference_steps=x",
        "self_attn_blocks=middle",
    ],
)
def test_bad_overrides_are_clear_errors(assignment):
    with pytest.raises(ColorEditError):
        EditConfig().with_overrides([assignment])
