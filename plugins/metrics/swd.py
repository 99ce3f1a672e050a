"""Sliced Wasserstein Distance (SWD) between Laplacian-pyramid patches of real and generated images."""
from __future__ import annotations

import torch

from mgx.core.errors import ConfigError
from mgx.core.evaluation import GenerativeMetric, sample_seed

from ._common import check_convention, keep_below, mmagic_rounding
from ._spool import RowSpool
from .functional.swd import (ChannelMoments, laplacian_pyramid, project_normalised, projected_distance_sums,
                             projection_directions, pyramid_resolutions, random_patches, sort_rows_in_place)


class SlicedWassersteinDistance(GenerativeMetric):
    """SWD ×10³ per pyramid resolution (keys '64', '32', …) and their mean ('avg').

    ``real_nums`` defaults to fake_nums. Patch positions are drawn from a
    generator seeded by (seed, sample index), projections from the evaluation
    seed: results do not depend on the number of processes.
    ``convention='mmagic'`` rounds the values to 4 decimals as MMagic reports them.

    Memory stays near ``memory_mb`` (MiB) whatever the number of images: the
    descriptors (128 × C·7·7 floats per image and level) are kept in memory up
    to that size and spooled to a temporary file in the work_dir beyond it;
    per-channel statistics are gathered as they arrive, and the projections
    are computed, sorted and compared in blocks of directions that fit in it.
    """

    default_prefix = "SWD"
    default_direction = "lower"  # every per-resolution key and avg
    needs_reals = True
    REPEATS = 4  # projection repeats of 128 directions each, as MMagic

    def __init__(self, fake_nums: int | None = None, image_shape: tuple | list | None = None, real_nums: int = -1,
                 fake_key: str | None = None, real_key: str = "gt_img", need_cond_input: bool = False,
                 sample_model: str = "ema", prefix: str | None = None, convention: str = "official",
                 memory_mb: float = 1024) -> None:
        super().__init__(fake_nums=fake_nums, real_nums=real_nums, real_key=real_key, fake_key=fake_key,
                         need_cond_input=need_cond_input, sample_model=sample_model, prefix=prefix)
        self.image_shape = tuple(image_shape) if image_shape is not None else None
        if self.image_shape is not None and len(self.image_shape) != 3:
            raise ConfigError(f"SlicedWassersteinDistance: image_shape must be (C, H, W), got {image_shape!r}")
        self.convention = check_convention("SlicedWassersteinDistance", convention)
        self.real_limit = fake_nums if real_nums is None or real_nums < 0 else real_nums
        if not isinstance(memory_mb, (int, float)) or isinstance(memory_mb, bool) or memory_mb <= 0:
            raise ConfigError(f"SlicedWassersteinDistance: memory_mb must be a positive number (MiB), got {memory_mb!r}")
        self.memory_bytes = int(memory_mb * 2**20)

    def result_keys(self) -> list[str] | None:
        if self.image_shape is None:  # the pyramid's levels follow the image size
            return None
        return [str(size) for size in pyramid_resolutions(self.image_shape[1])] + ["avg"]

    def setup(self, ctx) -> None:
        self.seed = ctx.seed
        self._spool_dir = getattr(ctx, "work_dir", None)
        self._resolutions = None
        self._close_spools()
        # per set ('real', 'fake'): one (spool, per-channel moments) per pyramid level
        self._levels: dict[str, list[tuple[RowSpool, ChannelMoments]]] = {"real": [], "fake": []}

    def _close_spools(self) -> None:
        for levels in getattr(self, "_levels", {}).values():
            for spool, _ in levels:
                spool.close()

    def _level_store(self, which: str, levels: int, channels: int) -> list[tuple[RowSpool, ChannelMoments]]:
        store = self._levels[which]
        # The in-memory share of each of the 2·levels spools: together they stay within memory_mb.
        limit = self.memory_bytes // (2 * levels)
        while len(store) < levels:
            store.append((RowSpool(limit, self._spool_dir, owner=f"SlicedWassersteinDistance ({which} descriptors)"),
                          ChannelMoments(channels)))
        return store

    def _descriptors(self, images: torch.Tensor, indices: torch.Tensor, which: str, salt: int) -> None:
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
        store = self._level_store(which, len(resolutions), images.shape[1])
        pyramid = laplacian_pyramid(images.float() / 127.5 - 1.0, len(resolutions))
        generators = [torch.Generator().manual_seed(sample_seed(self.seed + salt, int(i))) for i in indices]
        for level, (spool, moments) in zip(pyramid, store):
            rows = random_patches(level, generators)
            moments.update(rows)
            spool.add(rows)

    def process_real(self, images: torch.Tensor, indices: torch.Tensor) -> None:
        images, indices = keep_below(images, indices, self.real_limit)
        if indices.numel():
            self._descriptors(images, indices, "real", salt=1)

    def process_fake(self, images: torch.Tensor, indices: torch.Tensor) -> None:
        images, indices = keep_below(images, indices, self.fake_nums)
        if indices.numel():
            self._descriptors(images, indices, "fake", salt=2)

    def compute(self) -> dict[str, float]:
        try:
            return self._compute()
        finally:
            self._close_spools()

    def _compute(self) -> dict[str, float]:
        from mgx.core import distributed
        found = [r for r in distributed.all_gather_object(self._resolutions) if r is not None]
        if not found:
            raise ConfigError("SlicedWassersteinDistance received no images on any process: "
                              "check fake_nums/real_nums and the dataloader")
        resolutions = found[0]
        for which in ("real", "fake"):
            self._level_store(which, len(resolutions), 3)
        results = {}
        for level, res in enumerate(resolutions):
            real_spool, real_moments = self._levels["real"][level]
            fake_spool, fake_moments = self._levels["fake"][level]
            results[str(res)] = self._level_distance(level, real_spool, real_moments, fake_spool, fake_moments) * 1e3
        results["avg"] = sum(results.values()) / len(results)
        return mmagic_rounding(results, self.convention)

    def _level_distance(self, level: int, real_spool: RowSpool, real_moments: ChannelMoments,
                        fake_spool: RowSpool, fake_moments: ChannelMoments) -> float:
        """Mean over REPEATS × 128 directions of mean |sorted real·d − sorted fake·d| at one level.

        Directions are shared out over the ranks (direction j on rank j % world); each
        block of directions is projected by every rank from its own spool and gathered.
        """
        from mgx.core import distributed
        rank, world = distributed.get_rank(), distributed.get_world_size()
        counts = distributed.all_gather_object((real_spool.rows, fake_spool.rows, real_spool.width or fake_spool.width))
        real_rows, fake_rows = sum(c[0] for c in counts), sum(c[1] for c in counts)
        if not real_rows or not fake_rows:
            raise ConfigError(f"SlicedWassersteinDistance received {real_rows // 128} real and {fake_rows // 128} "
                              f"generated images: it needs both (check real_nums/fake_nums and the dataloader)")
        width = next(c[2] for c in counts if c[2])
        real_mean, real_std = _merged_moments(real_moments).mean_std()
        fake_mean, fake_std = _merged_moments(fake_moments).mean_std()
        # Each repeat draws its directions from its own seed: the same directions on any number of processes.
        directions = torch.cat([projection_directions(width, torch.Generator().manual_seed(
            sample_seed(self.seed + 3, level * self.REPEATS + repeat)), repeats=1) for repeat in range(self.REPEATS)], 1)
        # Bytes per direction: its projections of both sets (and, across processes, the gathered copies).
        copies = 1.0 if world == 1 else 2.0 + 3.0 / world
        per_direction = 4 * (real_rows + fake_rows) * copies
        block = int(min(directions.shape[1], max(1, self.memory_bytes // per_direction)))
        total = torch.zeros(1, dtype=torch.float64)
        # One buffer per set, reused by every block (fresh allocations would fault in their pages each time).
        real_buffer = torch.empty(block, real_spool.rows, dtype=torch.float32)
        fake_buffer = torch.empty(block, fake_spool.rows, dtype=torch.float32)
        for start in range(0, directions.shape[1], block):
            chunk = directions[:, start:start + block]
            owned = [j for j in range(chunk.shape[1]) if (start + j) % world == rank]
            real = _gather_projections(_project(real_spool, real_mean, real_std, chunk, real_buffer), owned)
            fake = _gather_projections(_project(fake_spool, fake_mean, fake_std, chunk, fake_buffer), owned)
            if owned:
                sums = projected_distance_sums(sort_rows_in_place(real), sort_rows_in_place(fake))
                total += sums.sum() / min(real.shape[1], fake.shape[1])
            del real, fake
        total = distributed.all_reduce_sum(total)
        return float(total.item()) / directions.shape[1]


def _merged_moments(moments: ChannelMoments) -> ChannelMoments:
    """Every rank's moments merged in rank order: the same statistics on every rank."""
    from mgx.core import distributed
    merged = ChannelMoments(moments.channels)
    for part in distributed.all_gather_object(moments):
        merged.merge(part)
    return merged


def _project(spool: RowSpool, mean: torch.Tensor, std: torch.Tensor, directions: torch.Tensor,
             buffer: torch.Tensor) -> torch.Tensor:
    """directions × rows projections of this rank's normalised descriptors, chunk by chunk from the spool,
    written into the first rows of ``buffer``."""
    out = buffer[:directions.shape[1]]
    offset = 0
    for rows in spool.chunks():
        project_normalised(rows, mean, std, directions, out=out[:, offset:offset + rows.shape[0]])
        offset += rows.shape[0]
    return out


def _gather_projections(local: torch.Tensor, owned: list[int]) -> torch.Tensor:
    """The ``owned`` rows (directions) of every rank's projections, side by side (column order is irrelevant:
    the rows are sorted next)."""
    from mgx.core import distributed
    if distributed.get_world_size() == 1:
        return local
    parts = distributed.all_gather_object(local)
    del local
    out = torch.empty(len(owned), sum(p.shape[1] for p in parts), dtype=torch.float32)
    offset = 0
    for index in range(len(parts)):
        part, parts[index] = parts[index], None
        out[:, offset:offset + part.shape[1]] = part[owned]
        offset += part.shape[1]
    return out
