"""Frame windows (N×T×C×H×W clips) through the image ``DataPreprocessor``, and ``BasicInterpolator``
(MMagic's name and arguments): a generator that makes the frame between its input frames, trained
with a pixel loss.

Batches: ``inputs`` N×T×C×H×W (Vimeo-90K's im1/im3 for a triplet, im1/im3/im5/im7 for FLAVR's
septuplet) and ``gt_img`` N×C×H×W (the frame in between), uint8 RGB. The preprocessor normalises every
frame; its ``pad_size_divisor``/``pad_mode`` pad the frames before the generator (training and
inference alike, as MMagic's preprocessor does) and the output is cropped back, so PSNR/SSIM/MAE read
the interpolated frame at the ground truth's size.
"""
from __future__ import annotations

from typing import Any

import torch
from torch import nn

from mgx.core.errors import ConfigError, MgxError

from ..common import module_device
from .base_edit_model import BaseEditModel


def frame_windows(batch: dict, key: str, who: str, device: torch.device) -> torch.Tensor:
    """``batch[key]`` as N×T×C×H×W frames on ``device``, with a clear error when it is not."""
    value: Any = batch.get(key) if isinstance(batch, dict) else None
    if not isinstance(value, torch.Tensor) or value.dim() != 5:
        found = tuple(value.shape) if isinstance(value, torch.Tensor) else sorted(batch) if isinstance(batch, dict) \
            else type(batch).__name__
        raise MgxError(f"{who} needs batch[{key!r}] as N×T×C×H×W frames (load_frames_list with several frames, "
                       f"LoadImageFromFile, PackInputs); got {found}")
    return value.to(device, non_blocking=True)


def normalize_frames(preprocessor: nn.Module, frames: torch.Tensor) -> torch.Tensor:
    """The preprocessor's per-frame normalisation of N×T×C×H×W frames."""
    flat = preprocessor.normalize(frames.flatten(0, 1))
    return flat.view(*frames.shape[:2], *flat.shape[1:])


def pad_frames(preprocessor: nn.Module, frames: torch.Tensor) -> torch.Tensor:
    """Every frame padded as the preprocessor pads images (bottom/right to ``pad_size_divisor``)."""
    flat = preprocessor.pad(frames.flatten(0, 1))
    return flat.view(*frames.shape[:2], *flat.shape[1:])


class BasicInterpolator(BaseEditModel):
    """Video frame interpolation (see the module docstring). ``required_frames``/``step_frames``: the
    window a whole video is cut into at inference (:meth:`split_frames`)."""

    def __init__(self, generator: dict, pixel_loss: dict | None, train_cfg: dict | None = None,
                 test_cfg: dict | None = None, required_frames: int = 2, step_frames: int = 1,
                 init_cfg: dict | None = None, data_preprocessor: dict | None = None) -> None:
        super().__init__(generator, pixel_loss, train_cfg, test_cfg, init_cfg, data_preprocessor)
        who = type(self).__name__
        for name, value in (("required_frames", required_frames), ("step_frames", step_frames)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ConfigError(f"{who}: {name} must be a positive int, got {value!r}")
        if self.tile_size is not None:
            raise ConfigError(f"{who}: test_cfg.tile_size is for image models; frame windows are not tiled")
        self.required_frames, self.step_frames = required_frames, step_frames
        self.load_model_init()

    # -- the generator on padded frames ------------------------------------

    def run_generator(self, frames: torch.Tensor, training: bool) -> torch.Tensor:
        """The generator's frame for normalised N×T×C×H×W ``frames`` (padded, then cropped back)."""
        height, width = frames.shape[-2:]
        out = self.call_generator(pad_frames(self.data_preprocessor, frames), training)
        return out[..., :height, :width]

    def call_generator(self, frames: torch.Tensor, training: bool) -> torch.Tensor:
        """One call of the generator (CAIN pads further at inference)."""
        return self.generator(frames)

    def _frames(self, batch: dict, who: str) -> torch.Tensor:
        key = "lq_img" if isinstance(batch, dict) and "lq_img" in batch else "inputs"
        return normalize_frames(self.data_preprocessor, frame_windows(batch, key, who, module_device(self)))

    # -- training and inference -------------------------------------------

    def train_step(self, batch: dict, optim) -> dict[str, torch.Tensor]:
        who = f"{type(self).__name__}.train_step"
        if self.pixel_loss is None:
            raise ConfigError(f"{type(self).__name__} needs pixel_loss=dict(type='L1Loss', ...) to train")
        frames = self._frames(batch, who)
        gt = self._target(batch, who, module_device(self))
        wrapper = optim["generator"] if "generator" in optim else optim
        with wrapper.optim_context(self.generator):
            output = self.run_generator(frames, training=True)
            if output.shape != gt.shape:
                raise MgxError(f"{who}: the generator made {tuple(output.shape)} from frames "
                               f"{tuple(frames.shape)}, but gt_img is {tuple(gt.shape)}: check load_frames_list")
            loss = self.pixel_loss(output.float(), gt)
        wrapper.update_params(loss)
        return {"loss": loss.detach()}

    @torch.no_grad()
    def forward(self, frames: torch.Tensor) -> torch.Tensor:
        """The frame between N×T×C×H×W ``frames`` in [0, 255]: float RGB in [0, 255], N×C×H×W."""
        frames = normalize_frames(self.data_preprocessor, frames.to(module_device(self)))
        return self.data_preprocessor.destruct(self.run_generator(frames, training=False))

    @torch.no_grad()
    def val_step(self, batch: dict) -> dict[str, Any]:
        """``{'pred_img': the interpolated frame, float RGB [0, 255], 'gt_img': batch['gt_img']}``."""
        who = f"{type(self).__name__}.val_step"
        pred = self.data_preprocessor.destruct(self.run_generator(self._frames(batch, who), training=False))
        outputs: dict[str, Any] = {"pred_img": pred}
        gt = batch.get("gt_img") if isinstance(batch, dict) else None
        if isinstance(gt, torch.Tensor):
            if gt.shape[-3:] != pred.shape[-3:]:
                raise MgxError(f"{who}: the interpolated frame {tuple(pred.shape)} does not match gt_img "
                               f"{tuple(gt.shape)}: check load_frames_list")
            outputs["gt_img"] = gt
        return outputs

    # -- whole videos (MMagic's inference helpers) -------------------------

    def split_frames(self, frames: torch.Tensor) -> torch.Tensor:
        """1×T×C×H×W video -> the windows of ``required_frames`` frames every ``step_frames``, stacked on
        the batch axis."""
        count = frames.shape[1]
        starts = range(0, count - self.required_frames + 1, self.step_frames)
        return torch.cat([frames[:, i:i + self.required_frames] for i in starts], dim=0)

    @staticmethod
    def merge_frames(windows: torch.Tensor, outputs: torch.Tensor) -> list[torch.Tensor]:
        """Pair windows [[f1, f2], [f2, f3], ...] and their interpolated frames into the video
        [f1, o1, f2, o2, ..., last] (C×H×W frames)."""
        merged = []
        for window, output in zip(windows, outputs):
            merged += [window[0], output.reshape(-1, *output.shape[-3:])[0]]
        return merged + [windows[-1, 1]]


__all__ = ["BasicInterpolator", "frame_windows", "normalize_frames", "pad_frames"]
