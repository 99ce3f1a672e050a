"""``InstColorization`` (MMagic 1.2.0's name and arguments): instance-aware colorization of a grayscale
image (Su et al. 2020).

Test time, per image (MMagic's ``forward_tensor``): the image's L channel (hints and mask from
``color_data_opt``; none with ``p=1``) goes through ``fusion_model``, which blends in the features the
``instance_model`` computes on each detected instance crop (``cropped_img``, resized to the box sizes
``box_info*`` give); with no instance (``empty_box``) the ``image_model`` colorizes the whole image. The
predicted ab with the input's L, back to sRGB, is ``pred_img`` in [0, 255].

mgx converts the RGB image in [0, 1] to Lab, as the original InstColorization does; MMagic 1.2.0 converts
the [-1, 1]-normalised tensor and maps its [0, 1] output back through the [-1, 1] denormalisation, which
shifts colours — published weights give the original's colours here.

Training (MMagic 1.2.0 raises NotImplementedError; mgx follows the original repository's three stages,
``train_cfg=dict(stage=...)``): ``'full'`` trains ``image_model`` on whole images, ``'instance'`` trains
``instance_model`` on the instance crops, ``'fusion'`` trains ``fusion_model`` with the instance features
fixed; each on ``loss`` (the config's ``HuberLoss``) between the predicted and the true ab. The instance
stages skip an iteration whose images have no instance (no update, nothing logged).
"""
from __future__ import annotations

from typing import Any

import torch
from torch import nn

from mgx.core.errors import ConfigError, MgxError
from mgx.core.registry import build

from ..common import batch_images, module_device
from .color import check_color_options, colorization_inputs, lab_to_image

BOX_KEYS = ("box_info", "box_info_2x", "box_info_4x", "box_info_8x")
STAGES = ("full", "instance", "fusion")


def instances_of(batch: dict, index: int, who: str) -> tuple[torch.Tensor, list[torch.Tensor]] | None:
    """(crops K×3×h×w, [box_info, _2x, _4x, _8x] each K×6) of sample ``index``, or None without instances."""
    empty = batch.get("empty_box")
    if empty is not None:
        empty = empty[index] if isinstance(empty, (list, tuple, torch.Tensor)) else empty
        if bool(empty):
            return None
    if "cropped_img" not in batch:
        if empty is not None:
            raise MgxError(f"{who}: empty_box is False but the batch has no 'cropped_img'")
        return None
    missing = [key for key in BOX_KEYS if key not in batch]
    if missing:
        raise MgxError(f"{who}: the batch has 'cropped_img' but not {missing}; InstanceCrop makes them and "
                       "PackInputs(data_keys=[...]) must keep them, as MMagic's config does")
    crops = batch["cropped_img"][index]
    crops = crops[None] if crops.dim() == 3 else crops  # PackInputs packs a single crop as an image
    return crops, [torch.as_tensor(batch[key][index]).long() for key in BOX_KEYS]


class InstColorization(nn.Module):
    """Instance-aware colorization (module docstring)."""

    def __init__(self, data_preprocessor: dict | None, image_model: dict, instance_model: dict, fusion_model: dict,
                 color_data_opt: dict, which_direction: str = "AtoB", loss: dict | None = None,
                 init_cfg: dict | None = None, train_cfg: dict | None = None, test_cfg: dict | None = None) -> None:
        super().__init__()
        who = "InstColorization"
        if init_cfg is not None:
            raise ConfigError(f"{who}: init_cfg is not supported; load MMagic weights with load_from")
        if which_direction not in ("AtoB", "BtoA"):
            raise ConfigError(f"{who}: which_direction must be 'AtoB' or 'BtoA', got {which_direction!r}")
        self.color_data_opt = check_color_options(color_data_opt, who)
        self.which_direction = which_direction
        self.data_preprocessor = build(data_preprocessor or dict(type="DataPreprocessor"), "model")
        self.image_model = build(image_model, "model")
        self.instance_model = build(instance_model, "model")
        self.fusion_model = build(fusion_model, "model")
        self.loss = build(loss, "model") if loss is not None else None
        self.train_cfg, self.test_cfg = dict(train_cfg or {}), dict(test_cfg or {})
        unknown = sorted(set(self.train_cfg) - {"stage"})
        if unknown:
            raise ConfigError(f"{who}: model.train_cfg has unknown key(s) {unknown}; it takes 'stage'")
        self.stage = self.train_cfg.get("stage", "fusion")
        if self.stage not in STAGES:
            raise ConfigError(f"{who}: model.train_cfg.stage must be one of {STAGES}, got {self.stage!r}")

    def lab_inputs(self, images: torch.Tensor) -> dict[str, torch.Tensor]:
        """MMagic's colorization data of uint8/[0, 255] RGB images, with the direction applied."""
        data = colorization_inputs(images.float() / 255.0, self.color_data_opt)
        if self.which_direction == "BtoA":
            data["A"], data["B"] = data["B"], data["A"]
        return data

    def colorize_one(self, image: torch.Tensor, instances: Any) -> tuple[torch.Tensor, dict]:
        """(ab prediction 1×2×H×W, the image's Lab inputs) for one image 1×3×H×W."""
        full = self.lab_inputs(image)
        if instances is None:
            _, ab, _ = self.image_model(full["A"], full["hint_B"], full["mask_B"])
            return ab, full
        crops, boxes = instances
        cropped = self.lab_inputs(crops.to(image.device))
        _, _, features = self.instance_model(cropped["A"], cropped["hint_B"], cropped["mask_B"])
        return self.fusion_model(full["A"], full["hint_B"], full["mask_B"], features, boxes), full

    @torch.no_grad()
    def val_step(self, batch: dict) -> dict[str, Any]:
        """``pred_img`` (colorized, [0, 255]), ``gray_img`` (the L channel the network saw) and ``gt_img``."""
        who = "InstColorization.val_step"
        images = batch_images(batch, "inputs", who, module_device(self))
        preds, grays = [], []
        for index in range(images.shape[0]):
            ab, full = self.colorize_one(images[index:index + 1], instances_of(batch, index, who))
            preds.append(lab_to_image(full["A"], ab, self.color_data_opt) * 255.0)
            grays.append(lab_to_image(full["A"], torch.zeros_like(ab), self.color_data_opt) * 255.0)
        outputs: dict[str, Any] = {"pred_img": torch.cat(preds), "gray_img": torch.cat(grays)}
        outputs["gt_img"] = batch.get("gt_img", images)
        return outputs

    def grid_columns(self, batch: dict, outputs: dict) -> list[torch.Tensor]:
        """Sample grid: grayscale input / colorization / ground truth."""
        return [outputs["gray_img"], outputs["pred_img"], outputs["gt_img"].to(outputs["pred_img"].device)]

    def stage_loss(self, images: torch.Tensor, batch: dict, who: str) -> torch.Tensor | None:
        """The training stage's loss between predicted and true ab (module docstring); None for an instance
        stage when no image of the batch has an instance (the original repository skips those)."""
        if self.stage == "full":
            data = self.lab_inputs(images)
            return self.loss(self.image_model(data["A"], data["hint_B"], data["mask_B"])[1], data["B"])
        losses = []
        for index in range(images.shape[0]):
            instances = instances_of(batch, index, who)
            if instances is None:
                continue
            if self.stage == "instance":
                data = self.lab_inputs(instances[0].to(images.device))
                losses.append(self.loss(self.instance_model(data["A"], data["hint_B"], data["mask_B"])[1], data["B"]))
            else:
                with torch.no_grad():
                    crops = self.lab_inputs(instances[0].to(images.device))
                    features = self.instance_model(crops["A"], crops["hint_B"], crops["mask_B"])[2]
                full = self.lab_inputs(images[index:index + 1])
                ab = self.fusion_model(full["A"], full["hint_B"], full["mask_B"], features, instances[1])
                losses.append(self.loss(ab, full["B"]))
        return torch.stack(losses).mean() if losses else None

    def train_step(self, batch: dict, optim) -> dict[str, torch.Tensor]:
        who = "InstColorization.train_step"
        if self.loss is None:
            raise ConfigError(f"{who}: training needs model.loss (MMagic's config: dict(type='HuberLoss', delta=.01))")
        images = batch_images(batch, "inputs", who, module_device(self))
        with optim.optim_context(self):
            loss = self.stage_loss(images, batch, who)
        if loss is None:
            return {}
        optim.update_params(loss)
        return {"loss": loss.detach()}

    def adapt_loaded_weights(self, weights: dict) -> dict:
        """MMagic checkpoints: the same keys, ``data_preprocessor.*`` dropped (mean/std come from the config)."""
        return {key: value for key, value in weights.items() if not key.startswith("data_preprocessor.")}


__all__ = ["InstColorization"]
