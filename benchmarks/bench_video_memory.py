"""Peak RSS of ``mgx run test`` with BasicVSR++ on one long clip, for two clip lengths (default 100 and 200
frames): memory-bounded long-clip evaluation (``BasicFramesDataset(max_seq_len=...)``) must hold end to
end - loader, model, PSNR/SSIM, the sample grid and clip GIF, MLflow - so the longer clip's peak stays
within 1.2× the shorter one's.

Each length runs ``mgx run test`` in its own process (tracked to a local MLflow store in a temporary
folder, one loader process: ``num_workers=0``); its peak RSS is the child's ``ru_maxrss``. The clip is a
textured image panning across the frame; the ground truth is ``--gt-size`` and the input its ×4 reduction.
The checkpoint holds BasicVSR++ weights of ``--mid-channels``/``--num-blocks`` (random: the memory does not
depend on the values; SPyNet as built).

Usage: python benchmarks/bench_video_memory.py [--frames 100 200] [--gt-size 720 1280] [--max-seq-len 10]
                                                [--mid-channels 64 --num-blocks 7] [--no-chunks]
The issue's setting is 180×320 input frames (``--gt-size 720 1280``) at full width (64 channels,
7 blocks); on a shared 2-core CPU that is hours of compute, so docs/performance.md says which size ran.
Not run in CI.
"""
from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

MIB = 2**20
CONFIG = """
model = dict(
    type='BasicVSR',
    generator=dict(type='BasicVSRPlusPlusNet', mid_channels={mid}, num_blocks={blocks}),
    pixel_loss=dict(type='CharbonnierLoss', loss_weight=1.0, reduction='mean'),
    data_preprocessor=dict(type='DataPreprocessor', mean=[0., 0., 0.], std=[255., 255., 255.]))
test_dataloader = dict(
    batch_size=1, num_workers=0, sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type='BasicFramesDataset', data_root={root!r}, data_prefix=dict(img='lq', gt='gt'),
                 depth=1, fixed_seq_len={frames}, max_seq_len={chunk},
                 pipeline=[dict(type='GenerateSegmentIndices', interval_list=[1]),
                           dict(type='LoadImageFromFile', key='img', channel_order='rgb'),
                           dict(type='LoadImageFromFile', key='gt', channel_order='rgb'),
                           dict(type='PackInputs')]))
test_evaluator = dict(type='Evaluator', metrics=[dict(type='PSNR'), dict(type='SSIM')])
test_cfg = dict(type='TestLoop')
"""


def write_clip(root: Path, frames: int, height: int, width: int) -> None:
    """root/gt/clip and root/lq/clip: ``frames`` PNGs (00000000.png, ...); a shorter clip is its first frames."""
    from PIL import Image

    rng = np.random.default_rng(0)
    coarse = rng.integers(0, 256, (height // 8, (width + 2 * frames) // 8, 3), dtype=np.uint8)
    canvas = Image.fromarray(coarse).resize((width + 2 * frames, height), Image.Resampling.BICUBIC)
    for kind in ("gt", "lq"):
        (root / kind / "clip").mkdir(parents=True, exist_ok=True)
    for i in range(frames):
        frame = canvas.crop((2 * i, 0, 2 * i + width, height))
        frame.save(root / "gt" / "clip" / f"{i:08d}.png", compress_level=1)
        frame.resize((width // 4, height // 4), Image.Resampling.BICUBIC).save(root / "lq" / "clip" / f"{i:08d}.png")


def write_checkpoint(path: Path, mid: int, blocks: int) -> None:
    import torch

    from mgx.core.plugins import PluginManager
    from mgx.core.registry import build

    PluginManager(["mgx.plugins.data", "mgx.plugins.models"]).activate()
    torch.manual_seed(0)
    net = build(dict(type="BasicVSRPlusPlusNet", mid_channels=mid, num_blocks=blocks), "model")
    weights = {f"generator.{k}": v for k, v in net.state_dict().items()}
    weights["step_counter"] = torch.zeros(1)
    torch.save({"meta": {}, "state_dict": weights}, path)


def peak_rss(args: list[str], env: dict, cwd: Path) -> tuple[float, float, str]:
    """(peak RSS MiB, seconds, stderr tail) of ``mgx ARGS`` run in a fresh wrapper process."""
    probe = ("import resource, subprocess, sys\n"
             "done = subprocess.run(sys.argv[1:], capture_output=True, text=True)\n"
             "sys.stderr.write(done.stderr[-3000:])\n"
             "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n"
             "sys.exit(done.returncode)\n")
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", probe, sys.executable, "-m", "mgx.cli", *args], cwd=cwd, env=env,
                          capture_output=True, text=True)
    if done.returncode:
        raise SystemExit(f"mgx {' '.join(args)} failed:\n{done.stderr}")
    return int(done.stdout.split()[-1]) / 1024, time.perf_counter() - started, done.stderr


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--frames", type=int, nargs="+", default=[100, 200])
    parser.add_argument("--gt-size", type=int, nargs=2, default=[720, 1280], metavar=("H", "W"))
    parser.add_argument("--max-seq-len", type=int, default=10)
    parser.add_argument("--mid-channels", type=int, default=64)
    parser.add_argument("--num-blocks", type=int, default=7)
    parser.add_argument("--no-chunks", action="store_true", help="whole clips (max_seq_len=None), for comparison")
    parser.add_argument("--keep", type=Path, help="work in this folder and keep it (default: a temporary one)")
    args = parser.parse_args()
    height, width = args.gt_size
    with tempfile.TemporaryDirectory() as tmp:
        root = args.keep or Path(tmp)
        root.mkdir(parents=True, exist_ok=True)
        started = time.perf_counter()
        write_clip(root / "data", max(args.frames), height, width)
        write_checkpoint(root / "basicvsr_pp.pth", args.mid_channels, args.num_blocks)
        print(f"clip of {max(args.frames)} frames {height}×{width} (input {height // 4}×{width // 4}) written in "
              f"{time.perf_counter() - started:.0f} s; BasicVSR++ mid_channels={args.mid_channels} "
              f"num_blocks={args.num_blocks}; max_seq_len={None if args.no_chunks else args.max_seq_len}")
        env = {**os.environ, "MLFLOW_TRACKING_URI": str(root / "mlruns")}
        env.setdefault("OMP_NUM_THREADS", str(os.cpu_count() or 1))
        results = {}
        for frames in args.frames:
            config = root / f"test_{frames}.py"  # the first `frames` frames of the clip
            config.write_text(CONFIG.format(mid=args.mid_channels, blocks=args.num_blocks, root=str(root / "data"),
                                            frames=frames, chunk=None if args.no_chunks else args.max_seq_len))
            mib, seconds, log = peak_rss(["run", "test", str(config), str(root / "basicvsr_pp.pth"), "--work-dir",
                                          str(root / f"work_{frames}")], env, root)
            psnr = [line for line in log.splitlines() if "Test  PSNR" in line]
            results[frames] = mib
            scores = psnr[-1].split("Test  ")[-1] if psnr else ""
            print(f"{frames:5d} frames: peak RSS {mib:8.1f} MiB  ({seconds:6.1f} s)  {scores}")
        if len(results) >= 2:
            low, high = min(results), max(results)
            ratio = results[high] / results[low]
            print(f"ratio {high}/{low} frames: {ratio:.3f} (target ≤ 1.2: {'met' if ratio <= 1.2 else 'NOT met'})")


if __name__ == "__main__":
    main()
