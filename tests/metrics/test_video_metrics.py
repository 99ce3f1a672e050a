"""Video metrics as MMagic computes them - per clip (mean over its frames), then the mean over clips - also
when BasicFramesDataset(max_seq_len=...) cuts long clips into chunks, against a float64 computation from
the frame files; two gloo processes (each with its share of the chunks, uneven) give one process's values."""
from __future__ import annotations

import json
import socket
from pathlib import Path

import numpy as np
import pytest
import torch.multiprocessing as mp
from PIL import Image

import video_metric_worker as worker_module
from mgx.core.errors import ConfigError


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _frames(root: Path, kind: str, clip: str) -> list[np.ndarray]:
    return [np.asarray(Image.open(path), dtype=np.float64) for path in sorted((root / kind / clip).glob("*.png"))]


def _psnr(a: np.ndarray, b: np.ndarray) -> float:
    return 10 * np.log10(255.0 ** 2 / np.mean((a - b) ** 2))


def _y(rgb: np.ndarray) -> np.ndarray:  # BT.601 luma of [0, 255] RGB (MATLAB's rgb2ycbcr, Y channel)
    return (65.481 * rgb[..., 0] + 128.553 * rgb[..., 1] + 24.966 * rgb[..., 2]) / 255.0 + 16.0


def _expected(root: Path) -> tuple[dict, float]:
    """({key: mean over clips of the mean over frames}, frame-pooled PSNR) in float64."""
    per_clip, per_clip_y, pooled = [], [], []
    for clip in worker_module.CLIP_LENGTHS:
        values = [_psnr(g, n) for g, n in zip(_frames(root, "gt", clip), _frames(root, "noisy", clip))]
        values_y = [_psnr(_y(g)[2:-2, 2:-2], _y(n)[2:-2, 2:-2])
                    for g, n in zip(_frames(root, "gt", clip), _frames(root, "noisy", clip))]
        per_clip.append(np.mean(values))
        per_clip_y.append(np.mean(values_y))
        pooled += values
    return {"PSNR": float(np.mean(per_clip)), "Y/PSNR": float(np.mean(per_clip_y))}, float(np.mean(pooled))


def test_chunks_of_a_clip_carry_their_offset_and_the_clip_length(tmp_path):
    from mgx.core.plugins import PluginManager
    from mgx.core.registry import build

    PluginManager(default_plugins=["mgx.plugins.data"]).activate()
    worker_module.write_clips(tmp_path)
    dataset = worker_module.chunk_dataset(tmp_path)
    chunks = [(s["key"], s["frame_offset"], s["sequence_length"], s["clip_frames"]) for s in dataset.samples]
    # chunks of at most 2 frames; a last single frame joins the chunk before (one frame packs as an image)
    assert chunks == [("a", 0, 3, 3), ("b", 0, 2, 2), ("c", 0, 2, 5), ("c", 2, 3, 5), ("d", 0, 1, 1),
                      ("e", 0, 2, 4), ("e", 2, 2, 4)]
    last_of_c = dataset[3]
    assert last_of_c["gt_img"].shape == (3, 3, 16, 16) and last_of_c["clip_frames"] == 5
    expected = np.asarray(Image.open(tmp_path / "gt" / "c" / "00000004.png"))
    assert np.array_equal(last_of_c["gt_img"][2].permute(1, 2, 0).numpy(), expected)
    with pytest.raises(ConfigError, match="max_seq_len"):
        build(dict(type="BasicFramesDataset", data_root=str(tmp_path), data_prefix=dict(img="noisy", gt="gt"),
                   num_input_frames=2, max_seq_len=2), "dataset")
    with pytest.raises(ConfigError, match="at least 2"):
        build(dict(type="BasicFramesDataset", data_root=str(tmp_path), data_prefix=dict(img="noisy", gt="gt"),
                   max_seq_len=1), "dataset")


@pytest.mark.timeout(300)
def test_chunked_clips_average_per_clip_and_two_processes_equal_one(tmp_path):
    root = tmp_path / "clips"
    worker_module.write_clips(root)
    expected, pooled = _expected(root)
    single = worker_module.evaluate_shard(root, str(tmp_path / "single"))
    assert single["PSNR"] == pytest.approx(expected["PSNR"], rel=1e-12)
    assert single["Y/PSNR"] == pytest.approx(expected["Y/PSNR"], rel=1e-9)
    assert abs(pooled - expected["PSNR"]) > 0.1  # the convention matters for these clips (0.3 dB here)
    mp.spawn(worker_module.worker, args=(2, _free_port(), str(root), str(tmp_path)), nprocs=2, join=True)
    ranks = [json.loads((tmp_path / f"rank{r}.json").read_text()) for r in range(2)]
    assert sorted(r["chunks"] for r in ranks) == [3, 4]  # uneven shares; clip chunks split across ranks
    for key in ("PSNR", "SSIM", "Y/PSNR"):
        assert ranks[0][key] == ranks[1][key] == pytest.approx(single[key], rel=1e-12), key
