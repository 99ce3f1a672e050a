"""TTSR: MMagic 1.2.0's parameter counts (summed from its definitions) and state-dict keys; the search
transformer's hard/soft attention against a float64 computation of its definition; one training step
with every loss on (pixel_init=0); the rec config trains 2 iterations and tests through the CLI."""
from pathlib import Path

import numpy as np
import pytest
import torch

from mgx.core.errors import ConfigError
from mgx.core.registry import build
from zoo_cli import train_and_test

CONFIGS = Path(__file__).resolve().parents[2] / "tests" / "mmagic" / "configs"
PUBLISHED_NET = dict(type="TTSRNet", in_channels=3, out_channels=3, mid_channels=64, num_blocks=(16, 16, 8, 4))


def _conv3(a, b):
    return 9 * a * b + b


def _conv1(a, b):
    return a * b + b


def _ttsr_net_count(m=64, t=64, blocks=(16, 16, 8, 4), channels=3):
    """TTSRNet's parameters read off MMagic's ttsr_net.py layer by layer."""
    rb = 2 * _conv3(m, m)
    sfe = _conv3(channels, m) + blocks[0] * rb + _conv3(m, m)
    level1 = _conv3(4 * t + m, m) + blocks[1] * rb + _conv3(m, m) + _conv3(m, 4 * m)
    csfi2 = _conv1(m, m) + _conv3(m, m) + 2 * _conv3(2 * m, m)
    level2 = _conv3(2 * t + m, m) + csfi2 + 2 * blocks[2] * rb + 2 * _conv3(m, m) + _conv3(m, 4 * m)
    csfi3 = 3 * _conv1(m, m) + 4 * _conv3(m, m) + 3 * _conv3(3 * m, m)
    level4 = _conv3(t + m, m) + csfi3 + 3 * blocks[3] * rb + 3 * _conv3(m, m)
    merge = 2 * _conv1(m, m) + _conv3(3 * m, m) + _conv3(m, m // 2) + _conv1(m // 2, channels)
    return sfe + level1 + level2 + level4 + merge


# LTE: ImgNormalize (a 1×1 conv, 3→3) + VGG19's conv1_1, conv1_2, conv2_1, conv2_2, conv3_1
LTE_COUNT = _conv1(3, 3) + _conv3(3, 64) + _conv3(64, 64) + _conv3(64, 128) + _conv3(128, 128) + _conv3(128, 256)
# TTSRDiscriminator(in_size=160): ten 3×3 convs (3→32→32→64→64→…→512) + Linear(5·5·512, 1024) + Linear(1024, 1)
DISC_COUNT = (sum(_conv3(a, b) for a, b in [(3, 32), (32, 32), (32, 64), (64, 64), (64, 128), (128, 128),
                                            (128, 256), (256, 256), (256, 512), (512, 512)])
              + 25 * 512 * 1024 + 1024 + 1024 + 1)


def _count(module):
    return sum(p.numel() for p in module.parameters())


def test_parameter_counts_equal_mmagics_for_the_published_configs():
    with torch.device("meta"):  # (shapes only: no initialisation cost)
        _check_counts()


def _check_counts():
    assert _ttsr_net_count() == 6_174_275  # the recorded figure of ttsr-rec/ttsr-gan's generator
    assert _count(build(PUBLISHED_NET, "model")) == 6_174_275
    assert LTE_COUNT == 555_340 and _count(build(dict(type="LTE", load_pretrained_vgg=False), "model")) == LTE_COUNT
    assert DISC_COUNT == 17_821_473
    assert _count(build(dict(type="TTSRDiscriminator", in_size=160), "model")) == DISC_COUNT


def _tiny_model(**extra):
    cfg = dict(type="TTSR",
               generator=dict(type="TTSRNet", in_channels=3, out_channels=3, mid_channels=4, num_blocks=(1, 1, 1, 1)),
               extractor=dict(type="LTE", load_pretrained_vgg=False), transformer=dict(type="SearchTransformer"),
               pixel_loss=dict(type="L1Loss"),
               data_preprocessor=dict(type="DataPreprocessor", mean=[127.5] * 3, std=[127.5] * 3), **extra)
    return build(cfg, "model")


def test_state_dict_keys_are_mmagics_and_an_mmagic_checkpoint_loads():
    model = _tiny_model(discriminator=dict(type="TTSRDiscriminator", in_size=32),
                        gan_loss=dict(type="GANLoss", gan_type="vanilla"))
    keys = set(model.state_dict())
    # names read off MMagic's ttsr_net.py (SFE/CSFI2/CSFI3/MergeFeatures, PixelShufflePack, ResidualBlockNoBN),
    # lte.py (slice1-3 keep vgg19.features' indices; ImgNormalize is a conv), ttsr_disc.py and ttsr.py
    for key in ["generator.sfe.conv_first.weight", "generator.sfe.body.0.conv1.weight", "generator.sfe.conv_last.bias",
                "generator.conv_first1.weight", "generator.res_block1.0.conv2.bias", "generator.up1.upsample_conv.weight",
                "generator.csfi2.conv2to1.weight", "generator.csfi2.conv_merge2.bias", "generator.res_block2_2.0.conv1.weight",
                "generator.conv_last2_1.weight", "generator.up2.upsample_conv.bias", "generator.csfi3.conv4to1_2.weight",
                "generator.csfi3.conv_merge4.weight", "generator.res_block3_3.0.conv2.weight", "generator.conv_last3_3.bias",
                "generator.merge_features.conv_last2.weight", "extractor.img_normalize.weight", "extractor.slice1.0.weight",
                "extractor.slice2.5.bias", "extractor.slice3.10.weight", "extractor_copy.slice3.7.weight",
                "discriminator.body.18.weight", "discriminator.last.0.weight", "discriminator.last.2.bias"]:
        assert key in keys, key
    assert not any(".relu" in key or "slice1.1" in key for key in keys)
    mmagic = {k: torch.randn_like(v.float()).to(v.dtype) for k, v in model.state_dict().items() if k != "step_counter"}
    fresh = _tiny_model(discriminator=dict(type="TTSRDiscriminator", in_size=32),
                        gan_loss=dict(type="GANLoss", gan_type="vanilla"))
    fresh.load_state_dict(fresh.adapt_loaded_weights(mmagic), strict=True)
    assert torch.equal(getattr(fresh.extractor.slice3, "10").weight, mmagic["extractor.slice3.10.weight"])


def _coverage(size, step):
    """How many of fold's windows (3·step wide, padding step, stride step) cover each pixel of a side."""
    windows = range((size + 2 * step - 3 * step) // step + 1)
    return np.array([sum(k * step - step <= y < k * step + 2 * step for k in windows) for y in range(size)], float)


def test_search_transformer_against_its_definition_in_float64():
    torch.manual_seed(3)
    features = torch.randn(2, 5, 4, 6, dtype=torch.float64)
    refs = [torch.randn(2, 5, 4, 6, dtype=torch.float64), torch.randn(2, 3, 8, 12, dtype=torch.float64)]
    transformer = build(dict(type="SearchTransformer"), "model")
    # query = key: every patch is most relevant to itself (cosine 1), so each texture is the reference
    # summed over the windows covering a pixel, / 9
    soft, textures = transformer(features, features, refs)
    np.testing.assert_allclose(soft.numpy(), np.ones((2, 1, 4, 6)), atol=1e-12)
    for level, (ref, texture) in enumerate(zip(refs, textures)):
        step = 2 ** level
        coverage = np.outer(_coverage(ref.shape[2], step), _coverage(ref.shape[3], step)) / 9.0
        np.testing.assert_allclose(texture.numpy(), ref.numpy() * coverage, atol=1e-12)
    # the hard attention: the reference position whose zero-padded 3×3 patch is closest by cosine
    key = torch.randn(1, 2, 3, 3, dtype=torch.float64)
    query = torch.randn(1, 2, 3, 3, dtype=torch.float64)
    soft, _ = transformer(query, key, [key])

    def patch(x, y, z):
        padded = np.pad(x[0].numpy(), ((0, 0), (1, 1), (1, 1)))
        vector = padded[:, y:y + 3, z:z + 3].ravel()
        return vector / np.linalg.norm(vector)

    for y in range(3):
        for z in range(3):
            best = max(patch(key, v, w) @ patch(query, y, z) for v in range(3) for w in range(3))
            assert abs(soft[0, 0, y, z].item() - best) < 1e-12


def _batch(n=2, size=32, scale=4):
    images = torch.randint(0, 256, (n, 3, size, size), dtype=torch.uint8)
    small = torch.nn.functional.interpolate(images.float(), scale_factor=1 / scale, mode="bicubic")
    up = torch.nn.functional.interpolate(small, scale_factor=scale, mode="bicubic").clamp(0, 255).to(torch.uint8)
    ref = torch.randint(0, 256, (n, 3, size, size), dtype=torch.uint8)
    return {"inputs": small.clamp(0, 255).to(torch.uint8), "gt_img": images, "img_lq": up, "ref_img": ref,
            "ref_lq": ref}


def test_a_training_step_with_every_loss_updates_generator_extractor_and_discriminator():
    from mgx.core.engine.optim import build_optim_wrappers

    model = _tiny_model(discriminator=dict(type="TTSRDiscriminator", in_size=32),
                        gan_loss=dict(type="GANLoss", gan_type="vanilla", loss_weight=1e-3),
                        transferal_perceptual_loss=dict(type="TransferalPerceptualLoss", use_attention=True),
                        train_cfg=dict(pixel_init=0, disc_repeat=2))
    adam = dict(type="OptimWrapper", optimizer=dict(type="Adam", lr=1e-3))
    optim = build_optim_wrappers(dict(constructor="MultiOptimWrapperConstructor", generator=adam, extractor=adam,
                                      discriminator=adam), model, device=torch.device("cpu"), amp=False)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    log = model.train_step(_batch(), optim)
    assert set(log) == {"loss_pix", "loss_transferal", "loss_gan", "loss_d_real", "loss_d_fake"}
    assert all(torch.isfinite(v) for v in log.values())
    after = model.state_dict()
    for key in ("generator.conv_first1.weight", "extractor.slice3.10.weight", "discriminator.last.2.weight"):
        assert not torch.equal(before[key], after[key]), key
    # the fixed normalisation takes no step; the copy holds the extractor's weights of the step
    assert torch.equal(before["extractor.img_normalize.weight"], after["extractor.img_normalize.weight"])
    assert int(model.step_counter) == 1
    # before pixel_init: the pixel loss alone, no discriminator step
    late = _tiny_model(discriminator=dict(type="TTSRDiscriminator", in_size=32),
                       gan_loss=dict(type="GANLoss", gan_type="vanilla"), train_cfg=dict(pixel_init=5))
    optim = build_optim_wrappers(dict(constructor="MultiOptimWrapperConstructor", generator=adam, extractor=adam,
                                      discriminator=adam), late, device=torch.device("cpu"), amp=False)
    assert set(late.train_step(_batch(), optim)) == {"loss_pix"}
    outputs = late.val_step(_batch())
    assert outputs["pred_img"].shape == (2, 3, 32, 32) and 0 <= outputs["pred_img"].min() <= 255


def test_bad_arguments_name_the_field():
    with pytest.raises(ConfigError, match="pixel_init must be an int"):
        _tiny_model(train_cfg=dict(pixel_init=-1))
    with pytest.raises(ConfigError, match="in_size must be a multiple of 32"):
        build(dict(type="TTSRDiscriminator", in_size=40), "model")
    with pytest.raises(ConfigError, match="num_blocks must give 4"):
        build(dict(type="TTSRNet", in_channels=3, out_channels=3, num_blocks=(1, 1)), "model")


@pytest.mark.timeout(300)
def test_ttsr_rec_config_trains_and_tests_through_the_cli(tmp_path):
    config = CONFIGS / "ttsr" / "ttsr-rec_x4c64b16_1xb9-200k_CUFED.py"
    width = ["model.generator.mid_channels=4", "model.generator.num_blocks=(1,1,1,1)",
             "model.extractor.load_pretrained_vgg=False"]
    metrics, log = train_and_test(tmp_path, config, width)
    assert "Iter(val) [2]" in log or "PSNR" in log, log[-2000:]
    assert np.isfinite(metrics["PSNR"]) and 0 < metrics["SSIM"] <= 1 and metrics["MAE"] >= 0, metrics
