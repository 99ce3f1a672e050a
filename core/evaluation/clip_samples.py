"""An animation of one evaluated clip, beyond MMagic's sample grid: each GIF frame is
[input (bicubic-upsampled) | output | ground truth] for one frame of the first clip of the first
evaluation batch, written next to the sample grid PNG and logged to MLflow as an artifact."""
from __future__ import annotations

from pathlib import Path
from typing import Any

GIF_MAX_FRAMES = 100
GIF_FPS = 8


def clip_rows(batch: dict, outputs: dict) -> Any:
    """T×C×H×(k·W) rows [input, prediction, ground truth (when one of the prediction's size)] in [0, 255] for
    the first clip, or None when the predictions are not clips (N×T×C×H×W)."""
    import torch
    from torch.nn import functional as F

    pred = outputs.get("pred_img")
    if not isinstance(pred, torch.Tensor) or pred.dim() != 5:
        return None
    pred = pred[0].detach().float()[:GIF_MAX_FRAMES]
    frames, size = pred.shape[0], tuple(pred.shape[-2:])
    columns = []
    lq = batch.get("lq_img", batch.get("inputs"))
    gt = outputs.get("gt_img", batch.get("gt_img"))
    if isinstance(gt, torch.Tensor) and tuple(gt.shape[-2:]) != size:
        gt = None  # not a ground truth of the output (MMagic's VideoLQ gives the input as 'gt')
    for images in (lq, pred, gt):
        if images is pred:
            columns.append(pred)
        elif isinstance(images, torch.Tensor) and images.dim() == 5 and images.shape[1] >= frames:
            images = images[0, :frames].detach().float().to(pred.device)
            if tuple(images.shape[-2:]) != size:
                images = F.interpolate(images, size=size, mode="bicubic", align_corners=False)
            columns.append(images)
    channels = max(c.shape[1] for c in columns)
    columns = [c.expand(-1, channels, -1, -1) if c.shape[1] == 1 else c for c in columns]
    return torch.cat(columns, dim=-1)


def write_clip_gif(rows: Any, path: Path) -> Path:
    """``rows`` (T×C×H×W in [0, 255]) as a looping GIF at GIF_FPS frames per second."""
    from PIL import Image

    pixels = rows.clamp(0, 255).round().to("cpu").byte()
    pixels = pixels.expand(-1, 3, -1, -1) if pixels.shape[1] == 1 else pixels[:, :3]
    images = [Image.fromarray(frame.permute(1, 2, 0).numpy()) for frame in pixels]
    path.parent.mkdir(parents=True, exist_ok=True)
    images[0].save(path, save_all=True, append_images=images[1:], duration=round(1000 / GIF_FPS), loop=0)
    return path
