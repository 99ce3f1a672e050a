"""Restoration generators and discriminator: shapes per scale, MMagic's layer names, tiled inference."""
import pytest
import torch

from mgx.core.errors import ConfigError
from mgx.core.registry import build

TINY = dict(in_channels=3, out_channels=3, mid_channels=8, num_blocks=2)


@pytest.mark.parametrize("cfg, scales", [
    (dict(type="SRCNNNet", channels=(3, 8, 4, 3)), (1, 2, 3, 4)),
    (dict(type="EDSRNet", **TINY), (2, 3, 4, 8)),
    (dict(type="MSRResNet", **TINY), (2, 3, 4)),
    (dict(type="RRDBNet", **TINY, growth_channels=4), (1, 2, 4)),
])
def test_generator_output_shape_for_each_scale(cfg, scales):
    for scale in scales:
        net = build(dict(cfg, upscale_factor=scale), "model")
        out = net(torch.rand(2, 3, 8, 12))
        assert out.shape == (2, 3, 8 * scale, 12 * scale), (cfg["type"], scale)


@pytest.mark.parametrize("cfg, bad", [(dict(type="EDSRNet", **TINY), 5), (dict(type="MSRResNet", **TINY), 8),
                                      (dict(type="RRDBNet", **TINY), 3), (dict(type="SRCNNNet"), 0)])
def test_unsupported_scales_are_config_errors(cfg, bad):
    with pytest.raises(ConfigError, match="upscale_factor"):
        build(dict(cfg, upscale_factor=bad), "model")


def test_state_dict_names_follow_mmagic():
    """Keys MMagic 1.2.0's definitions give (so its checkpoints load with prefix='generator.')."""
    edsr = build(dict(type="EDSRNet", **TINY, upscale_factor=4), "model").state_dict()
    assert {"conv_first.weight", "body.1.conv2.bias", "conv_after_body.weight", "upsample.0.upsample_conv.weight",
            "upsample.1.upsample_conv.weight", "conv_last.weight"} <= set(edsr)
    assert "mean" not in edsr  # rgb_mean/rgb_std are constants, not weights
    msr = build(dict(type="MSRResNet", **TINY, upscale_factor=4), "model").state_dict()
    assert {"trunk_net.0.conv1.weight", "upsample1.upsample_conv.weight", "upsample2.upsample_conv.weight",
            "conv_hr.weight"} <= set(msr)
    rrdb = build(dict(type="RRDBNet", **TINY, growth_channels=4), "model").state_dict()
    assert {"body.0.rdb1.conv1.weight", "body.1.rdb3.conv5.bias", "conv_body.weight", "conv_up1.weight",
            "conv_up2.weight", "conv_hr.weight"} <= set(rrdb)
    assert rrdb["body.0.rdb1.conv2.weight"].shape == (4, 8 + 4, 3, 3)
    assert build(dict(type="RRDBNet", **TINY, upscale_factor=2), "model").state_dict()["conv_first.weight"].shape[1] == 12
    srcnn = build(dict(type="SRCNNNet"), "model").state_dict()
    assert [srcnn[f"conv{i}.weight"].shape for i in (1, 2, 3)] == [(64, 3, 9, 9), (32, 64, 1, 1), (3, 32, 5, 5)]


def test_edsr_mean_shift_and_msrresnet_skip():
    """EDSR adds rgb_mean back; MSRResNet adds the bilinear upsampled input (zeroed trunk → exactly those)."""
    edsr = build(dict(type="EDSRNet", **TINY, upscale_factor=2, rgb_mean=[0.1, 0.2, 0.3]), "model")
    torch.nn.init.zeros_(edsr.conv_last.weight)
    torch.nn.init.zeros_(edsr.conv_last.bias)
    out = edsr(torch.rand(1, 3, 4, 4))
    torch.testing.assert_close(out[0, :, 0, 0], torch.tensor([0.1, 0.2, 0.3]))
    msr = build(dict(type="MSRResNet", **TINY, upscale_factor=2), "model")
    torch.nn.init.zeros_(msr.conv_last.weight)
    torch.nn.init.zeros_(msr.conv_last.bias)
    x = torch.rand(1, 3, 5, 5)
    torch.testing.assert_close(msr(x), torch.nn.functional.interpolate(x, scale_factor=2, mode="bilinear"))


def test_modified_vgg_logit_per_image_and_input_size():
    net = build(dict(type="ModifiedVGG", in_channels=3, mid_channels=4), "model")
    assert net.linear1.in_features == 4 * 8 * 4 * 4  # MMagic's 128×128 layout
    small = build(dict(type="ModifiedVGG", in_channels=3, mid_channels=4, input_size=32), "model")
    assert small(torch.rand(3, 3, 32, 32)).shape == (3, 1)
    with pytest.raises(ValueError, match="needs 32×32"):
        small(torch.rand(1, 3, 64, 64))
    with pytest.raises(ConfigError, match="multiple of 32"):
        build(dict(type="ModifiedVGG", in_channels=3, mid_channels=4, input_size=40), "model")


@pytest.mark.parametrize("cfg, size, tile, overlap", [
    # receptive-field radius in input pixels: SRCNN ≈ 2 (+ bicubic taps), EDSR 6, RRDB ×4 ≈ 19
    (dict(type="SRCNNNet", channels=(3, 8, 4, 3), kernel_sizes=(5, 1, 3), upscale_factor=3), (40, 36), 8, 4),
    (dict(type="EDSRNet", in_channels=3, out_channels=3, mid_channels=4, num_blocks=1, upscale_factor=2),
     (40, 36), 8, 8),
    (dict(type="RRDBNet", in_channels=3, out_channels=3, mid_channels=4, num_blocks=1, growth_channels=2,
          upscale_factor=4), (64, 60), 16, 20),
])
def test_tiled_inference_equals_untiled(cfg, size, tile, overlap):
    """Overlap ≥ the receptive-field radius: every output pixel sees the same input (float64: equal up to
    summation order), though no tile holds the whole image."""
    model = build(dict(type="BaseEditModel", generator=cfg, pixel_loss=dict(type="L1Loss"),
                       data_preprocessor=dict(type="DataPreprocessor", mean=[0.] * 3, std=[255.] * 3),
                       test_cfg=dict(tile_size=tile, tile_overlap=overlap)), "model")
    model = model.double().eval()
    assert tile + 2 * overlap < min(size)
    images = torch.randint(0, 256, (2, 3, *size), dtype=torch.uint8)
    tiled = model(images)
    model.tile_size = None
    whole = model(images)
    assert tiled.shape == whole.shape == (2, 3, size[0] * cfg["upscale_factor"], size[1] * cfg["upscale_factor"])
    torch.testing.assert_close(tiled, whole, rtol=0, atol=1e-9)
    model.tile_size, model.tile_overlap = tile, 0  # no context: tile borders show (so the check above can fail)
    assert not torch.allclose(model(images), whole, atol=1e-6)


def test_test_cfg_configures_tiling_and_rejects_unknown_keys():
    gen = dict(type="SRCNNNet", channels=(3, 4, 4, 3), upscale_factor=2)
    model = build(dict(type="BaseEditModel", generator=gen, pixel_loss=dict(type="L1Loss"),
                       test_cfg=dict(tile_size=16, tile_overlap=4, metrics=["PSNR"], crop_border=2)), "model")
    assert (model.tile_size, model.tile_overlap) == (16, 4)
    with pytest.raises(ConfigError, match="unknown key"):
        build(dict(type="BaseEditModel", generator=gen, pixel_loss=dict(type="L1Loss"), test_cfg=dict(tile=16)),
              "model")
    with pytest.raises(ConfigError, match="tile_overlap must be an int"):
        build(dict(type="BaseEditModel", generator=gen, pixel_loss=dict(type="L1Loss"),
                   test_cfg=dict(tile_size=16, tile_overlap=-1)), "model")
