"""Bounded evaluation memory: SWD's spooled path, IndexedRows' gather, and the memory benchmark's smoke mode."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import torch

from metric_test_nets import make_context, real_images
from mgx.core.errors import MgxError
from mgx.core.evaluation import sample_seed
from mgx.plugins.metrics import swd as swd_module
from mgx.core.evaluation.metric_state import IndexedRows
from mgx.plugins.metrics._spool import RowSpool
from mgx.plugins.metrics.functional.swd import (ChannelMoments, laplacian_pyramid, projection_directions,
                                                pyramid_resolutions, random_patches)
from mgx.plugins.metrics.swd import SlicedWassersteinDistance
from reference_formulas import swd_level_float64

ROOT = Path(__file__).resolve().parents[2]
SEED = 3


def _fakes(n: int) -> torch.Tensor:
    """Float images in [0, 255] unlike the reals (a brighter ramp): a clearly non-zero SWD."""
    gen = torch.Generator().manual_seed(11)
    ramp = torch.linspace(0, 60, 32)
    return (torch.rand(n, 3, 32, 32, generator=gen) * 190 + ramp).clamp(0, 255)


def _run_swd(metric, reals, fakes, tmp_path, batch=5):
    metric.setup(make_context(None, tmp_path, seed=SEED))
    in_memory_peak = 0
    for start in range(0, max(len(reals), len(fakes)), batch):
        real_idx = torch.arange(min(start, len(reals)), min(start + batch, len(reals)))
        fake_idx = torch.arange(min(start, len(fakes)), min(start + batch, len(fakes)))
        if real_idx.numel():
            metric.process_real(reals[real_idx].float(), real_idx)
        if fake_idx.numel():
            metric.process_fake(fakes[fake_idx], fake_idx)
        held = sum(spool.memory_bytes for levels in metric._levels.values() for spool, _ in levels)
        in_memory_peak = max(in_memory_peak, held)
    spooled = all(spool.on_disk for levels in metric._levels.values() for spool, _ in levels)
    return metric.compute(), in_memory_peak, spooled


def _swd_float64(reals, fakes, size=32):
    """Every level's SWD ×10³ from the definition in float64 (same patch positions and directions)."""
    levels = len(pyramid_resolutions(size))

    def descriptors(images, salt):
        generators = [torch.Generator().manual_seed(sample_seed(SEED + salt, i)) for i in range(len(images))]
        pyramid = laplacian_pyramid(images.double() / 127.5 - 1.0, levels)
        return [random_patches(level, generators) for level in pyramid]

    real, fake = descriptors(reals, 1), descriptors(fakes, 2)
    values = {}
    for level, res in enumerate(pyramid_resolutions(size)):
        directions = torch.cat([projection_directions(real[level].shape[1], torch.Generator().manual_seed(
            sample_seed(SEED + 3, level * 4 + repeat)), repeats=1) for repeat in range(4)], 1)
        values[str(res)] = swd_level_float64(real[level], fake[level], directions) * 1e3
    values["avg"] = sum(values.values()) / len(values)
    return values


@pytest.mark.parametrize("n_real,n_fake", [(20, 20), (24, 18)])
def test_swd_in_memory_and_spooled_equal_the_float64_definition(tmp_path, n_real, n_fake):
    reals, fakes = real_images(n_real), _fakes(n_fake)
    expected = _swd_float64(reals, fakes)
    in_memory, _, spooled = _run_swd(SlicedWassersteinDistance(fake_nums=n_fake, real_nums=n_real), reals, fakes,
                                     tmp_path / "a")
    assert not spooled
    # 1 MiB: every spool goes to disk (a set's level holds 1.1-1.4 MB of descriptors, a spool keeps
    # 256 KiB in memory) and the 512 directions are projected in blocks of about 50.
    budget = 1.0
    small, held, spooled = _run_swd(SlicedWassersteinDistance(fake_nums=n_fake, real_nums=n_real, memory_mb=budget),
                                    reals, fakes, tmp_path / "b")
    assert spooled
    assert held <= budget * 2**20
    for key, value in expected.items():
        assert in_memory[key] == pytest.approx(value, rel=2e-5), key
        assert small[key] == pytest.approx(value, rel=2e-5), key
        assert small[key] == pytest.approx(in_memory[key], rel=1e-6), key
    assert not list((tmp_path / "b" / "work").iterdir()), "the spool files have no name: nothing is left behind"


def test_swd_memory_does_not_grow_with_the_number_of_images(tmp_path, monkeypatch):
    """With a fixed budget, what stays in memory while processing and each projection block at compute
    time fit in it whether 12 or 40 images are compared."""
    budget = 1.0
    blocks = []
    original = swd_module._project

    def recording(spool, mean, std, directions, buffer):
        out = original(spool, mean, std, directions, buffer)
        blocks.append(buffer.numel() * 4)
        return out

    monkeypatch.setattr(swd_module, "_project", recording)
    for n in (12, 40):
        blocks.clear()
        _, held, spooled = _run_swd(SlicedWassersteinDistance(fake_nums=n, memory_mb=budget), real_images(n),
                                    _fakes(n), tmp_path / str(n))
        assert spooled and held <= budget * 2**20
        # the real and fake buffers of one block together stay within the budget
        assert max(blocks) * 2 <= budget * 2**20


def test_swd_channel_moments_merge_like_one_pass():
    gen = torch.Generator().manual_seed(0)
    rows = torch.randn(300, 3 * 49, generator=gen) * torch.tensor([0.5, 2.0, 1.0]).repeat_interleave(49) + 3.0
    whole = ChannelMoments(3)
    whole.update(rows)
    parts = ChannelMoments(3)
    for chunk in rows.split(37):
        other = ChannelMoments(3)
        other.update(chunk)
        parts.merge(other)
    values = rows.double().reshape(300, 3, 49)
    for moments in (whole, parts):
        mean, std = moments.mean_std()
        torch.testing.assert_close(mean, values.mean(dim=(0, 2)), rtol=1e-12, atol=1e-12)
        torch.testing.assert_close(std, values.std(dim=(0, 2)), rtol=1e-7, atol=0)


def test_row_spool_returns_rows_in_order_from_memory_and_disk(tmp_path):
    rows = torch.randn(1000, 7)
    for limit in (10**9, 4 * 7 * 100):
        spool = RowSpool(limit, tmp_path)
        for chunk in rows.split(64):
            spool.add(chunk)
        assert spool.on_disk == (limit < rows.numel() * 4)
        assert torch.equal(torch.cat([c.clone() for c in spool.chunks()]), rows)
        assert torch.equal(torch.cat([c.clone() for c in spool.chunks()]), rows)  # readable again
        spool.close()
    assert not list(tmp_path.iterdir())


def test_row_spool_names_the_directory_when_it_cannot_spool(tmp_path):
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("")
    spool = RowSpool(0, blocker / "spool", owner="SlicedWassersteinDistance (fake descriptors)")
    with pytest.raises(MgxError, match="SlicedWassersteinDistance .*not-a-directory"):
        spool.add(torch.ones(3, 2))


def test_indexed_rows_gather_orders_by_index_and_hands_the_rows_over():
    store = IndexedRows()
    gen = torch.Generator().manual_seed(1)
    order = torch.randperm(50, generator=gen)
    rows = torch.randn(50, 4, generator=gen)
    for chunk in order.split(7):
        store.add(rows[chunk], chunk)
    store.add(rows[:2].double(), torch.tensor([50, 51]))  # a float64 chunk promotes the result, as torch.cat
    gathered = store.gather()
    assert gathered.dtype == torch.float64
    torch.testing.assert_close(gathered, torch.cat([rows, rows[:2]]).double(), rtol=0, atol=0)
    assert len(store) == 0


def test_memory_benchmark_smoke_mode_measures_metrics_in_subprocesses():
    """The benchmark's tiny mode (two metrics keep it fast): a row per metric, spool files cleaned up."""
    command = [sys.executable, str(ROOT / "benchmarks" / "bench_metric_memory.py"), "--smoke", "--metrics", "FID", "SWD"]
    out = subprocess.run(command, capture_output=True, text=True, timeout=240, cwd=ROOT)
    assert out.returncode == 0, out.stderr[-2000:]
    for metric in ("FID", "SWD"):
        assert f"\n{metric} " in out.stdout, out.stdout


def test_row_slabs_keep_rows_in_order_across_blocks(monkeypatch):
    from mgx.core.evaluation import metric_state as _slabs

    monkeypatch.setattr(_slabs, "SLAB_BYTES", 4 * 3 * 10)  # blocks of 10 rows of 3 float32
    store = _slabs.RowSlabs()
    rows = torch.arange(75, dtype=torch.float32).reshape(25, 3)
    for chunk in rows.split(7):
        store.add(chunk)
    assert store.rows == 25 and len(list(store.chunks())) == 3
    assert torch.equal(torch.cat(list(store.chunks())), rows)
    store.add(torch.ones(1, 3, dtype=torch.float64))  # promotes, as torch.cat would
    taken = torch.cat(list(store.take_chunks()))
    assert taken.dtype == torch.float64 and torch.equal(taken, torch.cat([rows.double(), torch.ones(1, 3).double()]))
    assert store.rows == 0 and not list(store.chunks())


@pytest.mark.parametrize("bad", [0, -5, "1G", True])
def test_swd_memory_mb_must_be_a_positive_number(bad):
    from mgx.core.errors import ConfigError

    with pytest.raises(ConfigError, match="memory_mb must be a positive number"):
        SlicedWassersteinDistance(fake_nums=8, memory_mb=bad)
