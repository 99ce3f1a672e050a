"""BasicFramesDataset on MMagic's folder layouts (written by benchmarks/zoo_data/frames.py) and the frame
transforms: the paths and lengths MMagic's dataset and index generators give."""
from pathlib import Path

import numpy as np
import pytest
import torch

from mgx.benchmarks.zoo_data.frames import write_video_layouts
from mgx.core.errors import ConfigError
from mgx.plugins.data.formatting import PackInputs
from mgx.plugins.data.frame_transforms import (GenerateFrameIndices, GenerateFrameIndiceswithPadding,
                                               GenerateSegmentIndices, MirrorSequence, TemporalReverse)
from mgx.plugins.data.frames import BasicFramesDataset



@pytest.fixture(scope="module")
def data(tmp_path_factory):
    root = tmp_path_factory.mktemp("clips")
    write_video_layouts(root, frames=4, size=16)
    return root / "data"


def test_reds_ann_file_names_clips_and_segments_load_as_frame_lists(data):
    dataset = BasicFramesDataset(ann_file="meta_info_reds4_train.txt", data_root=str(data / "REDS"),
                                 data_prefix=dict(img="train_sharp_bicubic/X4", gt="train_sharp"), depth=1,
                                 num_input_frames=3, pipeline=[
                                     dict(type="GenerateSegmentIndices", interval_list=[1]),
                                     dict(type="LoadImageFromFile", key="img", channel_order="rgb"),
                                     dict(type="LoadImageFromFile", key="gt", channel_order="rgb"),
                                     dict(type="PackInputs")])
    assert [s["key"] for s in dataset.samples] == ["000", "011"]
    assert dataset.samples[0]["sequence_length"] == 4  # counted in the clip's folder
    raw = dataset.raw_sample(0)
    assert raw["img_path"] == str(data / "REDS/train_sharp_bicubic/X4")
    sample = dataset[1]
    assert sample["inputs"].shape == (3, 3, 4, 4) and sample["gt_img"].shape == (3, 3, 16, 16)
    names = [Path(p).name for p in sample["gt_path"]]
    start = int(names[0][:8])
    assert names == [f"{i:08d}.png" for i in range(start, start + 3)] and all("/011/" in p for p in sample["gt_path"])


def test_vimeo_frames_list_and_one_gt_frame_packs_as_an_image(data):
    names = [f"im{i}.png" for i in range(1, 8)]
    dataset = BasicFramesDataset(ann_file="meta_info_Vimeo90K_test_GT.txt", data_root=str(data / "vimeo90k"),
                                 data_prefix=dict(img="BDx4", gt="GT"), depth=2, num_input_frames=7,
                                 fixed_seq_len=7, load_frames_list=dict(img=names, gt=["im4.png"]), pipeline=[
                                     dict(type="LoadImageFromFile", key="img", channel_order="rgb"),
                                     dict(type="LoadImageFromFile", key="gt", channel_order="rgb"),
                                     dict(type="MirrorSequence", keys=["img"]), dict(type="PackInputs")])
    assert [s["key"] for s in dataset.samples] == ["00001/0001", "00002/0003"]
    sample = dataset[0]
    assert sample["inputs"].shape == (14, 3, 4, 4) and sample["gt_img"].shape == (3, 16, 16)
    assert torch.equal(sample["inputs"][:7], sample["inputs"].flip(0)[:7])


def test_folder_listing_without_ann_file_and_vid4_counts(data):
    udm = BasicFramesDataset(data_root=str(data / "UDM10"), data_prefix=dict(img="BDx4", gt="GT"))
    assert [s["key"] for s in udm.samples] == ["archpeople", "auditorium"]
    assert udm.samples[0]["sequence_length"] == 4
    vid4 = BasicFramesDataset(ann_file="meta_info_Vid4_GT.txt", data_root=str(data / "Vid4"),
                              data_prefix=dict(img="BIx4", gt="GT"))
    assert [(s["key"], s["sequence_length"]) for s in vid4.samples] == [("calendar", 4), ("city", 4)]
    with pytest.raises(ConfigError, match="does not exist"):
        BasicFramesDataset(data_root=str(data / "missing"), data_prefix=dict(img="BDx4", gt="GT"))


def test_padding_modes_are_mmagics_examples():
    sample = dict(key="000/00000000", num_input_frames=5, sequence_length=10, img_path="lq", gt_path="gt")
    expected = {"replicate": [0, 0, 0, 1, 2], "reflection": [2, 1, 0, 1, 2], "reflection_circle": [4, 3, 0, 1, 2],
                "circle": [3, 4, 0, 1, 2]}
    for padding, indices in expected.items():
        out = GenerateFrameIndiceswithPadding(padding)(dict(sample))
        assert [int(Path(p).stem) for p in out["img_path"]] == indices
        assert out["gt_path"] == [str(Path("gt/000/00000000.png"))]


def test_frame_indices_stay_inside_the_clip():
    transform = GenerateFrameIndices(interval_list=[1, 2], frames_per_clip=9)
    for index in range(20):
        out = transform(dict(key="000/00000009", num_input_frames=5, sequence_length=10, img_path="lq",
                             gt_path="gt", sample_idx=index, seed=3))
        frames = [int(Path(p).stem) for p in out["img_path"]]
        assert 0 <= min(frames) and max(frames) <= 9 and len(frames) == 5
        assert frames[2] == int(Path(out["gt_path"][0]).stem) and np.all(np.diff(frames) == out["interval"])
    with pytest.raises(Exception, match="too few"):
        GenerateSegmentIndices([1])(dict(key="c", num_input_frames=5, sequence_length=3, img_path="a", gt_path="b"))


def test_temporal_reverse_and_mirror():
    frames = [np.full((2, 2, 3), i, np.uint8) for i in range(3)]
    out = TemporalReverse(["img"], reverse_ratio=1.0)(dict(img=list(frames)))
    assert out["reverse"] and [int(f[0, 0, 0]) for f in out["img"]] == [2, 1, 0]
    mirrored = MirrorSequence(["img"])(dict(img=list(frames)))["img"]
    assert [int(f[0, 0, 0]) for f in mirrored] == [0, 1, 2, 2, 1, 0]
    with pytest.raises(Exception, match="list of frames"):
        MirrorSequence(["img"])(dict(img=frames[0]))
    packed = PackInputs()(dict(img=list(frames)))
    assert packed["inputs"].shape == (3, 3, 2, 2)
