"""Inpainting masks with MMagic 1.2.0's names and arguments: ``LoadMask`` (``bbox``, ``irregular``,
``ff`` free-form, ``set`` of mask files, ``file`` from the sample's ``mask_path``) and ``GetMaskedImage``.

A mask is H×W×1 uint8, 1 in the hole and 0 elsewhere (MMagic's convention). The random modes draw from
the sample's own generator: seeded by its ``sample_idx`` (and its ``seed``/``epoch`` when it carries them)
and the transform's configuration, so a sample gets the same mask in every process and every evaluation.
MMagic draws from the global numpy RNG instead, so its masks are not repeatable; the mask *distributions*
are MMagic's. Strokes are drawn as round-capped segments (all pixels within half the brush width of the
segment), which is what OpenCV's thick lines approximate; PIL draws the free-form strokes as MMagic does.
"""
from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np

from mgx.core.errors import ConfigError, MgxError

from .images import read_image, require_image
from .transform_utils import per_sample_rng

MASK_MODES = ("bbox", "irregular", "ff", "set", "file")
_MODE_KEYS = {
    "bbox": ({"img_shape", "max_bbox_shape"}, {"max_bbox_delta", "min_margin"}),
    "irregular": ({"img_shape"}, {"num_vertices", "max_angle", "length_range", "brush_width", "area_ratio_range"}),
    "ff": ({"img_shape"}, {"num_vertices", "mean_angle", "angle_range", "brush_width", "max_loops"}),
    "set": ({"mask_list_file", "prefix"}, {"io_backend", "color_type", "flag", "file_client_kwargs"}),
    "file": (set(), set()),
}


def _pair(value: Any, name: str, who: str, exclusive_end: bool = True) -> tuple[int, int]:
    """MMagic's ``int | (low, high)`` ranges: an int n means [n, n + 1)."""
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        return int(value), int(value) + 1 if exclusive_end else int(value)
    if isinstance(value, (tuple, list)) and len(value) == 2 and all(isinstance(v, (int, np.integer)) for v in value):
        return int(value[0]), int(value[1])
    raise ConfigError(f"{who}: {name} must be an int or a pair of ints, got {value!r}")


def bbox2mask(img_shape: tuple[int, int], bbox: tuple[int, int, int, int]) -> np.ndarray:
    """H×W×1 uint8 mask with the box ``(top, left, height, width)`` set to 1."""
    mask = np.zeros((int(img_shape[0]), int(img_shape[1]), 1), dtype=np.uint8)
    top, left, height, width = bbox
    mask[top:top + height, left:left + width] = 1
    return mask


def random_bbox(rng: np.random.Generator, img_shape, max_bbox_shape, max_bbox_delta=40, min_margin=20,
                who: str = "LoadMask") -> tuple[int, int, int, int]:
    """MMagic's box: a ``max_bbox_shape`` box at least ``min_margin`` from the border, shrunk at its
    top/left by up to half of ``max_bbox_delta``. Returns (top, left, height, width)."""
    def as_pair(value, name):
        value = (value, value) if isinstance(value, int) else value
        if not (isinstance(value, (tuple, list)) and len(value) == 2 and all(isinstance(v, int) for v in value)):
            raise ConfigError(f"{who}: mask_config.{name} must be an int or (h, w) ints, got {value!r}")
        return value
    (max_h, max_w), (delta_h, delta_w) = as_pair(max_bbox_shape, "max_bbox_shape"), as_pair(max_bbox_delta,
                                                                                          "max_bbox_delta")
    margin_h, margin_w = as_pair(min_margin, "min_margin")
    img_h, img_w = int(img_shape[0]), int(img_shape[1])
    if max_h > img_h or max_w > img_w:
        raise ConfigError(f"{who}: mask_config.max_bbox_shape {max_bbox_shape} is larger than img_shape {img_shape}")
    if delta_h // 2 * 2 >= max_h or delta_w // 2 * 2 >= max_w:
        raise ConfigError(f"{who}: mask_config.max_bbox_delta {max_bbox_delta} must be smaller than max_bbox_shape "
                          f"{max_bbox_shape}")
    if img_h - max_h <= 2 * margin_h or img_w - max_w <= 2 * margin_w:
        raise ConfigError(f"{who}: mask_config.min_margin {min_margin} can not be kept for img_shape {img_shape} and "
                          f"max_bbox_shape {max_bbox_shape}; lower the margin or the box")
    top = int(rng.integers(margin_h, img_h - margin_h - max_h))
    left = int(rng.integers(margin_w, img_w - margin_w - max_w))
    delta_top, delta_left = int(rng.integers(0, delta_h // 2 + 1)), int(rng.integers(0, delta_w // 2 + 1))
    return top + delta_top, left + delta_left, max_h - delta_top, max_w - delta_left


def draw_segment(mask: np.ndarray, start: tuple[float, float], end: tuple[float, float], width: int) -> None:
    """Set to 1 every pixel of the H×W ``mask`` whose centre lies within ``width / 2`` of the segment
    from ``start`` to ``end`` (row, col): a thick line with round caps."""
    rows, cols = np.ogrid[:mask.shape[0], :mask.shape[1]]
    (r0, c0), (r1, c1) = start, end
    dr, dc = r1 - r0, c1 - c0
    length2 = dr * dr + dc * dc
    t = 0.0 if length2 == 0 else np.clip(((rows - r0) * dr + (cols - c0) * dc) / length2, 0.0, 1.0)
    distance2 = (rows - (r0 + t * dr)) ** 2 + (cols - (c0 + t * dc)) ** 2
    mask[distance2 <= (width / 2.0) ** 2] = 1


def random_irregular_mask(rng: np.random.Generator, img_shape, num_vertices=(4, 8), max_angle=4, length_range=(10, 100),
                          brush_width=(10, 40), who: str = "LoadMask") -> np.ndarray:
    """MMagic's irregular holes: a few random walks of 1-5 thick strokes each."""
    height, width = int(img_shape[0]), int(img_shape[1])
    min_length, max_length = _pair(length_range, "mask_config.length_range", who)
    min_vertices, max_vertices = _pair(num_vertices, "mask_config.num_vertices", who)
    min_brush, max_brush = _pair(brush_width, "mask_config.brush_width", who)
    mask = np.zeros((height, width), dtype=np.uint8)
    for walk in range(int(rng.integers(min_vertices, max_vertices))):
        row, col = int(rng.integers(height)), int(rng.integers(width))
        directions = int(rng.integers(1, 6))
        angles = rng.integers(0, max(int(max_angle), 1), size=directions)
        lengths = rng.integers(min_length, max_length, size=directions)
        brushes = rng.integers(min_brush, max_brush, size=directions)
        for angle, length, brush in zip(angles, lengths, brushes):
            angle = 0.01 + float(angle)
            angle = 2 * math.pi - angle if walk % 2 == 0 else angle
            end_row, end_col = int(row + length * math.sin(angle)), int(col + length * math.cos(angle))
            draw_segment(mask, (row, col), (end_row, end_col), int(brush))
            row, col = end_row, end_col
    return mask[:, :, None]


def get_irregular_mask(rng: np.random.Generator, img_shape, area_ratio_range=(0.15, 0.5), who: str = "LoadMask",
                       **kwargs) -> np.ndarray:
    """An irregular mask whose hole covers a fraction of the image strictly inside ``area_ratio_range``
    (redrawn until it does, as MMagic does; 1000 draws at most)."""
    low, high = area_ratio_range
    for _ in range(1000):
        mask = random_irregular_mask(rng, img_shape, who=who, **kwargs)
        if low < mask.mean() < high:
            return mask
    raise ConfigError(f"{who}: 1000 irregular masks missed area_ratio_range {area_ratio_range} for img_shape "
                      f"{img_shape}; widen the range or scale length_range/brush_width with the image")


def brush_stroke_mask(rng: np.random.Generator, img_shape, num_vertices=(4, 12), mean_angle=2 * math.pi / 5,
                      angle_range=2 * math.pi / 15, brush_width=(12, 40), max_loops=4,
                      who: str = "LoadMask") -> np.ndarray:
    """DeepFill v2's free-form strokes (MMagic's ``ff`` mode): up to ``max_loops - 1`` polylines of
    random radius and alternating turning angles, drawn with round joints."""
    from PIL import Image, ImageDraw

    img_h, img_w = int(img_shape[0]), int(img_shape[1])
    min_vertices, max_vertices = _pair(num_vertices, "mask_config.num_vertices", who)
    min_width, max_width = _pair(brush_width, "mask_config.brush_width", who)
    average_radius = math.sqrt(img_h * img_h + img_w * img_w) / 8
    canvas = Image.new("L", (img_w, img_h), 0)
    draw = ImageDraw.Draw(canvas)
    for _ in range(int(rng.integers(1, max_loops))):
        count = int(rng.integers(min_vertices, max_vertices))
        angle_min, angle_max = mean_angle - rng.uniform(0, angle_range), mean_angle + rng.uniform(0, angle_range)
        angles = rng.uniform(angle_min, angle_max, size=count)
        angles[::2] = 2 * math.pi - angles[::2]
        vertices = [(int(rng.integers(0, img_w)), int(rng.integers(0, img_h)))]
        radii = rng.normal(loc=average_radius, scale=average_radius // 2, size=count)
        for radius, angle in zip(radii, angles):
            radius = float(np.clip(radius, 0, 2 * average_radius))
            x = np.clip(vertices[-1][0] + radius * math.cos(angle), 0, img_w)
            y = np.clip(vertices[-1][1] + radius * math.sin(angle), 0, img_h)
            vertices.append((int(x), int(y)))
        width = int(rng.integers(min_width, max_width))
        draw.line(vertices, fill=1, width=width)
        for x, y in vertices:
            draw.ellipse((x - width // 2, y - width // 2, x + width // 2, y + width // 2), fill=1)
    return np.asarray(canvas, dtype=np.uint8)[:, :, None]


def read_mask(path: str | Path, who: str) -> np.ndarray:
    """A mask file as H×W×1 uint8: its first channel, every non-zero pixel 1."""
    if not Path(path).is_file():
        raise MgxError(f"{who}: mask file {str(path)!r} does not exist")
    image = read_image(path, color_type="unchanged")
    image = image[:, :, None] if image.ndim == 2 else image[:, :, :1]
    return (image > 0).astype(np.uint8)


class LoadMask:
    """MMagic's ``LoadMask(mask_mode, mask_config)``: puts an H×W×1 uint8 ``mask`` (1 = hole) in the
    sample (and ``mask_bbox`` in bbox mode). See the module docstring for the modes and the seeding."""

    def __init__(self, mask_mode: str = "bbox", mask_config: dict | None = None) -> None:
        who = "LoadMask"
        if mask_mode not in MASK_MODES:
            raise ConfigError(f"{who}: mask_mode must be one of {MASK_MODES}, got {mask_mode!r}")
        config = dict(mask_config or {})
        required, optional = _MODE_KEYS[mask_mode]
        missing, unknown = sorted(required - set(config)), sorted(set(config) - required - optional)
        if missing or unknown:
            raise ConfigError(f"{who}: mask_mode={mask_mode!r} needs mask_config keys {sorted(required)} and takes "
                              f"{sorted(optional)}; missing {missing}, unknown {unknown}")
        self.mask_mode, self.mask_config = mask_mode, config
        self.mask_list: list[str] = []
        if mask_mode == "set":
            list_file = Path(config["mask_list_file"])
            if not list_file.is_file():
                raise ConfigError(f"{who}: mask_config.mask_list_file {str(list_file)!r} does not exist")
            names = [line.strip() for line in list_file.read_text().splitlines() if line.strip()]
            if not names:
                raise ConfigError(f"{who}: mask_config.mask_list_file {str(list_file)!r} lists no masks")
            self.mask_list = [str(Path(config["prefix"]) / name) for name in names]
        if mask_mode in ("bbox", "irregular", "ff"):  # a bad configuration fails now, not in a worker
            self.make_mask(np.random.default_rng(0), {})

    def make_mask(self, rng: np.random.Generator, sample: dict) -> np.ndarray:
        config, who = self.mask_config, "LoadMask"
        if self.mask_mode == "bbox":
            box = random_bbox(rng, **config, who=who)
            sample["mask_bbox"] = box
            return bbox2mask(config["img_shape"], box)
        if self.mask_mode == "irregular":
            return get_irregular_mask(rng, **config, who=who)
        if self.mask_mode == "ff":
            return brush_stroke_mask(rng, **config, who=who)
        if self.mask_mode == "set":
            return read_mask(self.mask_list[int(rng.integers(0, len(self.mask_list)))], who)
        if "mask_path" not in sample:
            raise MgxError("LoadMask(mask_mode='file') needs the sample's 'mask_path'")
        return read_mask(sample["mask_path"], who)

    def __call__(self, sample: dict) -> dict:
        sample["mask"] = self.make_mask(per_sample_rng(sample, self), sample)
        return sample


class GetMaskedImage:
    """MMagic's ``GetMaskedImage``: ``out_key`` = ``img_key`` with the hole set to ``zero_value``
    (float32, H×W×C)."""

    def __init__(self, img_key: str = "gt", mask_key: str = "mask", out_key: str = "img",
                 zero_value: float = 127.5) -> None:
        if isinstance(zero_value, bool) or not isinstance(zero_value, (int, float)):
            raise ConfigError(f"GetMaskedImage: zero_value must be a number, got {zero_value!r}")
        self.img_key, self.mask_key, self.out_key, self.zero_value = img_key, mask_key, out_key, float(zero_value)

    def __call__(self, sample: dict) -> dict:
        image = require_image(sample, self.img_key, "GetMaskedImage")
        mask = require_image(sample, self.mask_key, "GetMaskedImage")
        mask = mask[:, :, None] if mask.ndim == 2 else mask
        if mask.shape[:2] != image.shape[:2]:
            raise MgxError(f"GetMaskedImage: {self.mask_key!r} is {mask.shape[:2]} but {self.img_key!r} is "
                           f"{image.shape[:2]}; make LoadMask's img_shape the image's size after Crop/Resize")
        image = image[:, :, None] if image.ndim == 2 else image
        hole = mask.astype(np.float32)
        sample[self.out_key] = (image * (1.0 - hole) + self.zero_value * hole).astype(np.float32)
        for suffix in ("channel_order", "color_type"):
            if f"{self.img_key}_{suffix}" in sample:
                sample[f"{self.out_key}_{suffix}"] = sample[f"{self.img_key}_{suffix}"]
        if f"ori_{self.img_key}_shape" in sample:
            sample[f"ori_{self.out_key}_shape"] = sample[f"ori_{self.img_key}_shape"]
        return sample


__all__ = ["GetMaskedImage", "LoadMask", "bbox2mask", "brush_stroke_mask", "draw_segment", "get_irregular_mask",
           "random_bbox", "random_irregular_mask"]
