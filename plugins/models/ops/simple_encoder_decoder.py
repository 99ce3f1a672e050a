"""MMagic's ``SimpleEncoderDecoder``: ``decoder(encoder(x))``, the backbone of the matting models. The
decoder's ``in_channels`` is the encoder's ``out_channels`` (MMagic's rule). An encoder's
``init_cfg=dict(type='Pretrained', checkpoint=PATH)`` loads its weights from a local file or URL;
OpenMMLab's ``open-mmlab://`` names are not resolved offline (ConfigError saying what to do)."""
from __future__ import annotations

from typing import Any

from torch import nn

from mgx.core.errors import ConfigError
from mgx.core.registry import build


class SimpleEncoderDecoder(nn.Module):
    def __init__(self, encoder: dict, decoder: dict, init_cfg: dict | None = None) -> None:
        super().__init__()
        from ..base_models.pretrained import load_pretrained, split_init_cfg

        if init_cfg is not None:
            raise ConfigError("SimpleEncoderDecoder: init_cfg is not supported; load MMagic weights with load_from")
        encoder_cfg, encoder_init = split_init_cfg(encoder, "SimpleEncoderDecoder.encoder")
        if encoder_init is not None and str(encoder_init["checkpoint"]).startswith("open-mmlab://"):
            raise ConfigError(f"SimpleEncoderDecoder.encoder.init_cfg: {encoder_init['checkpoint']} is an "
                              "OpenMMLab model-zoo name, which mgx does not resolve offline: download the file and "
                              "give its path (checkpoint=...), or train from scratch with "
                              "model.backbone.encoder.init_cfg=None")
        self.encoder = build(encoder_cfg, "model")
        decoder = dict(decoder)
        if hasattr(self.encoder, "out_channels"):
            decoder["in_channels"] = self.encoder.out_channels
        self.decoder = build(decoder, "model")
        if encoder_init is not None:
            load_pretrained(self.encoder, encoder_init, "SimpleEncoderDecoder.encoder")

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        return self.decoder(self.encoder(*args, **kwargs))


__all__ = ["SimpleEncoderDecoder"]
