"""Sliced Wasserstein Distance (SWD) between Laplacian-pyramid patches of real and generated images."""
from __future__ import annotations

import torch

from mgx.core.errors import ConfigError
from mgx.core.evaluation import GenerativeMetric, sample_seed

from ._common import IndexedRows, check_convention, keep_below, mmagic_rounding
from .functional.swd import (laplacian_pyramid, normalise_descriptors, pyramid_resolutions, random_patches,
                             sliced_wasserstein)


class SlicedWassersteinDistance(GenerativeMetric):
    """SWD ×10³ per pyramid resolution (keys '64', '32', …) and their mean ('avg').

    ``real_nums`` defaults to fake_nums. Patch positions are drawn from a
    generator seeded by (seed, sample index), projections from the evaluation
    seed: results do not depend on the number of processes.
    ``convention='mmagic'`` rounds the values to 4 decimals as MMagic reports them.
    """

    default_prefix = "SWD"
    default_direction = "lower"  # every per-resolution key and avg
    needs_reals = True
    REPEATS = 4  # projection repeats of 128 directions each, as MMagic

    def __init__(self, fake_nums: int | None = None, image_shape: tuple | list | None = None, real_nums: int = -1,
                 fake_key: str | None = None, real_key: str = "gt_img", need_cond_input: bool = False,
                 sample_model: str = "ema", prefix: str | None = None, convention: str = "official") -> None:
        super().__init__(fake_nums=fake_nums, real_nums=real_nums, real_key=real_key, fake_key=fake_key,
                         need_cond_input=need_cond_input, sample_model=sample_model, prefix=prefix)
        self.image_shape = tuple(image_shape) if image_shape is not None else None
        if self.image_shape is not None and len(self.image_shape) != 3:
            raise ConfigError(f"SlicedWassersteinDistance: image_shape must be (C, H, W), got {image_shape!r}")
        self.convention = check_convention("SlicedWassersteinDistance", convention)
        self.real_limit = fake_nums if real_nums is None or real_nums < 0 else real_nums

    def result_keys(self) -> list[str] | None:
        if self.image_shape is None:  # the pyramid's levels follow the image size
            return None
        return [str(size) for size in pyramid_resolutions(self.image_shape[1])] + ["avg"]

    def setup(self, ctx) -> None:
        self.seed = ctx.seed
        self._resolutions = None
        self._real: list[IndexedRows] = []
        self._fake: list[IndexedRows] = []

    def _descriptors(self, images: torch.Tensor, indices: torch.Tensor, store: list[IndexedRows],
                     salt: int) -> None:
        if self.image_shape is not None and tuple(images.shape[1:]) != tuple(self.image_shape):
            raise ConfigError(f"SlicedWassersteinDistance: images have shape {tuple(images.shape[1:])}, "
                              f"image_shape says {self.image_shape}")
        if images.shape[1] == 1:  # grayscale: compared as RGB, like MMagic
            images = images.repeat(1, 3, 1, 1)
        resolutions = pyramid_resolutions(images.shape[2])
        if not resolutions:
            raise ConfigError(f"SlicedWassersteinDistance needs images of at least 16 px, got {images.shape[2]}")
        if self._resolutions is None:
            self._resolutions = resolutions
        while len(store) < len(resolutions):
            store.append(IndexedRows())
        pyramid = laplacian_pyramid(images.float() / 127.5 - 1.0, len(resolutions))
        generators = [torch.Generator().manual_seed(sample_seed(self.seed + salt, int(i))) for i in indices]
        for level, rows in zip(pyramid, store):
            rows.add(random_patches(level, generators), indices.repeat_interleave(128))

    def process_real(self, images: torch.Tensor, indices: torch.Tensor) -> None:
        images, indices = keep_below(images, indices, self.real_limit)
        if indices.numel():
            self._descriptors(images, indices, self._real, salt=1)

    def process_fake(self, images: torch.Tensor, indices: torch.Tensor) -> None:
        images, indices = keep_below(images, indices, self.fake_nums)
        if indices.numel():
            self._descriptors(images, indices, self._fake, salt=2)

    def compute(self) -> dict[str, float]:
        from mgx.core import distributed

        resolutions = [r for r in distributed.all_gather_object(self._resolutions) if r is not None][0]
        while len(self._real) < len(resolutions):
            self._real.append(IndexedRows())
        while len(self._fake) < len(resolutions):
            self._fake.append(IndexedRows())
        # The projection repeats are shared out over the ranks (each repeat draws its directions
        # from its own seed), then summed: the same value on any number of processes, and the
        # heaviest part of SWD no longer runs in full on every rank.
        rank, world = distributed.get_rank(), distributed.get_world_size()
        results = {}
        for level, (res, real_rows, fake_rows) in enumerate(zip(resolutions, self._real, self._fake)):
            real, fake = real_rows.gather(), fake_rows.gather()
            channels = real.shape[1] // 49
            real = normalise_descriptors(real.float(), channels)
            fake = normalise_descriptors(fake.float(), channels)
            mine = [repeat for repeat in range(self.REPEATS) if repeat % world == rank]
            partial = sum(sliced_wasserstein(real, fake, torch.Generator().manual_seed(
                sample_seed(self.seed + 3, level * self.REPEATS + repeat)), repeats=1) for repeat in mine)
            total = distributed.all_reduce_sum(torch.tensor([float(partial)], dtype=torch.float64))
            results[str(res)] = float(total.item()) / self.REPEATS * 1e3
        results["avg"] = sum(results.values()) / len(results)
        return mmagic_rounding(results, self.convention)
