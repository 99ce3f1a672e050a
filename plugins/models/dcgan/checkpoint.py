"""MMagic 1.2.0 DCGAN state dicts -> mgx's ``DCGAN`` (MMagic's form) state dict.

mgx's ``DCGANGenerator``/``DCGANDiscriminator`` name their layers as MMagic's do
(``ConvModule``'s ``conv``/``bn``/``activate`` inside ``noise2feat``,
``upsampling.<i>``, ``output_layer``, ``downsamples.<i>``), so the keys carry over
one to one:

=================================================  ==========================================
MMagic key                                           mgx key
=================================================  ==========================================
``state_dict`` (mmengine's checkpoint wrapper)       unwrapped by the engine (``weights_of``)
``generator.<layer>.conv|bn.<param>``                the same key
``discriminator.<layer>.conv|bn.<param>``            the same key
``data_preprocessor.<buffer>``                       dropped (mean/std come from the config)
=================================================  ==========================================

A checkpoint trained with ``model.ema_config`` also holds ``generator_ema.*``;
mgx keeps its average outside the model (top-level ``ema_config``), so loading
such a file names those keys as unexpected.
"""
from __future__ import annotations


def convert_mmagic_state_dict(weights: dict) -> dict:
    return {key: value for key, value in weights.items() if not key.startswith("data_preprocessor.")}


__all__ = ["convert_mmagic_state_dict"]
