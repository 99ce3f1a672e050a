"""``NIQE`` (MMagic's name and arguments): a no-reference naturalness score of ``pred_img`` (lower is better)."""
from __future__ import annotations

import torch

from mgx.core.errors import ConfigError
from mgx.core.evaluation import BaseMetric

from .clips import clip_sum_and_count
from .functional.niqe import niqe
from .functional.pixel import rgb_to_y

# OpenCV's BGR2GRAY weights, for [0, 255] RGB
_GRAY = (0.299, 0.587, 0.114)


class NIQE(BaseMetric):
    """Mean NIQE over images of ``outputs[key]`` (or ``batch[key]`` with ``is_predicted=False``).

    Images are N×C×H×W (``input_order='CHW'``) or N×H×W×C (``'HWC'``) in [0, 255]
    RGB; clips N×T×C×H×W count once each, the mean over their frames (clips.py).
    ``convert_to`` 'y' (BT.601 luma, MATLAB's) or 'gray' makes them one
    channel, rounded as the authors' code does, after ``crop_border``. They must
    be at least 96×96 (NIQE's block).
    """

    uses_val_step = True
    directions = {"NIQE": "lower"}

    def __init__(self, key: str = "pred_img", is_predicted: bool = True, collect_device: str = "cpu",
                 prefix: str | None = None, crop_border: int = 0, input_order: str = "HWC",
                 convert_to: str = "gray") -> None:
        super().__init__(prefix)
        if str(convert_to).lower() not in ("y", "gray"):
            raise ConfigError(f"NIQE: convert_to must be 'y' or 'gray', got {convert_to!r}")
        if input_order not in ("CHW", "HWC"):
            raise ConfigError(f"NIQE: input_order must be 'CHW' or 'HWC', got {input_order!r}")
        if isinstance(crop_border, bool) or not isinstance(crop_border, int) or crop_border < 0:
            raise ConfigError(f"NIQE: crop_border must be a non-negative integer, got {crop_border!r}")
        self.key, self.is_predicted = key, bool(is_predicted)
        self.crop_border, self.input_order, self.convert_to = crop_border, input_order, str(convert_to).lower()

    def result_keys(self) -> list[str]:
        return ["NIQE"]

    def setup(self, ctx) -> None:
        self.add_sum_state("_sum", (2,))  # [Σ NIQE, count]

    def _gray(self, images: torch.Tensor) -> torch.Tensor:
        images = images.to(torch.float64)
        images = images.unsqueeze(0) if images.dim() == 3 else images
        if self.input_order == "HWC" and images.shape[-1] in (1, 3) and images.shape[1] not in (1, 3):
            images = images.permute(0, 3, 1, 2)  # MMagic's configs say 'HWC' of CHW tensors too: read the layout
        if images.shape[1] == 3:
            if self.convert_to == "y":
                images = rgb_to_y(images)
            else:
                images = sum(weight * images[:, i:i + 1] for i, weight in enumerate(_GRAY))
        if self.crop_border:
            c = self.crop_border
            images = images[..., c:-c, c:-c]
        return images[:, 0].round()

    def process(self, batch: dict, outputs: dict) -> None:
        source = outputs if self.is_predicted else batch
        if self.key not in source:
            where = "val_step outputs" if self.is_predicted else "batches"
            raise ConfigError(f"NIQE: {where} have no {self.key!r} (keys: {sorted(source)}); set key=")
        images = source[self.key].detach().cpu()
        if images.dim() == 5:  # clips: the mean over each clip's frames, then over clips (MMagic's)
            values = torch.tensor([niqe(image.numpy()) for image in self._gray(images.flatten(0, 1))])
            self._sum += clip_sum_and_count(values, images.shape[0], batch)
            return
        for image in self._gray(images):
            self._sum += torch.tensor([niqe(image.numpy()), 1.0], dtype=torch.float64)

    def compute(self) -> dict[str, float]:
        total = self._sum  # synced: the sum over processes
        return {"NIQE": float(total[0] / total[1]) if total[1] else float("nan")}
