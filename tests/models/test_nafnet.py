"""NAFNet/NAFNetLocal and PSNRLoss: local average pooling and the loss against float64 statements of their
definitions; parameter counts and state-dict keys equal MMagic 1.2.0's; MMagic's NAFNetLocal GoPro config
(copied unchanged into tests/mmagic/configs/nafnet/) trains 2 iterations and is tested through the CLI at
tiny width on folders in its layout."""
from __future__ import annotations

import json
import math
import os
from pathlib import Path

import numpy as np
import pytest
import torch

from mgx.benchmarks.zoo_data import Sizes, write_config_data
from mgx.core.config import load_config
from mgx.plugins.models.losses import PSNRLoss
from mgx.plugins.models.nafnet.nafnet_net import NAFAvgPool2d, NAFBlock, NAFNet, NAFNetLocal
from mgx_subprocess import run_mgx

CONFIGS = Path(__file__).resolve().parents[1] / "mmagic" / "configs" / "nafnet"

# sum(p.numel()) of MMagic 1.2.0's networks (mmagic/models/editors/nafnet/) with the published configs' arguments
GOPRO = dict(img_channels=3, mid_channels=64, enc_blk_nums=[1, 1, 1, 28], middle_blk_num=1, dec_blk_nums=[1, 1, 1, 1])
SIDD = dict(img_channels=3, mid_channels=64, enc_blk_nums=[2, 2, 4, 8], middle_blk_num=12, dec_blk_nums=[2, 2, 2, 2])
TINY = dict(img_channels=3, mid_channels=4, enc_blk_nums=[1, 1], middle_blk_num=1, dec_blk_nums=[1, 1])


def test_parameter_counts_equal_mmagic_published_configs():
    with torch.device("meta"):  # shapes only
        local, plain = NAFNetLocal(**GOPRO), NAFNet(**SIDD)
    assert sum(p.numel() for p in local.parameters()) == 67888835
    assert sum(p.numel() for p in plain.parameters()) == 115982915


def _block_keys(prefix: str, c: int) -> dict[str, tuple]:
    """MMagic's NAFBlock(c) parameters (DW_Expand = FFN_Expand = 2)."""
    return {f"{prefix}.beta": (1, c, 1, 1), f"{prefix}.gamma": (1, c, 1, 1),
            f"{prefix}.conv1.weight": (2 * c, c, 1, 1), f"{prefix}.conv1.bias": (2 * c,),
            f"{prefix}.conv2.weight": (2 * c, 1, 3, 3), f"{prefix}.conv2.bias": (2 * c,),
            f"{prefix}.sca.1.weight": (c, c, 1, 1), f"{prefix}.sca.1.bias": (c,),
            f"{prefix}.conv3.weight": (c, c, 1, 1), f"{prefix}.conv3.bias": (c,),
            f"{prefix}.conv4.weight": (2 * c, c, 1, 1), f"{prefix}.conv4.bias": (2 * c,),
            f"{prefix}.conv5.weight": (c, c, 1, 1), f"{prefix}.conv5.bias": (c,),
            f"{prefix}.norm1.weight": (c,), f"{prefix}.norm1.bias": (c,),
            f"{prefix}.norm2.weight": (c,), f"{prefix}.norm2.bias": (c,)}


def test_state_dict_keys_and_shapes_are_mmagic_ones():
    expected = {"intro.weight": (4, 3, 3, 3), "intro.bias": (4,), "ending.weight": (3, 4, 3, 3), "ending.bias": (3,),
                "ups.0.0.weight": (32, 16, 1, 1), "ups.1.0.weight": (16, 8, 1, 1),
                "downs.0.weight": (8, 4, 2, 2), "downs.0.bias": (8,), "downs.1.weight": (16, 8, 2, 2),
                "downs.1.bias": (16,)}
    expected |= _block_keys("encoders.0.0", 4) | _block_keys("encoders.1.0", 8) | _block_keys("middle_blks.0", 16)
    expected |= _block_keys("decoders.0.0", 8) | _block_keys("decoders.1.0", 4)
    for net in (NAFNet(**TINY), NAFNetLocal(**TINY, train_size=(1, 3, 16, 16))):
        assert {k: tuple(v.shape) for k, v in net.state_dict().items()} == expected


def _local_mean_float64(x: np.ndarray, kh: int, kw: int) -> np.ndarray:
    """Mean over each full kh×kw window (stride 1), then edge-replicated back to the input size, centred."""
    n, c, h, w = x.shape
    kh, kw = min(kh, h), min(kw, w)
    valid = np.empty((n, c, h - kh + 1, w - kw + 1))
    for i in range(h - kh + 1):
        for j in range(w - kw + 1):
            valid[:, :, i, j] = x[:, :, i:i + kh, j:j + kw].mean(axis=(2, 3))
    dh, dw = h - valid.shape[2], w - valid.shape[3]
    return np.pad(valid, ((0, 0), (0, 0), (dh // 2, (dh + 1) // 2), (dw // 2, (dw + 1) // 2)), mode="edge")


@pytest.mark.parametrize("kernel", [(3, 4), (7, 20), (12, 12)])
def test_local_average_pool_matches_float64_definition(kernel):
    x = torch.randn(2, 3, 9, 11, generator=torch.Generator().manual_seed(0))
    out = NAFAvgPool2d(kernel)(x).double().numpy()
    if kernel[0] >= 9 and kernel[1] >= 11:  # the window covers the image: the global average
        expected = x.double().numpy().mean(axis=(2, 3), keepdims=True)
    else:
        expected = _local_mean_float64(x.double().numpy(), *kernel)
    np.testing.assert_allclose(out, expected, rtol=1e-5, atol=1e-6)


def test_local_windows_follow_the_training_size():
    """1.5× the training crop at full resolution, scaled with each level (MMagic's conversion rule)."""
    net = NAFNetLocal(**TINY, train_size=(1, 3, 64, 64))
    kernels = {name: block.sca[0].kernel_size for name, block in net.named_modules() if isinstance(block, NAFBlock)}
    assert kernels == {"encoders.0.0": (96, 96), "encoders.1.0": (48, 48), "middle_blks.0": (24, 24),
                       "decoders.0.0": (48, 48), "decoders.1.0": (96, 96)}
    image = torch.rand(1, 3, 64, 64)
    with torch.no_grad():  # at the training size every window covers its feature map: NAFNet's output
        plain = NAFNet(**TINY)
        plain.load_state_dict(net.state_dict())
        torch.testing.assert_close(net(image), plain(image))


def test_psnr_loss_matches_float64_definition():
    generator = torch.Generator().manual_seed(3)
    pred, target = torch.rand(3, 3, 5, 6, generator=generator), torch.rand(3, 3, 5, 6, generator=generator)
    mse = ((pred.double() - target.double()) ** 2).numpy().reshape(3, -1).mean(axis=1)
    expected = 0.5 * np.mean([-(10 * math.log10(1 / m)) for m in mse + 1e-8])
    assert PSNRLoss(loss_weight=0.5)(pred, target).item() == pytest.approx(expected, rel=1e-5)


def test_mmagic_nafnet_local_config_trains_and_tests(tmp_path):
    config = CONFIGS / "nafnet_c64eb11128mb1db1111_8xb8-lr1e-3-400k_gopro.py"
    cfg = load_config(config)
    write_config_data(cfg, tmp_path, Sizes(crop=32, image=32, count=1))
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MGX_OFFLINE": "1"}
    tiny = [f"model.generator.{key}={value!r}".replace(" ", "") for key, value in TINY.items() if key != "img_channels"]
    # MMagic's list form of one evaluator, written as mgx's Evaluator until mgx reads the list form
    metrics = "dict(type='Evaluator',metrics=[dict(type='MAE'),dict(type='PSNR'),dict(type='SSIM')])"
    common = ["--no-track", "--cfg-options", *tiny, f"val_evaluator={metrics}", f"test_evaluator={metrics}"]
    trained = run_mgx("run", "train", str(config), "--work-dir", str(tmp_path / "work"), *common,
                      "train_cfg.max_iters=2", "train_cfg.val_interval=2", "train_dataloader.batch_size=2",
                      "train_dataloader.dataset.pipeline.6.gt_patch_size=32", cwd=tmp_path, env=env)
    assert trained.returncode == 0, trained.stderr[-4000:]
    assert "PSNR" in trained.stderr
    checkpoints = sorted(tmp_path.rglob("iter_2.pth"))
    assert checkpoints, f"no iter_2.pth under {tmp_path}: {trained.stderr[-2000:]}"
    tested = run_mgx("run", "test", str(config), str(checkpoints[0]), "--work-dir", str(tmp_path / "test"), *common,
                     cwd=tmp_path, env=env)
    assert tested.returncode == 0, tested.stderr[-4000:]
    results = json.loads((tmp_path / "test" / "test_results.json").read_text())["metrics"]
    assert np.isfinite(results["PSNR"]) and -1 <= results["SSIM"] <= 1 and results["MAE"] >= 0, results
