"""A restoration model's outputs through PSNR/SSIM equal MMagic 1.2.0's formulas (crop_border, Y channel),
computed here in float64 as MMagic defines them: BGR images, bgr2ycbcr luma, valid 11×11 Gaussian SSIM."""
import numpy as np
import pytest
import torch

from mgx.core.plugins import PluginManager
from mgx.core.registry import build


def _mmagic_transform(chw_rgb: np.ndarray, crop_border: int, convert_to: str | None) -> np.ndarray:
    img = chw_rgb.transpose(1, 2, 0)[..., ::-1].astype(np.float64)  # HWC, BGR as MMagic's metrics see it
    if convert_to == "Y":  # mmcv.bgr2ycbcr(img / 255, y_only=True) * 255
        img = (img[..., 0] * 24.966 + img[..., 1] * 128.553 + img[..., 2] * 65.481) / 255.0 + 16.0
        img = img[..., None]
    if crop_border:
        img = img[crop_border:-crop_border, crop_border:-crop_border, ...]
    return img


def _mmagic_psnr(gt, pred, crop_border, convert_to):
    a, b = _mmagic_transform(gt, crop_border, convert_to), _mmagic_transform(pred, crop_border, convert_to)
    mse = ((a - b) ** 2).mean()
    return 20.0 * np.log10(255.0 / np.sqrt(mse))


def _valid_gaussian(img: np.ndarray) -> np.ndarray:
    x = np.arange(11) - 5
    kernel = np.exp(-(x ** 2) / (2 * 1.5 ** 2))
    kernel /= kernel.sum()
    window = np.outer(kernel, kernel)
    views = np.lib.stride_tricks.sliding_window_view(img, (11, 11))
    return (views * window).sum(axis=(-1, -2))


def _mmagic_ssim(gt, pred, crop_border, convert_to):
    a, b = _mmagic_transform(gt, crop_border, convert_to), _mmagic_transform(pred, crop_border, convert_to)
    c1, c2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2
    values = []
    for ch in range(a.shape[2]):
        x, y = a[..., ch], b[..., ch]
        mu1, mu2 = _valid_gaussian(x), _valid_gaussian(y)
        s1 = _valid_gaussian(x * x) - mu1 ** 2
        s2 = _valid_gaussian(y * y) - mu2 ** 2
        s12 = _valid_gaussian(x * y) - mu1 * mu2
        values.append((((2 * mu1 * mu2 + c1) * (2 * s12 + c2)) / ((mu1 ** 2 + mu2 ** 2 + c1) * (s1 + s2 + c2))).mean())
    return float(np.mean(values))


@pytest.mark.parametrize("crop_border, convert_to", [(0, None), (4, None), (4, "Y"), (2, "Y")])
def test_psnr_ssim_of_a_restoration_model_equal_mmagic_formulas(crop_border, convert_to):
    PluginManager(["mgx.plugins.data", "mgx.plugins.models", "mgx.plugins.metrics"]).activate()
    torch.manual_seed(0)
    model = build(dict(type="BaseEditModel",
                       generator=dict(type="SRCNNNet", channels=(3, 8, 8, 3), upscale_factor=4),
                       pixel_loss=dict(type="L1Loss"),
                       data_preprocessor=dict(type="DataPreprocessor", mean=[0.] * 3, std=[255.] * 3)), "model").eval()
    rng = np.random.default_rng(1)
    gt = rng.integers(0, 256, (3, 3, 32, 32), dtype=np.uint8)
    batch = {"gt_img": torch.from_numpy(gt), "lq_img": torch.from_numpy(gt[:, :, ::4, ::4].copy())}
    outputs = model.val_step(batch)
    pred = outputs["pred_img"].double().numpy()  # float predictions, as MMagic's metrics receive them
    expected_psnr = np.mean([_mmagic_psnr(gt[i], pred[i], crop_border, convert_to) for i in range(3)])
    expected_ssim = np.mean([_mmagic_ssim(gt[i], pred[i], crop_border, convert_to) for i in range(3)])
    # SSIM filters in float32 (plugins/metrics/functional/ssim.py: ~1e-7 from float64); PSNR is float64 throughout
    for name, expected, tolerance in (("PSNR", expected_psnr, dict(rel=1e-9, abs=1e-12)),
                                      ("SSIM", expected_ssim, dict(rel=0, abs=1e-6))):
        metric = build(dict(type=name, crop_border=crop_border, convert_to=convert_to), "metric")
        metric.setup(None)
        metric.process(batch, outputs)
        value = metric.compute()[name]
        assert value == pytest.approx(expected, **tolerance), name
