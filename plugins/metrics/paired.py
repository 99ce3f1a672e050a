"""Paired image metrics on val_step outputs: PSNR, SSIM, MAE, MSE (MMagic's arguments)."""
from __future__ import annotations

import torch

from mgx.core.errors import ConfigError
from mgx.core.evaluation import BaseMetric

from ._common import check_convention
from .clips import clip_sum_and_count
from .functional.pixel import mae, mse, psnr, rgb_to_y
from .functional.ssim import ssim


class PairedMetric(BaseMetric):
    """Reads ``batch[gt_key]`` and ``outputs[pred_key]`` (falling back to ``batch[pred_key]``),
    both N×C×H×W (or N×H×W×C with input_order='HWC') in [0, 255]; reports the mean over images.

    Clips (N×T×C×H×W, or N×T×H×W×C) count as one value each, the mean of their frames' values, as
    MMagic averages a video metric per clip and then over clips (docs/metrics.md); a clip cut in temporal
    chunks still counts once (clips.py).
    """

    uses_val_step = True
    result_key = "value"  # subclasses: their own name, so the logged key is "PSNR" or "<prefix>/PSNR" as in MMagic

    def __init__(self, gt_key: str = "gt_img", pred_key: str = "pred_img", crop_border: int = 0,
                 input_order: str = "CHW", convert_to: str | None = None, prefix: str | None = None,
                 scaling: float = 1) -> None:
        super().__init__(prefix)
        name = type(self).__name__
        if isinstance(scaling, bool) or not isinstance(scaling, (int, float)):
            raise ConfigError(f"{name}: scaling must be a number (MMagic's factor on the final value), got {scaling!r}")
        self.scaling = float(scaling)
        if input_order not in ("CHW", "HWC"):
            raise ConfigError(f"{name}: input_order must be 'CHW' or 'HWC', got {input_order!r}")
        if convert_to is not None and str(convert_to).upper() != "Y":
            raise ConfigError(f"{name}: convert_to must be None or 'Y', got {convert_to!r}")
        if not isinstance(crop_border, int) or crop_border < 0:
            raise ConfigError(f"{name}: crop_border must be a non-negative integer, got {crop_border!r}")
        self.gt_key, self.pred_key = gt_key, pred_key
        self.crop_border, self.input_order = crop_border, input_order
        self.convert_to = None if convert_to is None else "Y"

    def result_keys(self) -> list[str]:
        return [self.result_key]

    def setup(self, ctx) -> None:
        self.add_sum_state("_sum", (2,))  # [Σ values, count]

    def _prepare(self, images: torch.Tensor) -> torch.Tensor:
        images = images.to(torch.float64)
        if images.dim() == 5:  # clips: every frame an image; process() averages them per clip
            images = images.flatten(0, 1)
        if images.dim() == 3:
            images = images.unsqueeze(0)
        if self.input_order == "HWC":
            images = images.permute(0, 3, 1, 2)
        if self.crop_border:
            c = self.crop_border
            images = images[:, :, c:-c, c:-c]
        if self.convert_to == "Y" and images.shape[1] == 3:
            images = rgb_to_y(images)
        return images

    def _fetch(self, batch: dict, outputs: dict) -> tuple[torch.Tensor, torch.Tensor]:
        name = type(self).__name__
        if self.gt_key not in batch:
            raise ConfigError(f"{name}: batches have no {self.gt_key!r} (keys: {sorted(batch)}); set gt_key=")
        source = outputs if self.pred_key in outputs else batch
        if self.pred_key not in source:
            raise ConfigError(f"{name}: val_step outputs have no {self.pred_key!r} (keys: {sorted(outputs)}); "
                              f"set pred_key=")
        gt, pred = self._prepare(batch[self.gt_key]), self._prepare(source[self.pred_key])
        if gt.shape != pred.shape:
            raise ConfigError(f"{name}: {self.gt_key} {tuple(gt.shape)} and {self.pred_key} {tuple(pred.shape)} "
                              f"differ in shape")
        return gt, pred

    def _values(self, gt: torch.Tensor, pred: torch.Tensor, batch: dict) -> torch.Tensor:
        raise NotImplementedError

    def process(self, batch: dict, outputs: dict) -> None:
        gt, pred = self._fetch(batch, outputs)
        values = self._values(gt, pred, batch).detach().cpu().to(torch.float64)
        if batch[self.gt_key].dim() == 5:  # one value per clip: the mean over its frames (clips.py)
            self._sum += clip_sum_and_count(values, batch[self.gt_key].shape[0], batch)
            return
        self._sum += torch.stack([values.sum(), torch.tensor(float(values.numel()), dtype=torch.float64)])

    def compute(self) -> dict[str, float]:
        total = self._sum
        if total[1] == 0:
            return {self.result_key: float("nan")}
        return {self.result_key: float(total[0] / total[1]) * self.scaling}


class PSNR(PairedMetric):
    """Peak signal-to-noise ratio (dB, peak 255), mean over images."""

    result_key = "PSNR"
    directions = {"PSNR": "higher"}

    def _values(self, gt, pred, batch):
        return psnr(pred, gt, 255.0)


class SSIM(PairedMetric):
    """Structural similarity (11×11 Gaussian, σ 1.5, valid region), mean over images."""

    result_key = "SSIM"
    directions = {"SSIM": "higher"}

    def _values(self, gt, pred, batch):
        return ssim(pred, gt, 255.0)


class _MaskedPaired(PairedMetric):
    """``convention='mmagic'`` treats the mask as MMagic 1.2.0 does: every non-zero value counts as 1
    (a soft mask is binarized), and MSE divides by the mask's own sum, so a 1-channel mask over C
    channels gives C× the per-pixel value. 'official' weights pixels by the mask expanded to the image."""

    def __init__(self, gt_key: str = "gt_img", pred_key: str = "pred_img", mask_key: str | None = None,
                 crop_border: int = 0, input_order: str = "CHW", convert_to: str | None = None,
                 prefix: str | None = None, scaling: float = 1, convention: str = "official") -> None:
        super().__init__(gt_key, pred_key, crop_border, input_order, convert_to, prefix, scaling)
        self.mask_key = mask_key
        self.convention = check_convention(type(self).__name__, convention)

    def _mask(self, batch: dict):
        if self.mask_key is None:
            return None
        if self.mask_key not in batch:
            raise ConfigError(f"{type(self).__name__}: batches have no {self.mask_key!r}; set mask_key=")
        mask = batch[self.mask_key].to(torch.float64)
        mask = mask.flatten(0, 1) if mask.dim() == 5 else mask
        mask = mask.unsqueeze(0) if mask.dim() == 3 else mask
        if self.input_order == "HWC":
            mask = mask.permute(0, 3, 1, 2)
        if self.crop_border:
            c = self.crop_border
            mask = mask[:, :, c:-c, c:-c]
        return (mask != 0).to(torch.float64) if self.convention == "mmagic" else mask


class MAE(_MaskedPaired):
    """Mean absolute error of pixels scaled to [0, 1] (masked when mask_key is set)."""

    result_key = "MAE"
    directions = {"MAE": "lower"}

    def _values(self, gt, pred, batch):
        return mae(pred, gt, self._mask(batch))


class MSE(_MaskedPaired):
    """Mean squared error of pixels scaled to [0, 1] (masked when mask_key is set)."""

    result_key = "MSE"
    directions = {"MSE": "lower"}

    def _values(self, gt, pred, batch):
        mask = self._mask(batch)
        if self.convention == "mmagic" and mask is not None:  # Σ over the image, ÷ Σ over the mask as given
            squared = ((pred - gt) / 255.0).square() * mask
            return squared.flatten(1).sum(dim=1) / mask.flatten(1).sum(dim=1)
        return mse(pred, gt, mask)
