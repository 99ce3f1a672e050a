"""Tiny network widths for a trial (``zoo_trials.py --tiny``): the config's layout kept (scales, attention
positions, number of stages), its channels cut so that a family's every config runs in seconds on 2 CPU
cores. Beyond what a user changes to run a config: a --tiny row says the config is read, built, trained
and tested by mgx, not that it runs at MMagic's width.

A family adds its generator type to ``TINY`` (``type -> function(cfg, image side) -> --cfg-options``).
"""
from __future__ import annotations

from typing import Callable

TinyWidths = Callable[[dict, int], list[str]]


def _fixed(*options: str) -> TinyWidths:
    return lambda cfg, size: [option.format(size=size) for option in options]


# MMagic's default channel tables by scale (the conditional generators select their layout by scale)
SNGAN_TABLES = {"generator": {32: [1, 1, 1], 128: [16, 16, 8, 4, 2]},
                "discriminator": {32: ([1, 1, 1], [True, False, False]),
                                  128: ([2, 4, 8, 16, 16], [True, True, True, True, False])}}
BIGGAN_STAGES = {32: 3, 64: 4, 128: 5, 256: 6, 512: 7}


def _sngan(cfg: dict, size: int) -> list[str]:
    """SNGAN/SAGAN: the scale's channel table at base width 8/4; the generator starts at size / 2^stages."""
    gen, disc = cfg["model"]["generator"], cfg["model"]["discriminator"]
    channels = SNGAN_TABLES["generator"][gen["output_scale"]]
    disc_channels, downsample = SNGAN_TABLES["discriminator"][disc["input_scale"]]
    return [f"model.generator.output_scale={size}", f"model.generator.channels_cfg={channels}",
            f"model.generator.input_scale={size >> len(channels)}",
            f"model.generator.base_channels={8 if gen['output_scale'] == 32 else 4}",
            f"model.discriminator.input_scale={size}", f"model.discriminator.channels_cfg={disc_channels}",
            f"model.discriminator.downsample_cfg={downsample}", "model.discriminator.base_channels=8"]


def _biggan(cfg: dict, size: int) -> list[str]:
    gen, disc = cfg["model"]["generator"], cfg["model"]["discriminator"]
    stages = BIGGAN_STAGES[gen["output_scale"]]
    return [f"model.generator.input_scale={size >> stages}", "model.generator.base_channels=4",
            "model.generator.shared_dim=8",
            "model.discriminator.base_channels=4" if "Deep" in disc["type"] else "model.discriminator.base_channels=8"]


VIDEO = _fixed("model.generator.mid_channels=8", "model.generator.num_blocks=1")


def _real_basicvsr(cfg: dict, size: int) -> list[str]:
    options = ["model.generator.mid_channels=4", "model.generator.num_propagation_blocks=1",
               "model.generator.num_cleaning_blocks=1"]
    if (cfg.get("model") or {}).get("discriminator"):
        options.append("model.discriminator.mid_channels=4")
    return options

TINY: dict[str, TinyWidths] = {
    "UnetGenerator": _fixed("model.generator.base_channels=2", "model.generator.num_down=5",
                            "model.discriminator.base_channels=2"),
    "ResnetGenerator": _fixed("model.generator.base_channels=2", "model.generator.num_blocks=1",
                              "model.discriminator.base_channels=2"),
    "DCGANGenerator": _fixed("model.generator.output_scale={size}", "model.generator.base_channels=16",
                             "model.discriminator.input_scale={size}", "model.discriminator.base_channels=4",
                             "model.noise_size=8"),
    "LSGANGenerator": _fixed("model.generator.output_scale={size}", "model.generator.base_channels=8",
                             "model.generator.noise_size=16", "model.discriminator.input_scale={size}",
                             "model.discriminator.base_channels=4", "model.noise_size=16"),
    "StyleGANv3Generator": _fixed("model.generator.out_size={size}", "model.generator.noise_size=16",
                                  "model.generator.style_channels=16", "model.generator.synthesis_cfg.channel_base=256",
                                  "model.generator.synthesis_cfg.channel_max=16",
                                  "model.generator.synthesis_cfg.num_layers=4",
                                  "model.generator.synthesis_cfg.margin_size=2", "model.discriminator.in_size={size}",
                                  "model.discriminator.channel_multiplier=1"),
    # MMagic's fixed 512 widths: one image per training batch
    "WGANGPGenerator": _fixed("model.generator.out_scale={size}", "model.discriminator.in_scale={size}",
                              "train_dataloader.batch_size=1"),
    "SNGANGenerator": _sngan, "SAGANGenerator": _sngan,
    "BigGANGenerator": _biggan, "BigGANDeepGenerator": _biggan,
    "BasicVSRNet": VIDEO, "BasicVSRPlusPlusNet": VIDEO, "IconVSRNet": VIDEO, "RealBasicVSRNet": _real_basicvsr,
    "GLEANStyleGANv2": _fixed("model.generator.style_channels=16", "model.generator.num_mlps=2",
                              "model.generator.rrdb_channels=4", "model.generator.num_rrdbs=1",
                              "model.discriminator.channel_multiplier=1"),
    "TTSRNet": _fixed("model.generator.mid_channels=4", "model.generator.num_blocks=(1,1,1,1)"),
    "DICNet": _fixed("model.generator.mid_channels=4", "model.generator.num_blocks=1",
                     "model.generator.hg_mid_channels=8", "model.generator.num_steps=2",
                     "model.generator.num_fusion_blocks=1"),
    "TDANNet": _fixed("model.generator.mid_channels=8", "model.generator.num_blocks_before_align=1",
                      "model.generator.num_blocks_after_align=1"),
    "CAINNet": _fixed("model.generator.num_block_groups=1", "model.generator.num_block_layers=1",
                      "model.generator.depth=2", "model.generator.reduction=4"),
    "TriplaneGenerator": _fixed("model.generator.style_channels=16", "model.generator.noise_size=16",
                                "model.generator.channel_max=16", "model.generator.triplane_channels=4",
                                "model.generator.sr_in_channels=8", "model.generator.sr_hidden_channels=8",
                                "model.generator.sr_out_channels=8",
                                "model.generator.renderer_cfg.decoder_cfg.hidden_channels=8"),
    "FLAVRNet": _fixed("model.generator.mid_channels_list=[16,8,8,8]", "model.generator.encoder_layers_list=[1,1,1,1]"),
}


def image_side(cfg: dict, default: int) -> int:
    """A --tiny trial's image side: 16 for DCGAN/WGAN-GP/StyleGAN3, BigGAN-deep's 256/512 layouts larger
    (one pixel at the start of the generator), at least 32 else (a U-Net's 5 halvings, a ResNet
    generator's normalised 1/4 maps)."""
    generator = (cfg.get("model") or {}).get("generator") or {}
    kind = generator.get("type", "")
    if kind in ("WGANGPGenerator", "DCGANGenerator", "StyleGANv3Generator"):
        return 16
    if kind.startswith("BigGAN"):
        return max(32, 1 << BIGGAN_STAGES[generator["output_scale"]])
    return max(default, 32)


def smallest_input(cfg: dict) -> int:
    """The least image side the config's generator takes (1 when any): DeblurGANv2's Inception FPN needs
    96 px (its unpadded stem and two stride-2 reductions leave nothing of a smaller image)."""
    generator = (cfg.get("model") or {}).get("generator") or {}
    if generator.get("type") == "DeblurGanV2Generator" and str(generator.get("backbone", "")).startswith("FPNInception"):
        return 96
    return 1


def tiny_options(cfg: dict, size: int) -> list[str]:
    """The --cfg-options that make the config's generator (and its partners) tiny; [] for an unknown type."""
    kind = ((cfg.get("model") or {}).get("generator") or {}).get("type")
    return TINY[kind](cfg, size) if kind in TINY else []
