"""MMagic's ``InstanceCrop`` (InstColorization's test pipeline): instance boxes of an image, the crops
they cut from it, and where each lands in the network's ``finesize`` grid at four scales.

MMagic detects the boxes with an MMDetection Mask R-CNN (``config_file='mmdet::mask_rcnn/...'``, scores ≥
0.7, on the image's L channel), keeping the ``box_num_upbound`` highest-scoring. mgx runs that detector
only where MMDetection (≥ 3) is installed and ``from_pretrained`` names a local detector checkpoint
(nothing downloads here); otherwise give the boxes with the data: ``bbox_file`` (mgx's argument), a JSON
file ``{image file name: [[x1, y1, x2, y2(, score)], ...]}`` in the original image's pixels. An image with
no box gets ``empty_box=True`` and is colorized whole, as in MMagic.

Writes ``cropped_img`` (list of crops), ``box_info``/``_2x``/``_4x``/``_8x`` (K×6 long tensors
``[left pad, right pad, top pad, bottom pad, width, height]`` at finesize / 1, 2, 4, 8) and ``empty_box``.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from mgx.core.errors import ConfigError, MgxError

from .images import require_image

SCORE_THRESHOLD = 0.7


def _span(start: float, end: float, final_size: int) -> tuple[int, int]:
    """A box side scaled to the grid, (start, end) in whole cells, widened to one cell when it is thinner
    (on the far side where there is room, else on the near side)."""
    start, end = int(start), int(end)
    if end - start < 1:
        if final_size - end > 1:
            end += 1
        else:
            start -= 1
    return start, max(end, start + 1)


def box_info(box: Any, image_size: tuple[int, int], final_size: int) -> list[int]:
    """MMagic's ``get_box_info``: a box (x1, y1, x2, y2) of an image (width, height) placed on a
    ``final_size`` square: [left, right, top, bottom padding, width, height], at least one cell wide."""
    start_x, end_x = _span(box[0] / image_size[0] * final_size, box[2] / image_size[0] * final_size, final_size)
    start_y, end_y = _span(box[1] / image_size[1] * final_size, box[3] / image_size[1] * final_size, final_size)
    return [start_x, final_size - end_x, start_y, final_size - end_y, end_x - start_x, end_y - start_y]


def lightness(image: np.ndarray) -> np.ndarray:
    """CIE L* (0..100) of a uint8 sRGB image (D65; the sRGB luminance row of InstColorization's matrix)."""
    rgb = image[:, :, :3].astype(np.float64) / 255.0
    linear = np.where(rgb > 0.04045, ((rgb + 0.055) / 1.055) ** 2.4, rgb / 12.92)
    luminance = linear @ np.array([0.212671, 0.715160, 0.072169])
    f = np.where(luminance > 0.008856, np.cbrt(luminance), 7.787 * luminance + 16 / 116)
    return 116 * f - 16


def _load_boxes(bbox_file: Any) -> dict[str, np.ndarray]:
    path = Path(bbox_file)
    if not path.is_file():
        raise ConfigError(f"InstanceCrop: bbox_file {str(path)!r} does not exist")
    try:
        table = json.loads(path.read_text())
    except ValueError as error:
        raise ConfigError(f"InstanceCrop: bbox_file {str(path)!r} is not JSON: {error}") from None
    if not isinstance(table, dict):
        raise ConfigError(f"InstanceCrop: bbox_file {str(path)!r} must map image file names to box lists")
    boxes = {}
    for name, rows in table.items():
        array = np.asarray(rows, dtype=np.float64).reshape(-1, np.asarray(rows).shape[-1] if len(rows) else 4)
        if array.shape[1] not in (4, 5):
            raise ConfigError(f"InstanceCrop: bbox_file {str(path)!r}: {name!r} must list [x1, y1, x2, y2] or "
                              f"[x1, y1, x2, y2, score] boxes, got rows of {array.shape[1]}")
        boxes[str(name)] = array
    return boxes


def _detector(config_file: str, from_pretrained: Any) -> Any:
    """MMDetection's detector, where it can be built offline (module docstring)."""
    hint = ("or give the boxes with the data: InstanceCrop(bbox_file='<JSON {image file name: [[x1, y1, x2, y2, "
            "score], ...]}>') (mgx's argument; an image listed with no box is colorized whole)")
    try:
        from mmdet import apis
        from mmengine.hub import get_config
    except ImportError:
        raise ConfigError(f"InstanceCrop: config_file={config_file!r} names an MMDetection Mask R-CNN, and "
                          f"MMDetection is not installed (pip install 'mmdet>=3' mmengine mmcv, then set "
                          f"from_pretrained to the detector's checkpoint file); {hint}") from None
    if from_pretrained is None or not Path(str(from_pretrained)).is_file():
        raise ConfigError(f"InstanceCrop: from_pretrained must be the local Mask R-CNN checkpoint (.pth) for "
                          f"{config_file!r} (nothing downloads here), got {from_pretrained!r}; {hint}")
    return apis.init_detector(get_config(config_file, pretrained=False), str(from_pretrained), device="cpu")


class InstanceCrop:
    """Instance boxes, crops and box placements for InstColorization (module docstring)."""

    def __init__(self, config_file: str, from_pretrained: Any = None, key: str = "img", box_num_upbound: int = -1,
                 finesize: int = 256, bbox_file: Any = None) -> None:
        if isinstance(finesize, bool) or not isinstance(finesize, int) or finesize < 8:
            raise ConfigError(f"InstanceCrop: finesize must be an int ≥ 8, got {finesize!r}")
        self.key, self.box_num_upbound, self.final_size = key, int(box_num_upbound), finesize
        self.config_file, self.bbox_file = config_file, bbox_file
        self._boxes = _load_boxes(bbox_file) if bbox_file is not None else None
        self._predictor = _detector(config_file, from_pretrained) if bbox_file is None else None

    def detected(self, image: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """MMDetection's boxes and scores (≥ 0.7) on the image's L channel, three times."""
        import torch
        from mmdet.apis import inference_detector

        light = (lightness(image) * 255 / 100).round().clip(0, 255).astype(np.uint8)
        with torch.no_grad():
            found = inference_detector(self._predictor, np.stack([light] * 3, axis=2)).pred_instances
        boxes, scores = found.bboxes.cpu().numpy().astype(np.int32), found.scores.cpu().numpy()
        keep = scores >= SCORE_THRESHOLD
        return boxes[keep], scores[keep]

    def listed(self, sample: dict) -> tuple[np.ndarray, np.ndarray]:
        path = str(sample.get(f"{self.key}_path", ""))
        for name in (path, Path(path).name):
            if name in self._boxes:
                rows = self._boxes[name]
                scores = rows[:, 4] if rows.shape[1] == 5 else np.ones(len(rows))
                return rows[:, :4].astype(np.int32), scores
        raise MgxError(f"InstanceCrop: bbox_file {str(self.bbox_file)!r} has no entry for {path!r} (looked up by "
                       f"path and by file name); list it, with [] when it has no instance")

    def __call__(self, sample: dict) -> dict:
        import torch

        image = require_image(sample, self.key, "InstanceCrop")
        height, width = sample.get(f"ori_{self.key}_shape", image.shape)[:2]
        boxes, scores = self.listed(sample) if self._boxes is not None else self.detected(image)
        if self.box_num_upbound > 0 and len(boxes) > self.box_num_upbound:
            boxes = boxes[np.argsort(scores, kind="stable")[len(boxes) - self.box_num_upbound:]]
        boxes = [np.clip(box, 0, [width, height, width, height]) for box in boxes]
        boxes = [box for box in boxes if box[2] > box[0] and box[3] > box[1]]
        if not boxes:
            sample["empty_box"] = True
            return sample
        sample["cropped_img"] = [image[y1:y2, x1:x2, :].copy() for x1, y1, x2, y2 in boxes]
        for suffix, divisor in (("", 1), ("_2x", 2), ("_4x", 4), ("_8x", 8)):
            info = [box_info(box, (width, height), self.final_size // divisor) for box in boxes]
            sample[f"box_info{suffix}"] = torch.tensor(info, dtype=torch.long)
        sample["empty_box"] = False
        return sample


__all__ = ["InstanceCrop", "box_info"]
