"""``TDAN`` (MMagic's name and arguments): trains TDANNet on frame windows -> the centre frame, with a
second pixel loss (``lq_pixel_loss``) between every aligned low-resolution frame and the centre frame.

Batches: ``inputs`` N×T×C×h×w, ``gt_img`` N×C×H×W (uint8 RGB). Validation and test read the
high-resolution output only.
"""
from __future__ import annotations

import torch

from mgx.core.errors import ConfigError, MgxError
from mgx.core.registry import build

from ..base_models import BaseEditModel
from ..base_models.frame_windows import frame_windows, normalize_frames
from ..common import module_device


class TDAN(BaseEditModel):
    """Video super-resolution of the centre frame with an alignment loss (see the module docstring)."""

    def __init__(self, generator: dict, pixel_loss: dict | None, lq_pixel_loss: dict | None,
                 train_cfg: dict | None = None, test_cfg: dict | None = None, init_cfg: dict | None = None,
                 data_preprocessor: dict | None = None) -> None:
        super().__init__(generator, pixel_loss, train_cfg, test_cfg, init_cfg, data_preprocessor)
        self.lq_pixel_loss = build(lq_pixel_loss, "model") if lq_pixel_loss else None
        if self.tile_size is not None:
            raise ConfigError("TDAN: test_cfg.tile_size is for image models; frame windows are not tiled")
        self.load_model_init()

    def _input(self, batch: dict, who: str, device: torch.device) -> torch.Tensor:
        key = "lq_img" if isinstance(batch, dict) and "lq_img" in batch else "inputs"
        return normalize_frames(self.data_preprocessor, frame_windows(batch, key, who, device))

    def _generate(self, normalized: torch.Tensor) -> torch.Tensor:
        return self.inference_generator()(normalized)[0]

    @torch.no_grad()
    def forward(self, frames: torch.Tensor) -> torch.Tensor:
        """The ×4 centre frame of N×T×C×h×w ``frames`` in [0, 255]: float RGB in [0, 255], N×C×4h×4w."""
        normalized = normalize_frames(self.data_preprocessor, frames.to(module_device(self)))
        return self.data_preprocessor.destruct(self._generate(normalized))

    def train_step(self, batch: dict, optim) -> dict[str, torch.Tensor]:
        who = "TDAN.train_step"
        if self.pixel_loss is None or self.lq_pixel_loss is None:
            raise ConfigError("TDAN needs pixel_loss and lq_pixel_loss (dict(type='MSELoss', ...)) to train")
        device = module_device(self)
        lqs, gt = self._input(batch, who, device), self._target(batch, who, device)
        wrapper = optim["generator"] if "generator" in optim else optim
        with wrapper.optim_context(self.generator):
            output, aligned = self.generator(lqs)
            if output.shape != gt.shape:
                raise MgxError(f"{who}: TDANNet made {tuple(output.shape)} from {tuple(lqs.shape)}, but gt_img "
                               f"is {tuple(gt.shape)}: TDAN upsamples ×4")
            t = aligned.size(1)
            centre = lqs[:, t // 2:t // 2 + 1].expand(-1, t, -1, -1, -1)
            loss_pix = self.pixel_loss(output.float(), gt)
            loss_pix_lq = self.lq_pixel_loss(aligned.float(), centre)
            loss = loss_pix + loss_pix_lq
        wrapper.update_params(loss)
        return {"loss": loss.detach(), "loss_pix": loss_pix.detach(), "loss_pix_lq": loss_pix_lq.detach()}
