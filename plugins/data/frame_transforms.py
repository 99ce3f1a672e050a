"""Frame-sequence transforms under MMagic 1.2.0's names and arguments: the frame-index generators that
turn a ``BasicFramesDataset`` sample into frame paths (``GenerateSegmentIndices``,
``GenerateFrameIndices``, ``GenerateFrameIndiceswithPadding``) and the temporal augmentations
(``MirrorSequence``, ``TemporalReverse``). Randomness: the sample's own source (``sample_rng``)."""
from __future__ import annotations

import os
from typing import Any

from mgx.core.errors import ConfigError, MgxError

from .transform_utils import keys_arg, probability_arg, sample_rng

PADDINGS = ("replicate", "reflection", "reflection_circle", "circle")


def _intervals(interval_list: Any, who: str) -> list[int]:
    if not (isinstance(interval_list, (list, tuple)) and interval_list and all(
            isinstance(v, int) and not isinstance(v, bool) and v >= 1 for v in interval_list)):
        raise ConfigError(f"{who}: interval_list must be a non-empty list of positive ints, got {interval_list!r}")
    return list(interval_list)


def _field(sample: dict, name: str, who: str) -> Any:
    if sample.get(name) is None:
        raise MgxError(f"{who}: the sample has no {name!r} (fields: {sorted(sample)}); it reads the samples of "
                       "BasicFramesDataset (set num_input_frames / fixed_seq_len there)")
    return sample[name]


def _clip_and_frame(sample: dict, who: str) -> tuple[str, str]:
    parts = str(_field(sample, "key", who)).replace("\\", "/").split("/")
    if len(parts) != 2:
        raise MgxError(f"{who}: key {sample['key']!r} is not 'clip/frame' (e.g. 000/00000000): give the dataset "
                       "depth=2, or an ann_file listing frames")
    return parts[0], parts[1]


class GenerateSegmentIndices:
    """``num_input_frames`` consecutive frames (every ``interval``-th, drawn from ``interval_list``) from a
    random start within the clip's ``sequence_length``; frame ``v`` is ``filename_tmpl.format(v + start_idx)``
    in ``{img,gt}_path/key/``. Records ``interval``."""

    def __init__(self, interval_list: Any, start_idx: int = 0, filename_tmpl: str = "{:08d}.png") -> None:
        self.interval_list = _intervals(interval_list, "GenerateSegmentIndices")
        if isinstance(start_idx, bool) or not isinstance(start_idx, int) or start_idx < 0:
            raise ConfigError(f"GenerateSegmentIndices: start_idx must be a non-negative int, got {start_idx!r}")
        self.start_idx, self.filename_tmpl = start_idx, filename_tmpl

    def __call__(self, sample: dict) -> dict:
        who = "GenerateSegmentIndices"
        clip = str(_field(sample, "key", who))
        length = int(_field(sample, "sequence_length", who))
        rng = sample_rng(sample, self)
        interval = int(self.interval_list[int(rng.integers(len(self.interval_list)))])
        count = sample.get("num_input_frames") or length
        if length - count * interval < 0:
            raise MgxError(f"{who}: clip {clip!r} has {length} frames, too few for num_input_frames={count} at "
                           f"interval {interval}; lower num_input_frames or interval_list")
        start = int(rng.integers(0, length - count * interval + 1))
        start += int(sample.get("frame_offset", 0))  # a chunk of a long clip (BasicFramesDataset's max_seq_len)
        indices = [v + self.start_idx for v in range(start, start + count * interval, interval)]
        for key in ("img", "gt"):
            root = _field(sample, f"{key}_path", who)
            sample[f"{key}_path"] = [os.path.join(root, clip, self.filename_tmpl.format(v)) for v in indices]
        sample["interval"] = interval
        return sample


class GenerateFrameIndices:
    """REDS-style training windows: ``num_input_frames`` LR frames around the centre frame named by ``key``
    (``clip/frame``), every ``interval``-th; a window that leaves ``[0, frames_per_clip]`` is moved to a random
    centre. The ground truth is the centre frame alone. Records ``interval``."""

    def __init__(self, interval_list: Any, frames_per_clip: int = 99) -> None:
        self.interval_list = _intervals(interval_list, "GenerateFrameIndices")
        if isinstance(frames_per_clip, bool) or not isinstance(frames_per_clip, int) or frames_per_clip < 0:
            raise ConfigError(f"GenerateFrameIndices: frames_per_clip must be a non-negative int, "
                              f"got {frames_per_clip!r}")
        self.frames_per_clip = frames_per_clip

    def __call__(self, sample: dict) -> dict:
        who = "GenerateFrameIndices"
        clip, frame = _clip_and_frame(sample, who)
        centre, half = int(frame), int(_field(sample, "num_input_frames", who)) // 2
        length = sample.get("sequence_length") or self.frames_per_clip + 1
        last = min(self.frames_per_clip, length - 1)
        rng = sample_rng(sample, self)
        interval = int(self.interval_list[int(rng.integers(len(self.interval_list)))])
        if 2 * half * interval > last:
            raise MgxError(f"{who}: clip {clip!r} has {last + 1} frames, too few for num_input_frames="
                           f"{2 * half + 1} at interval {interval}")
        while centre - half * interval < 0 or centre + half * interval > last:
            centre = int(rng.integers(0, last + 1))
        neighbours = range(centre - half * interval, centre + half * interval + 1, interval)
        sample["img_path"] = [os.path.join(_field(sample, "img_path", who), clip, f"{v:08d}.png") for v in neighbours]
        sample["gt_path"] = [os.path.join(_field(sample, "gt_path", who), clip, f"{centre:08d}.png")]
        sample["interval"] = interval
        return sample


def padded_index(index: int, current: int, last: int, count: int, padding: str) -> int:
    """The frame read for window position ``index`` around ``current`` in frames ``[0, last]`` (MMagic's rules:
    current 0, 5 frames -> replicate [0,0,0,1,2], reflection [2,1,0,1,2], reflection_circle [4,3,0,1,2],
    circle [3,4,0,1,2])."""
    half = count // 2
    if 0 <= index <= last:
        return index
    if index < 0:
        return {"replicate": 0, "reflection": -index, "reflection_circle": current + half - index,
                "circle": count + index}[padding]
    return {"replicate": last, "reflection": 2 * last - index,
            "reflection_circle": current - half - (index - last), "circle": index - count}[padding]


class GenerateFrameIndiceswithPadding:
    """Test-time windows of ``num_input_frames`` around the frame named by ``key`` (``clip/frame``), frames
    beyond the clip replaced as ``padding`` says (see ``padded_index``); the ground truth is that frame."""

    def __init__(self, padding: str, filename_tmpl: str = "{:08d}") -> None:
        if padding not in PADDINGS:
            raise ConfigError(f"GenerateFrameIndiceswithPadding: padding must be one of {PADDINGS}, got {padding!r}")
        self.padding, self.filename_tmpl = padding, filename_tmpl

    def __call__(self, sample: dict) -> dict:
        who = "GenerateFrameIndiceswithPadding"
        clip, frame = _clip_and_frame(sample, who)
        current, last = int(frame), int(_field(sample, "sequence_length", who)) - 1
        count = int(_field(sample, "num_input_frames", who))
        indices = [padded_index(i, current, last, count, self.padding)
                   for i in range(current - count // 2, current + count // 2 + 1)]
        img_root, gt_root = _field(sample, "img_path", who), _field(sample, "gt_path", who)
        sample["img_path"] = [os.path.join(img_root, clip, f"{self.filename_tmpl.format(i)}.png") for i in indices]
        sample["gt_path"] = [os.path.join(gt_root, clip, f"{frame}.png")]
        return sample


def _frame_list(sample: dict, key: str, who: str) -> list:
    value = sample.get(key)
    if not isinstance(value, list):
        raise MgxError(f"{who}: field {key!r} must be a list of frames (got {type(value).__name__}); put it after "
                       "LoadImageFromFile of a frame list")
    return value


class MirrorSequence:
    """Extend each of ``keys`` (lists of frames) with its reverse: [f0..fn] -> [f0..fn, fn..f0]."""

    def __init__(self, keys: Any) -> None:
        self.keys = keys_arg(keys, "MirrorSequence", allow_none=False)

    def __call__(self, sample: dict) -> dict:
        for key in self.keys:
            frames = _frame_list(sample, key, "MirrorSequence")
            sample[key] = frames + frames[::-1]
        return sample


class TemporalReverse:
    """Reverse the frame order of ``keys`` with probability ``reverse_ratio`` (one decision); records ``reverse``."""

    def __init__(self, keys: Any, reverse_ratio: float = 0.5) -> None:
        self.keys = keys_arg(keys, "TemporalReverse", allow_none=False)
        self.reverse_ratio = probability_arg(reverse_ratio, "reverse_ratio", "TemporalReverse")

    def __call__(self, sample: dict) -> dict:
        reverse = bool(sample_rng(sample, self).random() < self.reverse_ratio)
        if reverse:
            for key in self.keys:
                sample[key] = _frame_list(sample, key, "TemporalReverse")[::-1]
        sample["reverse"] = reverse
        return sample
