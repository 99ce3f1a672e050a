"""``StyleGANv3Generator`` (alias ``StyleGAN3Generator``): MMagic 1.2.0's arguments and keys
(``style_mapping.*``, ``synthesis.*``), config-T (3×3 convs) and config-R (1×1 convs, radial filters)
chosen by ``synthesis_cfg``."""
from __future__ import annotations

import torch
from torch import nn

from mgx.core.errors import ConfigError

from .modules import MappingNetwork, SynthesisNetwork


def _sub_config(cfg: dict | None, kind: str, what: str) -> dict:
    cfg = dict(cfg or {})
    given = cfg.pop("type", kind)
    if given != kind:
        raise ConfigError(f"StyleGANv3Generator: {what}.type must be {kind!r}, got {given!r}")
    return cfg


class StyleGANv3Generator(nn.Module):
    # what the shared StyleGAN2 training step asks of a generator: no style mixing, no injected noise
    default_style_mode = "single"
    mix_prob = 0.0

    def __init__(self, out_size: int, style_channels: int, img_channels: int, noise_size: int = 512,
                 rgb2bgr: bool = False, pretrained: dict | None = None, synthesis_cfg: dict | None = None,
                 mapping_cfg: dict | None = None) -> None:
        super().__init__()
        if not isinstance(out_size, int) or out_size < 4:
            raise ConfigError(f"StyleGANv3Generator: out_size must be an int >= 4 (set it to the data's size), "
                              f"got {out_size!r}")
        if pretrained is not None:
            raise ConfigError("StyleGANv3Generator: pretrained= is not supported; use load_from")
        self.noise_size, self.style_channels, self.out_size = noise_size, style_channels, out_size
        self.img_channels = self.out_channels = img_channels
        self.rgb2bgr = rgb2bgr
        synthesis = _sub_config(synthesis_cfg, "SynthesisNetwork", "synthesis_cfg")
        synthesis.setdefault("style_channels", style_channels)
        synthesis.setdefault("out_size", out_size)
        synthesis.setdefault("img_channels", img_channels)
        self.synthesis = SynthesisNetwork(**synthesis)
        self.num_ws = self.num_latents = self.synthesis.num_ws
        mapping = _sub_config(mapping_cfg, "MappingNetwork", "mapping_cfg")
        mapping.setdefault("noise_size", noise_size)
        mapping.setdefault("style_channels", style_channels)
        mapping.setdefault("num_ws", self.num_ws)
        self.style_mapping = MappingNetwork(**mapping)

    def noise_shapes(self) -> list:
        return []  # StyleGAN3 injects no per-pixel noise

    def forward(self, noise=None, num_batches: int = 0, input_is_latent: bool = False, truncation: float = 1,
                num_truncation_layer: int | None = None, update_emas: bool = False, force_fp32: bool = True,
                return_noise: bool = False, return_latents: bool = False, inject_index=None,
                injected_noise=None):
        """MMagic's call; ``noise`` may also be the shared StyleGAN2 step's one-element latent list
        (``inject_index``/``injected_noise`` are then None: StyleGAN3 mixes no styles, injects no noise)."""
        if isinstance(noise, (list, tuple)):
            noise = noise[0]
        size = self.style_channels if input_is_latent else self.noise_size
        if isinstance(noise, torch.Tensor):
            if noise.dim() != 2 or noise.shape[1] != size:
                raise ValueError(f"StyleGANv3Generator: noise must be N×{size}, got {tuple(noise.shape)}")
            batch = noise
        elif callable(noise):
            batch = noise((num_batches, size))
        else:
            batch = torch.randn(num_batches, size)
        batch = batch.to(self.synthesis.input.freqs.device)
        if input_is_latent:
            ws = batch.unsqueeze(1).repeat([1, self.num_ws, 1])
        else:
            ws = self.style_mapping(batch, truncation=truncation, num_truncation_layer=num_truncation_layer,
                                    update_emas=update_emas)
        image = self.synthesis(ws, update_emas=update_emas, force_fp32=force_fp32)
        if self.rgb2bgr:
            image = image[:, [2, 1, 0]]
        if return_noise or return_latents:
            return dict(fake_img=image, noise_batch=batch, latent=ws)
        return image

    def get_mean_latent(self, num_samples: int = 4096, **kwargs) -> torch.Tensor:
        return self.style_mapping.w_avg
