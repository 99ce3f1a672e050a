"""``BaseMattor`` and ``MattorPreprocessor`` (MMagic 1.2.0's names and arguments): trimap-based matting.

Batches (``AdobeComp1kDataset`` + MMagic's matting pipelines + ``PackInputs``): ``inputs`` the merged image
(RGB in [0, 255]), ``trimap`` (1 channel 0/128/255, 0/1/2 after ``FormatTrimap``, or 3 one-hot channels),
and for training ``gt_alpha``, ``gt_fg``, ``gt_bg``, ``gt_merged``; for evaluation ``ori_alpha`` and
``ori_trimap`` (``save_original_img=True``). The network sees ``cat(normalised merged, processed trimap)``.

``val_step`` pads (``test_cfg.resize_method='pad'``, ``resize_mode`` the padding mode) or resizes
(``'interp'``, ``resize_mode`` the interpolation; the trimap nearest) the input to a multiple of
``size_divisor``, predicts, restores the size, clamps to [0, 1], sets the trimap's known pixels (255 → 1,
0 → 0), and returns ``pred_alpha`` ×255 rounded (N×1×H×W float) — what SAD, MattingMSE, GradientError and
ConnectivityError read. The sample grid shows image / trimap / predicted alpha / ground-truth alpha.
"""
from __future__ import annotations

from typing import Any

import torch
from torch import nn
from torch.nn import functional as F

from mgx.core.errors import ConfigError, MgxError
from mgx.core.registry import build

from ..common import batch_images, module_device
from ..data_preprocessor import DataPreprocessor
from .one_stage import detached_sum

TRIMAP_MODES = ("rescale_to_zero_one", "as_is")
RESIZE_METHODS = ("pad", "interp")


class MattorPreprocessor(DataPreprocessor):
    """Normalises the merged image (ImageNet mean/std by default); ``proc_trimap``: 'rescale_to_zero_one'
    (÷255: unknown = 128/255) or 'as_is' (float of the pipeline's values); ground truths ÷255 for training."""

    def __init__(self, mean: Any = (123.675, 116.28, 103.53), std: Any = (58.395, 57.12, 57.375),
                 output_channel_order: str = "RGB", proc_trimap: str = "rescale_to_zero_one",
                 stack_data_sample: bool = True) -> None:
        super().__init__(mean=list(mean), std=list(std), output_channel_order=output_channel_order,
                         data_keys=["gt_fg", "gt_bg", "gt_merged", "gt_alpha"])
        if proc_trimap not in TRIMAP_MODES:
            raise ConfigError(f"MattorPreprocessor: proc_trimap must be one of {TRIMAP_MODES}, got {proc_trimap!r}")
        self.proc_trimap = proc_trimap

    def trimap(self, trimaps: torch.Tensor) -> torch.Tensor:
        trimaps = trimaps.to(self.std.dtype)
        return trimaps / 255.0 if self.proc_trimap == "rescale_to_zero_one" else trimaps

    def truth(self, images: torch.Tensor) -> torch.Tensor:
        """A ground-truth image or alpha in [0, 255] as float in [0, 1] (channel order as the model's)."""
        if self.flip_channels and images.shape[1] == 3:
            images = images.flip(1)
        return images.to(self.std.dtype) / 255.0


def unknown_weight(trimap: torch.Tensor, unknown_value: float) -> torch.Tensor:
    """N×1×H×W float: 1 in the trimap's unknown region (the middle one-hot channel of a 3-channel trimap)."""
    if trimap.shape[1] == 3:
        return trimap[:, 1:2].float()
    return trimap.eq(unknown_value).float()


def trimap_codes(batch: dict, who: str, device: torch.device) -> torch.Tensor:
    """The original trimap (0/128/255, N×1×H×W float): ``ori_trimap``, else ``trimap`` decoded from one-hot
    or 0/1/2."""
    if "ori_trimap" in batch:
        return batch_images(batch, "ori_trimap", who, device)[:, :1].float()
    trimap = batch_images(batch, "trimap", who, device).float()
    if trimap.shape[1] == 3:
        return trimap.argmax(dim=1, keepdim=True) * 127.5 + (trimap[:, 1:2] > 0) * 0.5
    return trimap * 127.5 + (trimap == 1) * 0.5 if float(trimap.max()) <= 2 else trimap


class BaseMattor(nn.Module):
    """Backbone (and subclasses' parts) + the matting data path (module docstring)."""

    TRAIN_KEYS: frozenset[str] = frozenset()
    TEST_KEYS = frozenset({"resize_method", "resize_mode", "size_divisor"})
    UNKNOWN_VALUE = 128 / 255  # the processed trimap's unknown value the losses weight

    def __init__(self, data_preprocessor: dict | None, backbone: dict, init_cfg: dict | None = None,
                 train_cfg: dict | None = None, test_cfg: dict | None = None) -> None:
        super().__init__()
        who = type(self).__name__
        self.train_cfg, self.test_cfg = dict(train_cfg or {}), dict(test_cfg or {})
        for name, given, allowed in (("train_cfg", self.train_cfg, self.TRAIN_KEYS),
                                     ("test_cfg", self.test_cfg, self.TEST_KEYS)):
            unknown = sorted(set(given) - allowed)
            if unknown:
                raise ConfigError(f"{who}: model.{name} has unknown key(s) {unknown}; it takes {sorted(allowed)}")
        if init_cfg is not None:
            raise ConfigError(f"{who}: init_cfg is not supported; load MMagic weights with load_from")
        self.resize_method = self.test_cfg.get("resize_method", "pad")
        self.resize_mode = self.test_cfg.get("resize_mode", "reflect" if self.resize_method == "pad" else "bicubic")
        self.size_divisor = self.test_cfg.get("size_divisor", 32)
        if self.resize_method not in RESIZE_METHODS:
            raise ConfigError(f"{who}: model.test_cfg.resize_method must be one of {RESIZE_METHODS}, "
                              f"got {self.resize_method!r}")
        if isinstance(self.size_divisor, bool) or not isinstance(self.size_divisor, int) or self.size_divisor < 1:
            raise ConfigError(f"{who}: model.test_cfg.size_divisor must be a positive int, got {self.size_divisor!r}")
        self.data_preprocessor = build(data_preprocessor or dict(type="MattorPreprocessor"), "model")
        if not isinstance(self.data_preprocessor, MattorPreprocessor):
            raise ConfigError(f"{who}: data_preprocessor must be dict(type='MattorPreprocessor', ...), got "
                              f"{type(self.data_preprocessor).__name__}")
        self.backbone = build(backbone, "model")

    # -- data --------------------------------------------------------------

    def network_input(self, batch: dict, who: str) -> torch.Tensor:
        """cat(normalised merged image, processed trimap): N×(3 + trimap channels)×H×W."""
        device = module_device(self)
        merged = self.data_preprocessor.normalize(batch_images(batch, "inputs", who, device))
        trimap = self.data_preprocessor.trimap(batch_images(batch, "trimap", who, device))
        if merged.shape[-2:] != trimap.shape[-2:]:
            raise MgxError(f"{who}: the merged image is {tuple(merged.shape[-2:])} but the trimap "
                           f"{tuple(trimap.shape[-2:])}; crop/resize both in the pipeline")
        return torch.cat([merged, trimap], dim=1)

    def truths(self, batch: dict, keys: tuple[str, ...], who: str) -> dict[str, torch.Tensor]:
        device = module_device(self)
        return {key: self.data_preprocessor.truth(batch_images(batch, key, who, device)) for key in keys}

    # -- inference ---------------------------------------------------------

    def resize_inputs(self, inputs: torch.Tensor) -> torch.Tensor:
        images, trimaps = inputs[:, :3], inputs[:, 3:]
        height, width = inputs.shape[-2:]
        divisor = self.size_divisor
        if self.resize_method == "pad":
            pad = (0, (-width) % divisor, 0, (-height) % divisor)
            if any(pad):
                images, trimaps = F.pad(images, pad, self.resize_mode), F.pad(trimaps, pad, self.resize_mode)
        else:
            size = (height - height % divisor, width - width % divisor)
            if size != (height, width):
                images = F.interpolate(images, size=size, mode=self.resize_mode)
                trimaps = F.interpolate(trimaps, size=size, mode="nearest")
        return torch.cat([images, trimaps], dim=1)

    def restore_size(self, pred_alpha: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
        if self.resize_method == "pad":
            return pred_alpha[..., :size[0], :size[1]]
        return F.interpolate(pred_alpha, size=size, mode=self.resize_mode)

    def forward_test(self, inputs: torch.Tensor) -> torch.Tensor:
        """The predicted alpha in [0, 1] (before clamping) for a resized input."""
        raise NotImplementedError

    @torch.no_grad()
    def val_step(self, batch: dict) -> dict[str, Any]:
        who = f"{type(self).__name__}.val_step"
        inputs = self.network_input(batch, who)
        size = tuple(inputs.shape[-2:])
        pred = self.restore_size(self.forward_test(self.resize_inputs(inputs)), size).float().clamp(0, 1)
        codes = trimap_codes(batch, who, pred.device)
        if codes.shape[-2:] != pred.shape[-2:]:
            raise MgxError(f"{who}: ori_trimap is {tuple(codes.shape[-2:])} but the image {size}; the test pipeline "
                           "must not resize the merged image")
        pred = torch.where(codes == 255, torch.ones_like(pred), torch.where(codes == 0, torch.zeros_like(pred), pred))
        return {"pred_alpha": (pred * 255).round()}

    def grid_columns(self, batch: dict, outputs: dict) -> list[torch.Tensor]:
        """image / trimap / predicted alpha / ground-truth alpha, each N×C×H×W in [0, 255]."""
        device = outputs["pred_alpha"].device
        columns = [batch["inputs"].to(device).float(), trimap_codes(batch, "grid", device), outputs["pred_alpha"]]
        truth = batch.get("ori_alpha", batch.get("gt_alpha"))
        if isinstance(truth, torch.Tensor) and truth.shape[-2:] == columns[0].shape[-2:]:
            columns.append(truth.to(device).float())
        return columns

    # -- training ----------------------------------------------------------

    def losses(self, inputs: torch.Tensor, batch: dict, who: str) -> dict[str, torch.Tensor]:
        raise NotImplementedError

    def train_step(self, batch: dict, optim) -> dict[str, torch.Tensor]:
        who = f"{type(self).__name__}.train_step"
        inputs = self.network_input(batch, who)
        with optim.optim_context(self):
            losses = self.losses(inputs, batch, who)
            if not losses:
                raise ConfigError(f"{type(self).__name__}: nothing to train (no loss is configured for the parts "
                                  "train_cfg trains)")
            total, logged = detached_sum(losses)
        optim.update_params(total)
        return logged

    def adapt_loaded_weights(self, weights: dict) -> dict:
        """MMagic checkpoints: the same keys, without ``data_preprocessor.*`` (mean/std come from the config)."""
        return {key: value for key, value in weights.items() if not key.startswith("data_preprocessor.")}


__all__ = ["BaseMattor", "MattorPreprocessor", "trimap_codes", "unknown_weight"]
