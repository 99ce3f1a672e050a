"""DIC: MMagic 1.2.0's parameter counts (summed from its definitions) and state-dict keys; the heatmap
reduction and GenerateFacialHeatmap against float64 computations of their definitions; a training step
with every loss (pixel_init=0); the pixel config trains 2 iterations and tests through the CLI."""
from pathlib import Path

import numpy as np
import pytest
import torch

from mgx.core.errors import ConfigError
from mgx.core.registry import build
from zoo_cli import train_and_test
from mgx.plugins.models.dic.hourglass import reduce_to_five_heatmaps

CONFIGS = Path(__file__).resolve().parents[2] / "tests" / "mmagic" / "configs"
TINY_NET = dict(type="DICNet", in_channels=3, out_channels=3, mid_channels=4, num_blocks=2, hg_mid_channels=8,
                num_steps=2, num_fusion_blocks=1)


def _res_block(i, o):  # feedback_hour_glass.py's ResBlock
    h = o // 2
    return (i * h + h) + (9 * h * h + h) + (h * o + o) + (0 if i == o else i * o + o)


def _dic_net_count(m=48, blocks=6, hg=256, keypoints=68, fusion_blocks=7, heatmaps=5, k=12):
    """DICNet's parameters read off MMagic's dic_net.py and feedback_hour_glass.py (a PReLU holds one)."""
    conv_first = 27 * 4 * m + 4 * m + 1
    projections = (2 * blocks * (m * m * k * k + m + 1)
                   + sum(2 * ((i + 1) * m * m + m + 1) for i in range(1, blocks)) + blocks * m * m + m + 1)
    first_block = (m * m + m + 1) + projections
    width = heatmaps * m
    fusion = (m * width + width) + fusion_blocks * 2 * (width * (width // heatmaps) * 9 + width)
    block = (2 * m * m + m + 1) + projections + fusion
    hourglass = (3 * (hg // 4) * 49 + hg // 4 + _res_block(hg // 4, hg // 2) + _res_block(hg // 2, hg // 2)
                 + _res_block(hg // 2, hg) + (2 * hg) ** 2 + 2 * hg + 13 * _res_block(2 * hg, 2 * hg)
                 + _res_block(hg, hg) + hg * hg + hg + hg * keypoints + keypoints)
    conv_last = m * m * 64 + m + 1 + 27 * m + 3
    return conv_first + first_block + block + hourglass + conv_last


def _light_cnn_count():
    convs = [(3, 48, 5), (48, 48, 1), (48, 96, 3), (96, 96, 1), (96, 192, 3), (192, 192, 1), (192, 128, 3),
             (128, 128, 1), (128, 128, 3)]
    features = sum(i * 2 * o * k * k + 2 * o for i, o, k in convs)  # MaxFeature: a filter to 2·out
    return features + (8192 * 512 + 512) + (256 + 1)


def _count(module):
    return sum(p.numel() for p in module.parameters())


def test_parameter_counts_equal_mmagics_for_the_published_configs():
    assert _dic_net_count() == 21_803_849 and _light_cnn_count() == 5_485_921
    with torch.device("meta"):  # (shapes only)
        net = build(dict(type="DICNet", in_channels=3, out_channels=3, mid_channels=48), "model")
        assert _count(net) == 21_803_849
        assert _count(build(dict(type="LightCNN", in_channels=3), "model")) == 5_485_921
        loss = build(dict(type="LightCNNFeatureLoss", pretrained=None), "model")
        assert _count(loss) == _light_cnn_count() - (8192 * 512 + 512) - 257


def _tiny_model(**extra):
    return build(dict(type="DIC", generator=TINY_NET, pixel_loss=dict(type="L1Loss"),
                      align_loss=dict(type="MSELoss", loss_weight=0.1),
                      data_preprocessor=dict(type="DataPreprocessor", mean=[129.795, 108.12, 96.39], std=[255] * 3),
                      **extra), "model")


def test_state_dict_keys_are_mmagics_and_an_mmagic_checkpoint_loads():
    model = _tiny_model(discriminator=dict(type="LightCNN", in_channels=3),
                        feature_loss=dict(type="LightCNNFeatureLoss", pretrained=None, loss_weight=0.1))
    keys = set(model.state_dict())
    # names read off MMagic's dic_net.py, feedback_hour_glass.py, light_cnn.py and feature_loss.py
    for key in ["generator.conv_first.0.weight", "generator.conv_first.1.weight", "generator.first_block.conv_first.0.weight",
                "generator.first_block.up_blocks.1.0.weight", "generator.first_block.lr_blocks.0.1.weight",
                "generator.block.hr_blocks.0.0.bias", "generator.block.conv_last.0.weight",
                "generator.block.fusion_block.conv_first.0.weight", "generator.block.fusion_block.body.0.res.2.weight",
                "generator.hour_glass.pre_conv_block.2.skip_layer.weight", "generator.hour_glass.first_conv.weight",
                "generator.hour_glass.hg.low2.low2.low2.low2.conv_block.3.weight", "generator.hour_glass.hg.up1.conv_block.0.bias",
                "generator.hour_glass.last.3.weight", "generator.conv_last.0.weight", "generator.conv_last.2.bias",
                "discriminator.features.0.filter.weight", "discriminator.features.11.filter.bias",
                "discriminator.classifier.0.filter.weight", "discriminator.classifier.2.weight",
                "feature_loss.model.features.11.filter.weight"]:
        assert key in keys, key
    assert "generator.first_block.conv_first.0.weight" in keys and model.generator.first_block.conv_first[0].in_channels == 4
    mmagic = {k: torch.randn_like(v.float()) for k, v in model.state_dict().items() if k != "step_counter"}
    model.load_state_dict(model.adapt_loaded_weights(mmagic), strict=True)
    assert torch.equal(model.generator.hour_glass.first_conv.weight, mmagic["generator.hour_glass.first_conv.weight"])


def test_heatmap_reduction_and_generation_against_their_definitions_in_float64():
    rng = np.random.default_rng(0)
    heat = rng.random((2, 68, 4, 4))
    reduced = reduce_to_five_heatmaps(torch.from_numpy(heat), detach=True).numpy()
    scaled = heat / np.maximum(heat.max(axis=(2, 3), keepdims=True), 0.05)
    groups = [range(36, 42), range(42, 48), range(27, 36), range(48, 68), range(0, 27)]
    for index, group in enumerate(groups):
        np.testing.assert_allclose(reduced[:, index], scaled[:, list(group)].sum(1), rtol=1e-12)
    with pytest.raises(Exception, match="7 face landmarks"):
        reduce_to_five_heatmaps(torch.zeros(1, 7, 2, 2), detach=False)
    # GenerateFacialHeatmap: exp(-|p - k·ratio|² / 2σ²) per landmark, at the target size
    points = np.array([[10.0, 20.0], [64.0, 100.5]])
    transform = build(dict(type="GenerateFacialHeatmap", image_key="gt", ori_size=128, target_size=(32, 16),
                           sigma=1.5, detector="test_dic:two_landmarks"), "transform")
    sample = transform({"gt": np.zeros((128, 128, 3), np.uint8), "key": "a"})
    heatmap = sample["gt_heatmap"]
    assert heatmap.shape == (32, 16, 2) and heatmap.dtype == np.float32
    for k, (x, y) in enumerate(points):
        for row in (0, 7, 25):
            for col in (0, 3, 15):
                expected = np.exp(-((col - x * 16 / 128) ** 2 + (row - y * 32 / 128) ** 2) / (2 * 1.5 ** 2))
                assert abs(heatmap[row, col, k] - expected) < 1e-6
    with pytest.raises(ConfigError, match="cannot be imported"):
        build(dict(type="GenerateFacialHeatmap", image_key="gt", ori_size=128, target_size=32,
                   detector="no_such_module:f"), "transform")


def two_landmarks(image):
    return [np.array([[10.0, 20.0], [64.0, 100.5]])]


def test_a_training_step_with_every_loss_updates_generator_and_discriminator():
    from mgx.core.engine.optim import build_optim_wrappers

    model = _tiny_model(discriminator=dict(type="LightCNN", in_channels=3),
                        gan_loss=dict(type="GANLoss", gan_type="vanilla", loss_weight=0.005),
                        feature_loss=dict(type="LightCNNFeatureLoss", pretrained=None, loss_weight=0.1),
                        train_cfg=dict(pixel_init=0))
    adam = dict(type="OptimWrapper", optimizer=dict(type="Adam", lr=1e-3))
    optim = build_optim_wrappers(dict(constructor="MultiOptimWrapperConstructor", generator=adam,
                                      discriminator=adam), model, device=torch.device("cpu"), amp=False)
    batch = {"inputs": torch.randint(0, 256, (1, 3, 16, 16), dtype=torch.uint8),
             "gt_img": torch.randint(0, 256, (1, 3, 128, 128), dtype=torch.uint8),
             "gt_heatmap": torch.rand(1, 68, 32, 32)}
    before = {k: v.clone() for k, v in model.state_dict().items()}
    log = model.train_step(batch, optim)
    assert set(log) == {"loss_pixel_v0", "loss_align_v0", "loss_pixel_v1", "loss_align_v1", "loss_feature",
                        "loss_gan", "loss_d_real", "loss_d_fake"}
    after = model.state_dict()
    for key in ("generator.block.fusion_block.conv_first.0.weight", "generator.hour_glass.last.3.weight",
                "discriminator.classifier.2.weight"):
        assert not torch.equal(before[key], after[key]), key
    assert torch.equal(before["feature_loss.model.features.0.filter.weight"],
                       after["feature_loss.model.features.0.filter.weight"])  # frozen
    out = model.val_step({"inputs": batch["inputs"], "gt_img": batch["gt_img"]})
    assert out["pred_img"].shape == (1, 3, 128, 128)


@pytest.mark.timeout(300)
def test_dic_config_trains_and_tests_through_the_cli(tmp_path):
    """The pixel + alignment config (the GAN one adds LightCNN at 128 px, too slow for CI: its parts are
    checked by the training-step test above, and it runs in zoo_trials)."""
    config = CONFIGS / "dic" / "dic_x8c48b6_4xb2-150k_celeba-hq.py"
    width = ["model.generator.mid_channels=4", "model.generator.num_blocks=1", "model.generator.hg_mid_channels=8",
             "model.generator.num_steps=2", "model.generator.num_fusion_blocks=1"]
    metrics, log = train_and_test(tmp_path, config, width)
    assert "loss_align_v1" in log and "loss_pixel_v1" in log, log[-2000:]
    assert np.isfinite(metrics["PSNR"]) and 0 < metrics["SSIM"] <= 1 and metrics["MAE"] >= 0, metrics
