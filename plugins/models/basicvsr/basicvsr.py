"""``BasicVSR`` (MMagic's name and arguments): the model that trains BasicVSRNet, IconVSRNet and
BasicVSRPlusPlusNet on clips.

Batches hold clips: ``inputs`` (or ``lq_img``) N×T×C×h×w and ``gt_img`` N×T×C×H×W, uint8 RGB. For the
first ``train_cfg.fix_iter`` iterations the flow network (parameters named ``spynet``/``edvr``) is
frozen, counted by the ``step_counter`` buffer (saved with the weights, so a resumed run freezes and
thaws at the same iteration). ``val_step`` returns ``pred_img`` N×T×C×H×W float RGB in [0, 255]; when
the ground truth is one frame per clip (Vimeo-90K's centre frame) the prediction is that frame (for a
mirror-extended input, the mean of its two copies), as MMagic does.
"""
from __future__ import annotations

from typing import Any

import torch

from mgx.core.errors import ConfigError, MgxError

from ..base_models import BaseEditModel
from ..common import module_device
from .basicvsr_net import is_mirror_extended
from .ensemble import SpatialTemporalEnsemble

FROZEN_PARTS = ("spynet", "edvr")


def clip_batch(batch: dict, key: str, who: str, device: torch.device) -> torch.Tensor:
    value: Any = batch.get(key) if isinstance(batch, dict) else None
    if not isinstance(value, torch.Tensor) or value.dim() not in (4, 5):
        fields = sorted(batch) if isinstance(batch, dict) else type(batch).__name__
        raise MgxError(f"{who} needs batch[{key!r}] as N×T×C×H×W clips (LoadImageFromFile of frame lists, then "
                       f"PackInputs); the batch has {fields}")
    return value.to(device, non_blocking=True)


def normalize_clips(preprocessor: Any, clips: torch.Tensor) -> torch.Tensor:
    """The data preprocessor's normalisation of N×T×C×H×W clips (or N×C×H×W images)."""
    if clips.dim() == 4:
        return preprocessor.normalize(clips)
    return preprocessor.normalize(clips.flatten(0, 1)).view(*clips.shape[:2], *clips.shape[2:])


def destruct_clips(preprocessor: Any, clips: torch.Tensor) -> torch.Tensor:
    """Generator outputs N×T×C×H×W back to [0, 255]."""
    return preprocessor.destruct(clips.flatten(0, 1)).view(clips.shape)


class BasicVSR(BaseEditModel):
    """Recurrent video super-resolution (see the module docstring).

    ``ensemble=dict(type='SpatialTemporalEnsemble', is_temporal_ensemble=False)`` averages validation and
    test outputs over the 8 flips/transposes (and the reversed clip when temporal). (MMagic 1.2.0 builds
    the ensemble but never calls it; mgx applies what the config asks for.)
    """

    TRAIN_KEYS = frozenset({"fix_iter"})

    def __init__(self, generator: dict, pixel_loss: dict | None, ensemble: dict | None = None,
                 train_cfg: dict | None = None, test_cfg: dict | None = None, init_cfg: dict | None = None,
                 data_preprocessor: dict | None = None) -> None:
        super().__init__(generator, pixel_loss, train_cfg, test_cfg, init_cfg, data_preprocessor)
        fix_iter = self.train_cfg.get("fix_iter", 0)
        if isinstance(fix_iter, bool) or not isinstance(fix_iter, int):
            raise ConfigError(f"{type(self).__name__}: train_cfg.fix_iter must be an int, got {fix_iter!r}")
        self.fix_iter = fix_iter
        self.register_buffer("step_counter", torch.zeros(1))
        self.forward_ensemble = None
        if ensemble is not None:
            if not isinstance(ensemble, dict) or ensemble.get("type") != "SpatialTemporalEnsemble" or \
                    set(ensemble) - {"type", "is_temporal_ensemble"}:
                raise ConfigError(f"{type(self).__name__}: ensemble must be dict(type='SpatialTemporalEnsemble', "
                                  f"is_temporal_ensemble=...), got {ensemble!r}")
            self.forward_ensemble = SpatialTemporalEnsemble(bool(ensemble.get("is_temporal_ensemble", False)))
        if self.tile_size is not None:
            raise ConfigError(f"{type(self).__name__}: test_cfg.tile_size is for image models; clips are not tiled")
        self.load_model_init()

    # -- frames <-> the preprocessor's N×C×H×W --------------------------------

    def _normalize(self, clips: torch.Tensor) -> torch.Tensor:
        return normalize_clips(self.data_preprocessor, clips)

    def _destruct(self, clips: torch.Tensor) -> torch.Tensor:
        return destruct_clips(self.data_preprocessor, clips)

    def _run(self, lqs: torch.Tensor) -> torch.Tensor:
        if self.forward_ensemble is not None and not self.training:
            return self.forward_ensemble(lqs, self.generator)
        return self.generator(lqs)

    # -- training -------------------------------------------------------------

    def _freeze_flow(self) -> None:
        """MMagic's schedule: flow parts frozen while step_counter < fix_iter, everything trainable at fix_iter."""
        step = int(self.step_counter.item())
        if step < self.fix_iter:
            for name, parameter in self.generator.named_parameters():
                if any(part in name for part in FROZEN_PARTS):
                    parameter.requires_grad_(False)
        elif step == self.fix_iter:
            self.generator.requires_grad_(True)

    def train_step(self, batch: dict, optim) -> dict[str, torch.Tensor]:
        who = f"{type(self).__name__}.train_step"
        if self.pixel_loss is None:
            raise ConfigError(f"{type(self).__name__} needs pixel_loss=dict(type='CharbonnierLoss', ...) to train")
        device = module_device(self)
        key = "lq_img" if "lq_img" in batch else "inputs"
        lqs = self._normalize(clip_batch(batch, key, who, device))
        gts = self._normalize(clip_batch(batch, "gt_img", who, device))
        if lqs.dim() != 5:
            raise MgxError(f"{who}: inputs must be clips N×T×C×H×W, got {tuple(lqs.shape)}")
        self._freeze_flow()
        wrapper = optim["generator"] if "generator" in optim else optim
        with wrapper.optim_context(self.generator):
            output = self.generator(lqs)
            if output.shape != gts.shape:
                raise MgxError(f"{who}: the generator made {tuple(output.shape)} from {tuple(lqs.shape)}, but "
                               f"gt_img is {tuple(gts.shape)}: check the scale and the frame lists")
            loss = self.pixel_loss(output.float(), gts)
        wrapper.update_params(loss)
        self.step_counter += 1
        return {"loss": loss.detach()}

    # -- inference ------------------------------------------------------------

    @torch.no_grad()
    def forward(self, clips: torch.Tensor) -> torch.Tensor:
        """Restore N×T×C×h×w clips in [0, 255]: float RGB in [0, 255], N×T×C×H×W."""
        device = module_device(self)
        return self._destruct(self._run(self._normalize(clips.to(device))))

    @torch.no_grad()
    def val_step(self, batch: dict) -> dict[str, Any]:
        who = f"{type(self).__name__}.val_step"
        device = module_device(self)
        key = "lq_img" if "lq_img" in batch else "inputs"
        lqs = clip_batch(batch, key, who, device)
        pred = self._destruct(self._run(self._normalize(lqs)))
        outputs: dict[str, Any] = {}
        gt = batch.get("gt_img") if isinstance(batch, dict) else None
        if isinstance(gt, torch.Tensor) and gt.dim() == 4:  # one ground-truth frame per clip
            t = pred.size(1)
            pred = 0.5 * (pred[:, t // 4] + pred[:, -1 - t // 4]) if is_mirror_extended(lqs) else pred[:, t // 2]
        outputs["pred_img"] = pred
        if isinstance(gt, torch.Tensor):
            if gt.shape[-2:] != pred.shape[-2:] or gt.dim() != pred.dim():
                raise MgxError(f"{who}: prediction {tuple(pred.shape)} does not match gt_img {tuple(gt.shape)}: "
                               "check the scale and the frame lists")
            outputs["gt_img"] = gt
        return outputs
