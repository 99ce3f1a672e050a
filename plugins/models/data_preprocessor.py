"""``DataPreprocessor`` (MMagic's name and arguments): uint8 batch images to the model's range and back.

Models own one as ``self.data_preprocessor`` (built from the config's
``data_preprocessor=dict(type='DataPreprocessor', mean=..., std=...)``) and call

- ``normalize(images)``  uint8/float N×C×H×W in [0, 255] (RGB, mgx's order) ->
  float32 ``(x - mean) / std`` in the channel order the model wants;
- ``pad(images)``        pads H and W up to a multiple of ``pad_size_divisor``;
- ``forward(images)``    both (what MMagic's preprocessor does to ``inputs``);
- ``destruct(outputs, size=None)``  the inverse: ``x * std + mean``, back to RGB,
  cropped to ``size`` (undoes ``pad``), clamped to [0, 255] — the pixel range
  every ``*_img`` output of ``val_step`` is in.

MMagic's defaults (mean = std = 127.5) map [0, 255] to [-1, 1]; its restoration
configs use ``mean=[0, 0, 0], std=[255, 255, 255]`` for [0, 1].

mean and std are non-persistent buffers: they follow ``.to(device)`` and never
enter checkpoints (the config is their source, as in MMEngine).
"""
from __future__ import annotations

from typing import Any, Sequence

import torch
from torch import nn
from torch.nn import functional as F

from mgx.core.errors import ConfigError

_PAD_MODES = ("constant", "reflect", "replicate", "circular")


def _per_channel(value: Any, name: str) -> torch.Tensor | None:
    if value is None:
        return None
    values = list(value) if isinstance(value, (list, tuple)) else [value]
    if not values or not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values):
        raise ConfigError(f"DataPreprocessor: {name} must be a number or a list of numbers, got {value!r}")
    return torch.tensor([float(v) for v in values], dtype=torch.float32).view(1, -1, 1, 1)


class DataPreprocessor(nn.Module):
    """Normalisation, channel order and padding of image batches (see the module docstring).

    Arguments are MMagic 1.2.0's. ``data_keys``, ``non_image_keys``,
    ``non_concentate_keys`` and ``stack_data_sample`` are accepted for MMagic
    configs: mgx models say themselves which batch tensors they normalise (a
    restoration model normalises its input and ``gt_img``, as MMagic's default
    ``data_keys='gt_img'`` does). ``input_view``/``output_view`` (LIIF only) are
    not supported.
    """

    def __init__(self, mean: Sequence[float] | float | None = 127.5, std: Sequence[float] | float | None = 127.5,
                 pad_size_divisor: int = 1, pad_value: float = 0, pad_mode: str = "constant",
                 non_image_keys: Any = None, non_concentate_keys: Any = None,
                 output_channel_order: str | None = None, data_keys: Any = "gt_img",
                 input_view: Any = None, output_view: Any = None, stack_data_sample: bool = True) -> None:
        super().__init__()
        if (mean is None) != (std is None):
            raise ConfigError("DataPreprocessor: give both mean and std, or neither (no normalisation)")
        mean_t, std_t = _per_channel(mean, "mean"), _per_channel(std, "std")
        if std_t is not None and bool((std_t == 0).any()):
            raise ConfigError(f"DataPreprocessor: std must not contain 0, got {std!r}")
        if output_channel_order not in (None, "RGB", "BGR"):
            raise ConfigError(f"DataPreprocessor: output_channel_order must be None, 'RGB' or 'BGR', "
                              f"got {output_channel_order!r}")
        if isinstance(pad_size_divisor, bool) or not isinstance(pad_size_divisor, int) or pad_size_divisor < 1:
            raise ConfigError(f"DataPreprocessor: pad_size_divisor must be a positive int, got {pad_size_divisor!r}")
        if pad_mode not in _PAD_MODES:
            raise ConfigError(f"DataPreprocessor: pad_mode must be one of {_PAD_MODES}, got {pad_mode!r}")
        if input_view is not None or output_view is not None:
            raise ConfigError("DataPreprocessor: input_view/output_view (LIIF's coordinate layout) are not "
                              "supported by mgx; remove them")
        self.normalizes = mean_t is not None
        self.zero_mean = mean_t is None or bool((mean_t == 0).all())
        self.register_buffer("mean", mean_t if mean_t is not None else torch.zeros(1, 1, 1, 1), persistent=False)
        self.register_buffer("std", std_t if std_t is not None else torch.ones(1, 1, 1, 1), persistent=False)
        self.pad_size_divisor, self.pad_value, self.pad_mode = pad_size_divisor, float(pad_value), pad_mode
        # mgx images are RGB; 'BGR' means the model wants (and returns) BGR channels
        self.flip_channels = output_channel_order == "BGR"
        self.data_keys = [data_keys] if isinstance(data_keys, str) else list(data_keys or [])

    def _check_channels(self, images: torch.Tensor) -> None:
        channels = images.shape[1]
        for name, values in (("mean", self.mean), ("std", self.std)):
            if values.shape[1] not in (1, channels):
                raise ConfigError(f"DataPreprocessor: {name} has {values.shape[1]} values but the images have "
                                  f"{channels} channel(s)")

    def normalize(self, images: torch.Tensor) -> torch.Tensor:
        """[0, 255] RGB N×C×H×W (any dtype) -> float32 model input."""
        if images.dim() != 4:
            raise ValueError(f"DataPreprocessor expects N×C×H×W images, got shape {tuple(images.shape)}")
        if self.flip_channels and images.shape[1] == 3:
            images = images.flip(1)
        # a fresh tensor (the in-place steps never touch the batch) in the buffers' dtype: float32 unless .double()
        images = images.to(self.std.dtype, copy=True)
        if self.normalizes:
            self._check_channels(images)
            if not self.zero_mean:
                images.sub_(self.mean)
            images.div_(self.std)
        return images

    def pad(self, images: torch.Tensor) -> torch.Tensor:
        """Pad bottom/right up to a multiple of ``pad_size_divisor`` (no-op when it is 1)."""
        divisor = self.pad_size_divisor
        height, width = images.shape[-2:]
        pad_h, pad_w = (-height) % divisor, (-width) % divisor
        if not (pad_h or pad_w):
            return images
        if self.pad_mode == "constant":
            return F.pad(images, (0, pad_w, 0, pad_h), mode="constant", value=self.pad_value)
        return F.pad(images, (0, pad_w, 0, pad_h), mode=self.pad_mode)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.pad(self.normalize(images))

    def destruct(self, outputs: torch.Tensor, size: Sequence[int] | None = None) -> torch.Tensor:
        """Model output -> float RGB in [0, 255], cropped to ``size`` (H, W) when given."""
        outputs = outputs.float()
        if self.normalizes:
            self._check_channels(outputs)
            outputs = outputs * self.std + self.mean
        if self.flip_channels and outputs.shape[1] == 3:
            outputs = outputs.flip(1)
        if size is not None:
            outputs = outputs[..., :size[0], :size[1]]
        return outputs.clamp(0.0, 255.0)


__all__ = ["DataPreprocessor"]
