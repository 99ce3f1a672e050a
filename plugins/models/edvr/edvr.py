"""``EDVR`` (MMagic's name and arguments): trains EDVRNet on frame windows -> the centre frame.

Batches: ``inputs`` N×T×C×h×w, ``gt_img`` N×C×H×W. With ``with_tsa`` only the TSA fusion trains for the
first ``train_cfg.tsa_iter`` iterations (MMagic's schedule), counted by ``step_counter``; mgx saves that
counter with the weights (MMagic does not, so its resumed runs freeze again) and accepts MMagic's
checkpoints without it.
"""
from __future__ import annotations

import torch

from mgx.core.errors import ConfigError

from ..base_models import BaseEditModel
from ..basicvsr.basicvsr import clip_batch


class EDVR(BaseEditModel):
    """Video restoration of the centre frame of a window (see the module docstring)."""

    TRAIN_KEYS = frozenset({"tsa_iter"})

    def __init__(self, generator: dict, pixel_loss: dict | None, train_cfg: dict | None = None,
                 test_cfg: dict | None = None, init_cfg: dict | None = None,
                 data_preprocessor: dict | None = None) -> None:
        super().__init__(generator, pixel_loss, train_cfg, test_cfg, init_cfg, data_preprocessor)
        self.with_tsa = bool(generator.get("with_tsa", False))
        self.tsa_iter = self.train_cfg.get("tsa_iter")
        if self.with_tsa and not (isinstance(self.tsa_iter, int) and not isinstance(self.tsa_iter, bool)):
            raise ConfigError(f"EDVR: with_tsa=True needs train_cfg=dict(tsa_iter=N) (an int), got {self.tsa_iter!r}")
        if self.tile_size is not None:
            raise ConfigError("EDVR: test_cfg.tile_size is for image models; frame windows are not tiled")
        self.register_buffer("step_counter", torch.tensor(0))
        self.load_model_init()

    def adapt_loaded_weights(self, weights: dict) -> dict:
        """MMagic's checkpoints have no step_counter (its buffer is not saved): count from 0."""
        return weights if "step_counter" in weights else {**weights, "step_counter": torch.tensor(0)}

    def _input(self, batch: dict, who: str, device: torch.device) -> torch.Tensor:
        key = "lq_img" if isinstance(batch, dict) and "lq_img" in batch else "inputs"
        clips = clip_batch(batch, key, who, device)
        if clips.dim() != 5:
            raise ConfigError(f"{who}: inputs must be frame windows N×T×C×H×W, got {tuple(clips.shape)}")
        flat = self.data_preprocessor.normalize(clips.flatten(0, 1))
        return flat.view(*clips.shape[:2], *flat.shape[1:])

    def train_step(self, batch: dict, optim) -> dict[str, torch.Tensor]:
        step = int(self.step_counter)
        if self.with_tsa and step < self.tsa_iter:  # every step, so a resumed run freezes too
            for name, parameter in self.generator.named_parameters():
                if "fusion" not in name:
                    parameter.requires_grad_(False)
        if self.with_tsa and step == self.tsa_iter:
            self.generator.requires_grad_(True)
        self.step_counter += 1
        return super().train_step(batch, optim)
