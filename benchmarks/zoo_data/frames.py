"""Writers for MMagic's video datasets: clips of frames in the folder layouts of REDS, Vimeo-90K, Vid4,
UDM10 and the NTIRE decompression tracks, with their meta-info files.

Frames are crops of one smooth image moving by a pixel per frame (so optical flow is not trivial); the
low-resolution fields hold the frames' bicubic reductions at the dataset's scale.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from .base import Sizes, prefixes, under, writer
from .options import DEGRADATION_CROP

SCALE = 4  # the video configs' super-resolution factor
CLIPS = {1: ("000", "011"), 2: ("00001/0001", "00002/0003")}  # sample names by the dataset's depth


def trial_frames(count: int) -> int:
    """A clip length for a trial: MMagic's 7-frame windows kept, long clips (REDS' 100) cut to 5."""
    return int(count) if int(count) <= 7 else 5


def moving_frames(rng: np.random.Generator, count: int, size: int) -> list[np.ndarray]:
    coarse = rng.integers(0, 256, (8, 8, 3), dtype=np.uint8)
    canvas = np.asarray(Image.fromarray(coarse).resize((size + count, size + count), Image.Resampling.BICUBIC))
    return [canvas[i:i + size, i:i + size].copy() for i in range(count)]


def write_clip(rng: np.random.Generator, gt_dir: Path, lr_dirs: list[Path], names: list[str], size: int,
               scale: int = SCALE) -> None:
    """One clip: ``names`` frames of ``size``² under ``gt_dir`` and ``scale``-reduced copies under each of
    ``lr_dirs``."""
    for folder in (gt_dir, *lr_dirs):
        folder.mkdir(parents=True, exist_ok=True)
    for name, frame in zip(names, moving_frames(rng, len(names), size)):
        Image.fromarray(frame).save(gt_dir / name)
        low = Image.fromarray(frame).resize((size // scale,) * 2, Image.Resampling.BICUBIC)
        for folder in lr_dirs:
            low.save(folder / name)


def _frame_names(dataset: dict, count: int) -> list[str]:
    """File names the pipeline's index generators will ask for (their ``filename_tmpl``/``start_idx``)."""
    for step in dataset.get("pipeline") or []:
        if isinstance(step, dict) and "filename_tmpl" in step:
            start = int(step.get("start_idx", 0))
            return [step["filename_tmpl"].format(start + index) for index in range(count)]
    return [f"{index:08d}.png" for index in range(count)]


# index generators whose samples are single frames (``clip/frame``) of clips listed by the meta file
FRAME_WINDOWS = ("GenerateFrameIndices", "GenerateFrameIndiceswithPadding")


@writer("BasicFramesDataset")
def write_frames_dataset(dataset: dict, root: Path, sizes: Sizes) -> Path:
    """MMagic's BasicFramesDataset: two samples (clips, or ``seq/clip`` at ``depth=2``) under each
    ``data_prefix`` folder; the frames ``load_frames_list`` names, else ``num_input_frames`` (at least 3)
    named as the pipeline's ``filename_tmpl`` says; ``ann_file`` lists the samples with their shape. Fields
    other than ``gt`` are reduced by the dataset's scale (1 for deblurring/interpolation layouts). A
    ``depth=2`` set read through frame windows (TDAN's and TOFlow's Vid4/SPMCS) lists its clips as Vid4's
    meta file does (``calendar 41``), the samples being each clip's frames."""
    data_root = under(root, dataset.get("data_root"))
    fields = prefixes(dataset)
    depth = int(dataset.get("depth") or 1)
    windows = any(isinstance(step, dict) and step.get("type") in FRAME_WINDOWS
                  for step in dataset.get("pipeline") or [])
    samples = CLIPS[1 if windows else min(depth, 2)]
    lists = dict(dataset.get("load_frames_list") or {})
    count = max(3, trial_frames(dataset.get("fixed_seq_len") or dataset.get("num_input_frames") or 3))
    side = max(sizes.crop, sizes.image)
    if sizes.scale > 1 and len(set(fields.values())) == 1:
        # low-quality clips only (RealBasicVSR's VideoLQ), scored by NIQE: 96-pixel blocks, two, in the output
        side = max(side, 192 // sizes.scale)
    if sizes.scale > 1 and any(isinstance(step, dict) and step.get("type") == "FixedCrop"
                               for step in dataset.get("pipeline") or []):
        side = max(side, DEGRADATION_CROP)  # ground truth degraded on the fly (options.degradation_options)
    side += (-side) % (4 * max(sizes.scale, 1))
    rng = np.random.default_rng(0)
    for sample in samples:
        frames = moving_frames(rng, count + 4, side)
        for key, folder in fields.items():
            names = lists.get(key) or _frame_names(dataset, count)
            reduce = sizes.scale if key != "gt" and fields.get("gt") != folder else 1
            for index, name in enumerate(names):
                path = under(data_root, folder) / sample / name
                if path.exists():  # (fields sharing one folder share its frames)
                    continue
                path.parent.mkdir(parents=True, exist_ok=True)
                image = Image.fromarray(frames[index % len(frames)])
                if reduce > 1:
                    image = image.resize((side // reduce,) * 2, Image.Resampling.BICUBIC)
                image.save(path)
    if dataset.get("ann_file"):
        ann = under(data_root, dataset["ann_file"])
        ann.parent.mkdir(parents=True, exist_ok=True)
        if windows and depth >= 2:
            ann.write_text("".join(f"{sample} {count}\n" for sample in samples))
        else:
            ann.write_text("".join(f"{sample} ({side},{side},3)\n" for sample in samples))
    return data_root


def write_decompression_clips(root: Path, frames: int = 3, size: int = 32) -> None:
    """data/NTIRE21_decompression_track{1,2,3}: LQ and GT frames of one size, named 001.png, ... (start 1);
    the LQ frames are the GT's ×4 reduction enlarged again."""
    rng = np.random.default_rng(1)
    for track in (1, 2, 3):
        base = root / "data" / f"NTIRE21_decompression_track{track}"
        for clip in ("001", "002"):
            names = [f"{i:03d}.png" for i in range(1, frames + 1)]
            write_clip(rng, base / "GT" / clip, [], names, size)
            (base / "LQ" / clip).mkdir(parents=True, exist_ok=True)
            for name in names:
                small = Image.open(base / "GT" / clip / name).resize((size // SCALE,) * 2, Image.Resampling.BICUBIC)
                small.resize((size, size), Image.Resampling.BICUBIC).save(base / "LQ" / clip / name)


def write_video_layouts(root: Path, frames: int = 3, size: int = 32) -> None:
    """data/REDS, data/vimeo90k, data/Vid4 and data/UDM10 with two clips each (Vimeo-90K: 7 frames), as
    the video tests' configs read them."""
    rng = np.random.default_rng(0)
    data = root / "data"
    reds_names = [f"{i:08d}.png" for i in range(frames)]
    for clip in ("000", "011"):
        write_clip(rng, data / "REDS/train_sharp" / clip, [data / "REDS/train_sharp_bicubic/X4" / clip],
                   reds_names, size)
    reds_meta = "".join(f"{clip}/{name} ({size},{size},3)\n" for clip in ("000", "011") for name in reds_names)
    for meta in ("meta_info_reds4_train.txt", "meta_info_reds4_val.txt", "meta_info_official_val.txt"):
        (data / "REDS" / meta).write_text(reds_meta)
    vimeo_names = [f"im{i}.png" for i in range(1, 8)]
    for seq in ("00001/0001", "00002/0003"):
        write_clip(rng, data / "vimeo90k/GT" / seq, [data / "vimeo90k/BDx4" / seq, data / "vimeo90k/BIx4" / seq],
                   vimeo_names, size)
    vimeo_meta = f"00001/0001 ({size},{size},3)\n00002/0003 ({size},{size},3)\n"
    for meta in ("meta_info_Vimeo90K_train_GT.txt", "meta_info_Vimeo90K_test_GT.txt"):
        (data / "vimeo90k" / meta).write_text(vimeo_meta)
    for clip in ("calendar", "city"):
        write_clip(rng, data / "Vid4/GT" / clip, [data / "Vid4/BDx4" / clip, data / "Vid4/BIx4" / clip],
                   reds_names, size)
    (data / "Vid4/meta_info_Vid4_GT.txt").write_text(f"calendar {frames}\ncity {frames}\n")
    for clip in ("archpeople", "auditorium"):
        write_clip(rng, data / "UDM10/GT" / clip, [data / "UDM10/BDx4" / clip],
                   [f"{i:04d}.png" for i in range(frames)], size)


def write_real_basicvsr_layouts(root: Path, frames: int = 3, size: int = 32, lq_size: int = 48) -> None:
    """RealBasicVSR's three sets: data/REDS/train_sharp_sub (ground-truth clips only: the pipeline degrades
    them), data/UDM10 (GT and BIx4, frames 0000.png, ...) and data/VideoLQ (low-quality clips of
    ``lq_size``² as both input and 'gt', frames 00000000.png, ...: NIQE needs outputs of at least 96×192)."""
    rng = np.random.default_rng(2)
    data = root / "data"
    for clip in ("000", "001"):
        write_clip(rng, data / "REDS/train_sharp_sub" / clip, [], [f"{i:08d}.png" for i in range(frames)], size)
        write_clip(rng, data / "UDM10/GT" / clip, [data / "UDM10/BIx4" / clip],
                   [f"{i:04d}.png" for i in range(frames)], size)
        write_clip(rng, data / "VideoLQ" / clip, [], [f"{i:08d}.png" for i in range(frames)], lq_size)
