"""Inception Score (IS) and TransIS."""
from __future__ import annotations

import torch
import torch.nn.functional as F

from mgx.core import distributed
from mgx.core.errors import ConfigError, MgxError
from mgx.core.evaluation import BaseMetric, GenerativeMetric

from ._common import (check_convention, check_extractor_arg, check_inception_style, inception_for_style,
                      keep_below, prepare_extractor, run_extractor, truncate_pixels)
from mgx.core.evaluation import RowSlabs
from .fid import images_from, sample_indices
from .functional.inception_score import inception_score_from_split_sums, inception_split_sums
from .functional.pil_resize import METHODS as PILLOW_METHODS, pil_resize

TORCH_METHODS = ("bicubic", "bilinear", "nearest", "nearest-exact", "area")


class _ISState:
    def _init_is(self, resize, splits, inception_style, inception_path, feature_extractor, convention,
                 resize_method, use_pillow_resize) -> None:
        name = type(self).__name__
        inception_style = check_inception_style(name, inception_style)
        check_extractor_arg(name, feature_extractor)
        self.convention = check_convention(name, convention)
        # MMagic resizes with Pillow by default; mgx's official path with torch's bicubic
        self.use_pillow_resize = convention == "mmagic" if use_pillow_resize is None else bool(use_pillow_resize)
        methods = PILLOW_METHODS if self.use_pillow_resize else TORCH_METHODS
        if resize_method not in methods:
            raise ConfigError(f"{name}: resize_method must be one of {methods} with use_pillow_resize="
                              f"{self.use_pillow_resize}, got {resize_method!r}")
        self.resize_method = resize_method
        if not isinstance(splits, int) or splits < 1:
            raise ConfigError(f"{name}: splits must be a positive integer, got {splits!r}")
        if convention == "mmagic" and 0 <= self.fake_nums < splits:
            raise ConfigError(f"{name}: convention='mmagic' splits fake_nums={self.fake_nums} into blocks of "
                              f"floor(fake_nums/splits) samples, which is 0 for splits={splits}: "
                              f"raise fake_nums or lower splits")
        self.resize, self.splits = resize, splits
        self.inception_style, self.inception_path = inception_style, inception_path
        self.feature_extractor = feature_extractor
        self._extractor = None

    def result_keys(self) -> list[str]:
        return ["is", "is_std"]

    def prepare_resources(self) -> None:
        if self._extractor is None:
            self._extractor = inception_for_style(self.feature_extractor, self.inception_style, self.inception_path)
            if not hasattr(self._extractor, "class_probabilities"):
                raise ConfigError(f"{type(self).__name__}: feature extractor {type(self._extractor).__name__} has no "
                                  f"class_probabilities(images) method, which the Inception Score needs")

    def _setup_is(self, ctx) -> None:
        self.ctx = ctx
        self.prepare_resources()
        prepare_extractor(self._extractor, ctx.device)
        self._probs, self._indices = RowSlabs(), RowSlabs()

    def _to_network(self, images: torch.Tensor) -> torch.Tensor:
        """Pixels as the network gets them: resized to its ``input_size`` (when ``resize``), quantised
        as the convention does."""
        size = getattr(self._extractor, "input_size", None)
        resize = bool(self.resize and size and tuple(images.shape[-2:]) != (size, size))
        mmagic = self.convention == "mmagic"
        if self.resize and self.use_pillow_resize:
            # Pillow takes uint8: MMagic casts (truncates), the official path rounds
            images = truncate_pixels(images) if mmagic else images.round().clamp(0, 255)
            return pil_resize(images, (size, size), self.resize_method) if resize else images
        if resize and mmagic:  # MMagic resizes the float pixels as they are
            images = F.interpolate(images, size=(size, size), mode=self.resize_method)
        elif resize:  # resize uint8-range pixels, clamp back to [0, 255]
            images = F.interpolate(images.round(), size=(size, size), mode=self.resize_method).clamp(0, 255)
        if mmagic and getattr(self._extractor, "uint8_input", False):
            images = truncate_pixels(images)  # MMagic's uint8 cast before the StyleGAN Inception
        return images

    def _add(self, images: torch.Tensor, indices: torch.Tensor) -> None:
        probs = run_extractor(self._extractor.class_probabilities, self._to_network(images), self.ctx.device,
                              self.ctx.amp)
        # kept float32 as extracted (half the memory of float64); made float64 when the splits are summed
        self._probs.add(probs.cpu())
        self._indices.add(torch.as_tensor(indices).reshape(-1).long().cpu())

    def _score(self) -> dict[str, float]:
        local_idx = torch.cat(list(self._indices.chunks())) if self._indices.rows else torch.zeros(0, dtype=torch.long)
        all_idx = torch.sort(torch.cat(distributed.all_gather_object(local_idx))).values
        if all_idx.numel() == 0:
            raise MgxError(f"{type(self).__name__}: no images were evaluated")
        # Position of each sample in the global order (indices need not be contiguous).
        positions = torch.searchsorted(all_idx, local_idx)
        dims = [d for d in distributed.all_gather_object(self._probs.row_shape[0] if self._probs.rows else None)
                if d is not None]
        total = int(all_idx.numel())
        if self.convention == "mmagic" and total < self.splits:
            raise MgxError(f"{type(self).__name__}(convention='mmagic'): {total} images cannot fill "
                           f"{self.splits} splits of floor({total}/{self.splits}) = 0 images")
        # Split sums part by part, each in float64: no float64 copy of all probabilities.
        sums = torch.zeros(self.splits, dims[0] + 2, dtype=torch.float64)
        offset = 0
        for probs in (part.double() for block in self._probs.chunks() for part in block.split(4096)):
            if self.convention == "mmagic":  # scipy.stats.entropy, which MMagic calls, rescales each p to sum 1
                probs = probs / probs.sum(dim=1, keepdim=True)
            sums += inception_split_sums(probs, positions[offset:offset + probs.shape[0]], total, self.splits,
                                         drop_remainder=self.convention == "mmagic")
            offset += probs.shape[0]
        mean, std = inception_score_from_split_sums(distributed.all_reduce_sum(sums))
        return {"is": mean, "is_std": std}


class InceptionScore(_ISState, GenerativeMetric):
    """exp E[KL(p(y|x) ‖ p(y))] over ``splits`` contiguous blocks of the generated samples.

    ``convention='mmagic'`` reproduces MMagic 1.2.0: pixels truncated to
    uint8, Pillow's resize (``use_pillow_resize`` defaults to True there, with
    ``resize_method='bicubic'``), splits of floor(N/splits) samples (the
    remainder unused).
    """

    default_prefix = "IS"
    directions = {"is": "higher", "is_std": None}

    def __init__(self, fake_nums: int = 50000, resize: bool = True, splits: int = 10,
                 inception_style: str = "StyleGAN", inception_path: str | None = None,
                 fake_key: str | None = None, need_cond_input: bool = False, sample_model: str = "orig",
                 prefix: str | None = None, feature_extractor=None, convention: str = "official",
                 resize_method: str = "bicubic", use_pillow_resize: bool | None = None) -> None:
        super().__init__(fake_nums=int(fake_nums) if isinstance(fake_nums, float) else fake_nums,
                         fake_key=fake_key, need_cond_input=need_cond_input, sample_model=sample_model,
                         prefix=prefix)
        self._init_is(resize, splits, inception_style, inception_path, feature_extractor, convention,
                      resize_method, use_pillow_resize)

    def setup(self, ctx) -> None:
        self._setup_is(ctx)

    def process_fake(self, images: torch.Tensor, indices: torch.Tensor) -> None:
        images, indices = keep_below(images, indices, self.fake_nums)
        if indices.numel():
            self._add(images, indices)

    def compute(self) -> dict[str, float]:
        return self._score()


class TransIS(_ISState, BaseMetric):
    """IS of an image-translation model's outputs (``outputs[fake_key]`` of ``val_step``)."""

    default_prefix = "IS"
    directions = {"is": "higher", "is_std": None}
    uses_val_step = True

    def __init__(self, fake_nums: int = 50000, resize: bool = True, splits: int = 10,
                 inception_style: str = "StyleGAN", inception_path: str | None = None,
                 fake_key: str = "fake_img", need_cond_input: bool = False, sample_model: str = "ema",
                 prefix: str | None = None, feature_extractor=None, convention: str = "official",
                 resize_method: str = "bicubic", use_pillow_resize: bool | None = None) -> None:
        super().__init__(prefix)
        self.fake_nums, self.fake_key = int(fake_nums), fake_key
        self.need_cond_input, self.sample_model = need_cond_input, sample_model
        self._init_is(resize, splits, inception_style, inception_path, feature_extractor, convention,
                      resize_method, use_pillow_resize)

    def setup(self, ctx) -> None:
        self._setup_is(ctx)

    def process(self, batch: dict, outputs: dict) -> None:
        images, indices = keep_below(images_from(outputs, self.fake_key, "fake", "TransIS"),
                                     sample_indices(batch, "TransIS"), self.fake_nums)
        if indices.numel():
            self._add(images, indices)

    def compute(self) -> dict[str, float]:
        return self._score()
