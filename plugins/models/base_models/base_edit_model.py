"""``BaseEditModel`` (MMagic's name and arguments): one generator trained with a pixel loss.

Batches (see docs/data.md): the low-quality input is ``lq_img`` when present,
else ``inputs`` (MMagic's ``PackInputs`` of ``img``); the ground truth is
``gt_img``. Both are uint8 [0, 255] RGB; ``data_preprocessor`` maps them to the
generator's range (MMagic's SR configs: mean 0, std 255 -> [0, 1]) and its
``destruct`` maps outputs back, so ``val_step``'s ``pred_img`` is float RGB in
[0, 255] at the ground truth's size — what PSNR/SSIM/MAE/MSE read.
"""
from __future__ import annotations

from typing import Any, Dict, Union

import torch
from torch import nn

from mgx.core.errors import ConfigError, MgxError
from mgx.core.registry import build

from ..common import batch_images, module_device
from .pretrained import load_pretrained, split_init_cfg
from .tiling import check_tiling, tiled_forward

Inputs = Union[torch.Tensor, Dict[str, torch.Tensor]]  # one image batch, or named views (dual-pixel)


def _first(inputs: Inputs) -> torch.Tensor:
    return next(iter(inputs.values())) if isinstance(inputs, dict) else inputs


# test_cfg keys MMagic's configs carry that MMagic 1.2 itself no longer reads (metrics come from val_evaluator)
_IGNORED_TEST_KEYS = {"metrics", "crop_border"}


class BaseEditModel(nn.Module):
    """Generator + pixel loss (see the module docstring).

    ``test_cfg=dict(tile_size=N, tile_overlap=M)`` makes validation and test run
    the generator on N×N input tiles with M pixels of context (an mgx addition;
    see ``tiling.py``). ``init_cfg=dict(type='Pretrained', checkpoint=..., prefix=...)``
    on the model or on its generator loads weights at build time.
    """

    TRAIN_KEYS: frozenset[str] = frozenset()

    def __init__(self, generator: dict, pixel_loss: dict | None, train_cfg: dict | None = None,
                 test_cfg: dict | None = None, init_cfg: dict | None = None,
                 data_preprocessor: dict | None = None) -> None:
        super().__init__()
        who = type(self).__name__
        self.train_cfg = dict(train_cfg or {})
        unknown = sorted(set(self.train_cfg) - self.TRAIN_KEYS)
        if unknown:
            accepted = ", ".join(sorted(self.TRAIN_KEYS)) or "nothing"
            raise ConfigError(f"{who}: model.train_cfg has unknown key(s) {unknown}; it takes {accepted}")
        self.test_cfg = dict(test_cfg or {})
        unknown = sorted(set(self.test_cfg) - _IGNORED_TEST_KEYS - {"tile_size", "tile_overlap"})
        if unknown:
            raise ConfigError(f"{who}: model.test_cfg has unknown key(s) {unknown}; it takes tile_size, "
                              f"tile_overlap (and MMagic's metrics/crop_border, which do nothing)")
        self.tile_size, self.tile_overlap = check_tiling(self.test_cfg.get("tile_size"),
                                                         self.test_cfg.get("tile_overlap", 0), who)
        # MMagic's default preprocessor (mmengine's BaseDataPreprocessor) does not normalise
        self.data_preprocessor = build(data_preprocessor or dict(type="DataPreprocessor", mean=None, std=None),
                                       "model")
        if not hasattr(self.data_preprocessor, "destruct"):
            raise ConfigError(f"{who}: data_preprocessor must be dict(type='DataPreprocessor', ...)")
        if not isinstance(generator, dict):
            raise ConfigError(f"{who}: generator must be dict(type=...), got {generator!r}")
        generator_cfg, generator_init = split_init_cfg(generator, f"{who}.generator")
        self.generator = build(generator_cfg, "model")
        if generator_init is not None:
            load_pretrained(self.generator, generator_init, f"{who}.generator")
        self.pixel_loss = build(pixel_loss, "model") if pixel_loss else None
        self._model_init = split_init_cfg({"init_cfg": init_cfg}, who)[1] if init_cfg else None
        if type(self) is BaseEditModel:  # subclasses build more parts first, then call it themselves
            self.load_model_init()

    def load_model_init(self) -> None:
        """Apply a model-level ``init_cfg`` (after subclasses have built every part)."""
        if self._model_init is not None:
            load_pretrained(self, self._model_init, type(self).__name__)

    # -- data --------------------------------------------------------------

    def _input(self, batch: dict, who: str, device: torch.device) -> Inputs:
        key = "lq_img" if isinstance(batch, dict) and "lq_img" in batch else "inputs"
        views = batch.get(key) if isinstance(batch, dict) else None
        if isinstance(views, dict):  # several input images (PackInputs(keys=[...])): each normalised
            return {name: self.data_preprocessor.normalize(batch_images(views, name, who, device)) for name in views}
        return self.data_preprocessor.normalize(batch_images(batch, key, who, device))

    def _target(self, batch: dict, who: str, device: torch.device) -> torch.Tensor:
        return self.data_preprocessor.normalize(batch_images(batch, "gt_img", who, device))

    def _check_sizes(self, output: torch.Tensor, gt: torch.Tensor, lq: Inputs) -> None:
        if output.shape[-2:] != gt.shape[-2:]:
            raise MgxError(f"{type(self).__name__}: the generator made {tuple(output.shape[-2:])} from an input of "
                           f"{tuple(_first(lq).shape[-2:])}, but gt_img is {tuple(gt.shape[-2:])}: check the "
                           f"generator's upscale_factor against the data's scale")

    # -- inference ---------------------------------------------------------

    def inference_generator(self) -> nn.Module:
        """The network validation, test and ``forward`` run (an EMA copy in subclasses that keep one)."""
        return self.generator

    def _generate(self, normalized: Inputs) -> torch.Tensor:
        """Generator output for a normalised input, padded as the preprocessor says (tiled per test_cfg)."""
        if isinstance(normalized, dict):  # several views: the generator combines (and pads) them itself
            if self.tile_size is not None:
                raise ConfigError(f"{type(self).__name__}: test_cfg.tile_size needs one input image, but the "
                                  f"batch's inputs are {sorted(normalized)}; remove tile_size")
            return self.inference_generator()(normalized)

        def run(images: torch.Tensor) -> torch.Tensor:
            height, width = images.shape[-2:]
            padded = self.data_preprocessor.pad(images)
            out = self.inference_generator()(padded)
            if padded.shape[-2:] != (height, width):
                scale = out.shape[-1] // padded.shape[-1]
                out = out[..., :height * scale, :width * scale]
            return out

        if self.tile_size is None:
            return run(normalized)
        return tiled_forward(run, normalized, self.tile_size, self.tile_overlap)

    @torch.no_grad()
    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """Restore N×C×h×w images in [0, 255] (uint8 or float): float RGB in [0, 255]."""
        device = module_device(self)
        return self.data_preprocessor.destruct(self._generate(self.data_preprocessor.normalize(images.to(device))))

    @torch.no_grad()
    def val_step(self, batch: dict) -> dict[str, Any]:
        """``{'pred_img': float RGB [0, 255], 'gt_img': batch['gt_img']}``; no ``gt_img`` without one or when its
        size differs from the prediction's (MMagic's real-world test sets give the input as ``gt``; a no-reference
        metric such as NIQE reads ``pred_img`` alone, a paired one names the mismatch)."""
        who = f"{type(self).__name__}.val_step"
        device = module_device(self)
        lq = self._input(batch, who, device)
        pred = self.data_preprocessor.destruct(self._generate(lq))
        outputs: dict[str, Any] = {"pred_img": pred}
        if isinstance(batch, dict) and "gt_img" in batch and pred.shape[-2:] == batch["gt_img"].shape[-2:]:
            outputs["gt_img"] = batch["gt_img"]
        return outputs

    # -- training ----------------------------------------------------------

    def train_step(self, batch: dict, optim) -> dict[str, torch.Tensor]:
        who = f"{type(self).__name__}.train_step"
        if self.pixel_loss is None:
            raise ConfigError(f"{type(self).__name__} needs pixel_loss=dict(type='L1Loss', ...) to train")
        device = module_device(self)
        lq, gt = self._input(batch, who, device), self._target(batch, who, device)
        wrapper = optim["generator"] if "generator" in optim else optim
        with wrapper.optim_context(self.generator):
            output = self.generator(lq)
            self._check_sizes(output, gt, lq)
            loss = self.pixel_loss(output.float(), gt)
        wrapper.update_params(loss)
        return {"loss": loss.detach()}
