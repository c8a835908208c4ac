"""MasaCtrl (Cao et al. 2023): mutual self-attention, the target's queries reading the source's keys
and values in the decoder from step 4 of 50, with the new prompt."""

from .base import TEXT_GUIDED, ConfigMethod

MASACTRL = ConfigMethod(
    "masactrl",
    "MasaCtrl: mutual self-attention + new prompt",
    "paper",
    dict(TEXT_GUIDED, mutual_self_attn=True, mutual_steps=(0.08, 1.0)),
    color_from="name",
)
